"""The rule service: match a profile, read the catalogue (`api.routes.rules.handlers`)."""

from __future__ import annotations

from typing import Any

from api.routes.rules.handlers import catalogue, facts, match_route, policies, policy

__all__ = ["ROUTES"]

ROUTES: list[Any] = [match_route, policies, policy, facts, catalogue]
