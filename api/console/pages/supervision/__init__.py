"""The console pages of the supervisor (督查): coverage, 应享未享, overdue steps, outcomes.

Each page reads what the API's supervision routes read (`api.routes.supervision`), over the
viewer's county, and downloads its table as xlsx (`api.console.export`). docs/console.md,
"督查 Supervisor", says what each page shows and why.
"""

from __future__ import annotations

from typing import Any

from api.console.pages.supervision import coverage, outcomes, overdue, unclaimed

__all__ = ["ROUTES"]

ROUTES: list[Any] = [*coverage.ROUTES, *unclaimed.ROUTES, *overdue.ROUTES, *outcomes.ROUTES]
