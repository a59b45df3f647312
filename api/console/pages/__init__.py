"""Every role's pages: each package's `ROUTES`, mounted by `api.console.console`."""

from __future__ import annotations

from typing import Any

from api.console.pages import enterprise, review, supervision, village, writer

__all__ = ["ROUTES"]

ROUTES: list[Any] = [
    *village.ROUTES,
    *review.ROUTES,
    *enterprise.ROUTES,
    *writer.ROUTES,
    *supervision.ROUTES,
]
