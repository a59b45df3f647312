"""Routes: claims (申领) — the caller's queue, one claim, its steps, a department's batch.

| method | path | who |
|---|---|---|
| GET | /api/claims | the roles that read claims (403 for others): the caller's queue |
| GET | /api/claims/{claim_id} | a claim in the caller's scope (else 404) |
| POST | /api/claims/{claim_id}/confirm, /advance, /return, /reject | as the workflow allows |
| POST | /api/claims/batch | as the workflow allows, per claim |
| GET | /api/claims/export | department (its own), county (any department of the county) |
| POST | /api/claims/payments | department |

Modules: `reads`, `steps`, `files` (the routes), `schemas` (shapes), `common`; the
`Idempotency-Key` helper they use is `api.idempotency`. See docs/api.md, 「申领」 and 「幂等键」.
"""

from __future__ import annotations

from typing import Any

from api.routes.claims.files import export_route, payments_route
from api.routes.claims.reads import list_route, show_route
from api.routes.claims.steps import (
    advance_route,
    batch_route,
    confirm_route,
    reject_route,
    return_route,
)

__all__ = ["ROUTES"]

ROUTES: list[Any] = [
    list_route,
    export_route,
    show_route,
    confirm_route,
    advance_route,
    return_route,
    reject_route,
    batch_route,
    payments_route,
]
