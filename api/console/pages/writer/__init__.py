"""The console pages of the policy writer (role `policy_writer`, 政策编写): the catalogue being
served (`catalogue`), and a draft from upload to publish (`draft`). See docs/console.md."""

from __future__ import annotations

from typing import Any

from api.console.pages.writer.catalogue import catalogue_page, policy_page
from api.console.pages.writer.draft import check_draft, draft_page, impact_preview, publish

__all__ = ["ROUTES"]

ROUTES: list[Any] = [catalogue_page, policy_page, draft_page, check_draft, impact_preview, publish]
