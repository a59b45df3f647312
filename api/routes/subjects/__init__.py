"""Routes: households and enterprises (read, upsert, PATCH facts, entitlements and history).

Thin handlers over `store.subjects`; see docs/api.md "户与企业".
"""

from __future__ import annotations

from typing import Any

from api.routes.subjects import enterprises, households

__all__ = ["ROUTES"]

ROUTES: list[Any] = [*households.ROUTES, *enterprises.ROUTES]
