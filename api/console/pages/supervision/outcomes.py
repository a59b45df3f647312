"""办理成效: the outcomes report (`store.claims.report.outcomes`, as `zhida report outcomes` and
the API's `GET /api/supervision/outcomes`).

`GET /console/supervision/outcomes` shows, per 一件事 and per policy with claims under the
region: the claims by kind and state, the actions asked of the person (per claim and per
delivered benefit), materials asked of the person against those required, visits without
zhida → with it, days from eligibility to payment and overdue steps; two charts (visits,
materials) carry the same numbers as the table. The report's 应享未享 count (no live claim for
`days` days) links to the 应享未享 page filtered to 无申领.
`GET /console/supervision/outcomes.xlsx` downloads the table.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from litestar import Response, get
from litestar.params import FromQuery
from litestar.response import Template

from api.console.export import Sheet, xlsx_download
from api.console.pages.supervision.common import GUARD, Filters, answer, blank, read_filters
from api.console.web import HtmlRequest, ViewerDep, problem_view
from api.context import Ctx
from api.deps import CtxDep
from api.problems import ProblemError
from api.routes.claims.common import workflow
from store.claims.export import KIND_LABELS
from store.claims.report import OutcomesReport, outcomes
from store.db import read_session

__all__ = ["HEADERS", "ROUTES", "group_rows"]

HEADERS = ["类别", "编号", "名称", "申领件数", "申领（类型、状态）", "需本人办理（次）",
           "每件申领需本人办理", "已享受待遇（项）", "每项待遇需本人办理", "材料总数",
           "需本人提供材料", "计入跑动的申领", "原需跑动（次）", "现需跑动（次）", "已发放",
           "领取用时中位（天）", "领取用时最长（天）", "超期环节"]  # fmt: skip
VISITS = (("visits_without", "原需跑动"), ("visits_with", "现需跑动"))
MATERIALS = (("materials_required", "材料总数"), ("materials_asked", "需本人提供"))
_SHORT = 12


def _report(ctx: Ctx, f: Filters) -> OutcomesReport | None:
    if f.prefix is None:
        return None
    with read_session(ctx.engine) as session:
        return outcomes(session, region=f.prefix, today=f.on, root=ctx.root, days=f.days,
                        catalogue=ctx.catalogue)  # fmt: skip


def group_rows(ctx: Ctx, report: OutcomesReport | None) -> list[dict[str, Any]]:
    """The report's groups (bundles first) as the page and the export show them."""
    label = workflow(ctx).state_label
    rows = []
    for g in (g.as_json() for g in report.groups) if report else ():
        claims = "；".join(
            f"{KIND_LABELS.get(kind, kind)} " + "、".join(f"{label(s)} {n}" for s, n in c.items())
            for kind, c in g["claims"].items()
        )
        title = g["title"]
        short = title if len(title) <= _SHORT else title[: _SHORT - 1] + "…"
        rows.append(g | {"kind_label": "一件事" if g["kind"] == "bundle" else "政策",
                         "claims_text": claims, "short": short})  # fmt: skip
    return rows


def _ratio(text: str | None) -> Decimal | None:
    return Decimal(text) if text else None


def _cells(r: dict[str, Any]) -> list[Any]:
    return [r["kind_label"], r["id"], r["title"], r["total"], r["claims_text"], r["actions"],
            _ratio(r["actions_per_claim"]), r["delivered"], _ratio(r["actions_per_delivered"]),
            r["materials_required"], r["materials_asked"], r["taken_up"], r["visits_without"],
            r["visits_with"], r["paid"], r["days_to_pay_median"], r["days_to_pay_max"],
            r["overdue"]]  # fmt: skip


def _read(viewer_region: str, typed: dict[str, str]) -> Filters:
    return read_filters(viewer_region, typed)


@get("/console/supervision/outcomes", guards=GUARD, sync_to_thread=True)
def outcomes_page(
    ctx: CtxDep,
    viewer: ViewerDep,
    request: HtmlRequest,
    on: FromQuery[str] = "",
    region: FromQuery[str] = "",
    days: FromQuery[str] = "",
) -> Template:
    """办理成效：各一件事、各政策的申领、材料、跑动、用时与超期。"""
    typed = {"on": on, "region": region, "days": days}
    common: dict[str, Any] = {"visits": VISITS, "materials": MATERIALS}
    try:
        f = _read(viewer.region, typed)
    except ProblemError as exc:
        return answer(request, "outcomes", status=exc.status, problem=problem_view(exc),
                      f=blank(viewer.region, typed), rows=[], unclaimed=0, **common)  # fmt: skip
    report = _report(ctx, f)
    return answer(request, "outcomes", f=f, rows=group_rows(ctx, report), problem=None,
                  unclaimed=len(report.unclaimed) if report else 0, **common)  # fmt: skip


@get("/console/supervision/outcomes.xlsx", guards=GUARD, sync_to_thread=True)
def outcomes_export(
    ctx: CtxDep,
    viewer: ViewerDep,
    on: FromQuery[str] = "",
    region: FromQuery[str] = "",
    days: FromQuery[str] = "",
) -> Response[bytes]:
    """The report's table as a workbook."""
    f = _read(viewer.region, {"on": on, "region": region, "days": days})
    rows = group_rows(ctx, _report(ctx, f))
    where = f.prefix or f.region or viewer.region
    return xlsx_download(f"办理成效-{where}-{f.on.isoformat()}.xlsx",
                         [Sheet("办理成效", HEADERS, [_cells(r) for r in rows])])  # fmt: skip


ROUTES: list[Any] = [outcomes_page, outcomes_export]
