"""Routes: households and enterprises (read, upsert, PATCH facts, entitlements and history).

Thin handlers over `store.subjects`; see docs/api.md "户与企业".

The handlers are registered as ONE router: Litestar 2.25 calls `on_registration` again on every
handler of a path each time another handler of that path is registered, and a
`sync_to_thread` handler registered twice is wrapped twice (its response is a coroutine: a
500). GET, PUT and PATCH share `/api/households/{household_no}`.
"""

from __future__ import annotations

from typing import Any

from litestar import Router

from api.routes.subjects import enterprises, households

__all__ = ["ROUTES"]

ROUTES: list[Any] = [Router(path="/", route_handlers=[*households.ROUTES, *enterprises.ROUTES])]
