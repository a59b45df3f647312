"""The console pages of the enterprise role (see api.console): its notices (`notices`) and
where they are pushed (`settings`); what the pages show is shaped in `views`."""

from __future__ import annotations

from typing import Any

from api.console.pages.enterprise import notices, settings

__all__ = ["ROUTES"]

ROUTES: list[Any] = [*notices.ROUTES, *settings.ROUTES]
