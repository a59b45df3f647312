"""The policy writer's endpoints: lint, test, impact, publish (`api.routes.writer.handlers`)."""

from __future__ import annotations

from typing import Any

from api.routes.writer.handlers import impact, lint, publish, test_cases

__all__ = ["ROUTES"]

ROUTES: list[Any] = [lint, test_cases, impact, publish]
