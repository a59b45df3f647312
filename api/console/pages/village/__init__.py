"""The console pages of the village operator (村便民服务中心; see api.console).

- `households`: 本村户 — the roster, a household's page, the 一次性告知单;
- `upload`: 上传户表 — a household sheet as an import job, its progress and refused rows;
- `claims`: 代办申领 — confirm on the households' behalf and send to the township, in batch.

Every page answers a village login only, and reads and acts within its village (the viewer's
scope, as the API's token would give it). Written up in docs/console.md (村便民服务中心).
"""

from __future__ import annotations

from typing import Any

from api.console.pages.village import claims, households, upload

__all__ = ["ROUTES"]

ROUTES: list[Any] = [*households.ROUTES, *upload.ROUTES, *claims.ROUTES]
