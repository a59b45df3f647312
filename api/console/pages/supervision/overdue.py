"""超时事项: open claim steps past their deadline (`store.supervision.overdue`, as the API's route).

`GET /console/supervision/overdue` lists them, the longest overdue first, 50 a page: the
claim, its step (the state it waits in), the office holding it, the due day and the working
days overdue by the county's calendar (blank when the calendar does not cover the span — the
page says so). Every row is overdue, so every row is red (`tr.overdue`).
`GET /console/supervision/overdue.xlsx` downloads every row the filters select.
"""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.params import FromQuery
from litestar.response import Template

from api.console.export import Sheet, xlsx_download
from api.console.pages.supervision.common import (
    EXPORT_MAX,
    GUARD,
    PAGE_SIZE,
    Filters,
    answer,
    blank,
    read_filters,
)
from api.console.web import HtmlRequest, ViewerDep, problem_view
from api.context import Ctx
from api.deps import CtxDep
from api.problems import ProblemError
from api.routes.claims.common import workflow
from store.db import read_session
from store.supervision import OverdueStep, overdue, overdue_count

__all__ = ["HEADERS", "ROUTES"]

HEADERS = ["申领编号", "分项编号", "申领", "待办环节", "地区代码", "部门", "责任单位", "应办结日期",
           "超期工作日"]  # fmt: skip
_NO_CALENDAR = "日历未覆盖"


def step_rows(ctx: Ctx, steps: list[OverdueStep]) -> list[dict[str, Any]]:
    """The overdue steps as the page and the export show them."""
    label = workflow(ctx).state_label
    return [
        {"claim_id": s.claim_id, "part_id": s.part_id, "title": s.title,
         "state": label(s.state), "region": s.region, "department": s.department or "",
         "offices": "、".join(s.offices), "due_on": s.due_on, "days": s.days_overdue}
        for s in steps
    ]  # fmt: skip


def _read(viewer_region: str, typed: dict[str, str]) -> Filters:
    return read_filters(viewer_region, typed)


def _steps(ctx: Ctx, f: Filters, limit: int) -> tuple[list[dict[str, Any]], int]:
    if f.prefix is None:
        return [], 0
    with read_session(ctx.engine) as session:
        found = overdue(session, prefix=f.prefix, on=f.on, root=ctx.root, limit=limit,
                        offset=f.offset)  # fmt: skip
        total = overdue_count(session, prefix=f.prefix, on=f.on)
    return step_rows(ctx, found), total


@get("/console/supervision/overdue", guards=GUARD, sync_to_thread=True)
def overdue_page(
    ctx: CtxDep,
    viewer: ViewerDep,
    request: HtmlRequest,
    on: FromQuery[str] = "",
    region: FromQuery[str] = "",
    offset: FromQuery[str] = "",
) -> Template:
    """超时事项：超过承诺时限仍未办理的申领环节，谁在办、超期几个工作日。"""
    typed = {"on": on, "region": region, "offset": offset}
    try:
        f = _read(viewer.region, typed)
    except ProblemError as exc:
        return answer(request, "overdue", status=exc.status, problem=problem_view(exc),
                      f=blank(viewer.region, typed), rows=[], total=0, limit=PAGE_SIZE)  # fmt: skip
    rows, total = _steps(ctx, f, PAGE_SIZE)
    return answer(request, "overdue", f=f, rows=rows, total=total, limit=PAGE_SIZE,
                  problem=None, no_calendar=_NO_CALENDAR)  # fmt: skip


@get("/console/supervision/overdue.xlsx", guards=GUARD, sync_to_thread=True)
def overdue_export(
    ctx: CtxDep, viewer: ViewerDep, on: FromQuery[str] = "", region: FromQuery[str] = ""
) -> Response[bytes]:
    """Every overdue step the filters select (up to EXPORT_MAX)."""
    f = _read(viewer.region, {"on": on, "region": region})
    rows, _ = _steps(ctx, f, EXPORT_MAX)
    cells = [[r["claim_id"], r["part_id"], r["title"], r["state"], r["region"], r["department"],
              r["offices"], r["due_on"], r["days"] if r["days"] is not None else _NO_CALENDAR]
             for r in rows]  # fmt: skip
    where = f.prefix or f.region or viewer.region
    return xlsx_download(f"超时事项-{where}-{f.on.isoformat()}.xlsx",
                         [Sheet("超时事项", HEADERS, cells)])  # fmt: skip


ROUTES: list[Any] = [overdue_page, overdue_export]
