"""应享未享: every eligible benefit that has not reached its subject, and where it stopped.

`GET /console/supervision/unclaimed` lists `store.supervision_gaps.gaps` — subjects eligible
on the day for at least `days` days (default 30, as the API's list) whose benefit is neither
granted nor paid — with the notice's stage and the claim's stage (no claim, waiting for
confirmation, under review), filterable by region, policy and either stage, 50 a page.
Households and enterprises are shown masked. The rows whose claim stage is 无申领 are the
API's `GET /api/supervision/unclaimed` list. `GET /console/supervision/unclaimed.xlsx`
downloads every row the filters select.
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
from api.console.pages.supervision.coverage import policy_choices
from api.console.web import HtmlRequest, ViewerDep, problem_view
from api.context import Ctx
from api.deps import CtxDep
from api.problems import ProblemError
from api.routes.claims.common import workflow
from matcher.explain.report import delivery_label
from store.db import read_session
from store.supervision_gaps import CLAIM_STAGES, NOTICE_STAGES, Gap, GapFilter, gap_count, gaps

__all__ = ["CLAIM_LABELS", "NOTICE_LABELS", "ROUTES"]

NOTICE_LABELS = {"none": "未通知", "pending": "通知待送达", "failed": "通知送达失败",
                 "sent": "已送达"}  # fmt: skip
CLAIM_LABELS = {"none": "无申领", "prepared": "待确认", "in_progress": "办理中"}
KIND_LABELS = {"household": "户", "enterprise": "企业"}
HEADERS = ["对象", "户编号/信用代码（脱敏）", "地区代码", "政策编号", "政策名称", "部门",
           "办理方式", "符合起始日", "已符合天数", "通知", "申领", "申领状态"]  # fmt: skip


def _considered(ctx: Ctx) -> list[str]:
    """The policies a claim delivers (`auto`, `confirm`), as the outcomes report counts."""
    policies = ctx.catalogue.policies.items()
    return sorted(p for p, x in policies if x.spec.delivery in ("auto", "confirm"))


def _filter(ctx: Ctx, f: Filters) -> GapFilter | None:
    if f.prefix is None:
        return None
    return GapFilter(prefix=f.prefix, on=f.on, policies=_considered(ctx), days=f.days,
                     policy=f.policy, notice=f.notice, claim=f.claim)  # fmt: skip


def gap_rows(ctx: Ctx, found: list[Gap]) -> list[dict[str, Any]]:
    """The gaps as the page and the export show them (labels, titles, departments)."""
    label, policies = workflow(ctx).state_label, ctx.catalogue.policies
    rows = []
    for g in found:
        spec = policies[g.policy_id].spec if g.policy_id in policies else None
        rows.append({
            "kind": KIND_LABELS.get(g.subject_kind, g.subject_kind), "key": g.subject_key,
            "region": g.region, "policy_id": g.policy_id,
            "title": spec.title if spec else g.policy_id,
            "department": spec.department if spec else "",
            "delivery": delivery_label(spec.delivery) if spec else "",
            "since": g.eligible_since, "days": g.days, "notice": g.notice,
            "notice_label": NOTICE_LABELS.get(g.notice, g.notice), "claim": g.claim,
            "claim_label": CLAIM_LABELS.get(g.claim, g.claim),
            "state_label": label(g.state) if g.state else "",
        })  # fmt: skip
    return rows


def _read(ctx: Ctx, viewer_region: str, typed: dict[str, str]) -> Filters:
    return read_filters(viewer_region, typed, policies=ctx.catalogue.policies,
                        stages=(NOTICE_STAGES, CLAIM_STAGES))  # fmt: skip


@get("/console/supervision/unclaimed", guards=GUARD, sync_to_thread=True)
def unclaimed_page(
    ctx: CtxDep,
    viewer: ViewerDep,
    request: HtmlRequest,
    on: FromQuery[str] = "",
    region: FromQuery[str] = "",
    policy: FromQuery[str] = "",
    days: FromQuery[str] = "",
    notice: FromQuery[str] = "",
    claim: FromQuery[str] = "",
    offset: FromQuery[str] = "",
) -> Template:
    """应享未享：符合条件满 N 天仍未享受到的待遇，及卡在通知还是申领。"""
    typed = {"on": on, "region": region, "policy": policy, "days": days, "notice": notice,
             "claim": claim, "offset": offset}  # fmt: skip
    common: dict[str, Any] = {"policies": policy_choices(ctx), "notices": NOTICE_LABELS,
                              "claims": CLAIM_LABELS, "limit": PAGE_SIZE}  # fmt: skip
    try:
        f = _read(ctx, viewer.region, typed)
    except ProblemError as exc:
        return answer(request, "unclaimed", status=exc.status, problem=problem_view(exc),
                      f=blank(viewer.region, typed), rows=[], total=0, **common)  # fmt: skip
    wanted, rows, total = _filter(ctx, f), [], 0
    if wanted is not None:
        with read_session(ctx.engine) as session:
            total = gap_count(session, wanted)
            rows = gap_rows(ctx, gaps(session, wanted, limit=PAGE_SIZE, offset=f.offset))
    return answer(request, "unclaimed", f=f, rows=rows, total=total, problem=None, **common)


@get("/console/supervision/unclaimed.xlsx", guards=GUARD, sync_to_thread=True)
def unclaimed_export(
    ctx: CtxDep,
    viewer: ViewerDep,
    on: FromQuery[str] = "",
    region: FromQuery[str] = "",
    policy: FromQuery[str] = "",
    days: FromQuery[str] = "",
    notice: FromQuery[str] = "",
    claim: FromQuery[str] = "",
) -> Response[bytes]:
    """Every row the filters select (up to EXPORT_MAX), as the page shows them."""
    f = _read(ctx, viewer.region, {"on": on, "region": region, "policy": policy, "days": days,
                                   "notice": notice, "claim": claim})  # fmt: skip
    wanted, rows = _filter(ctx, f), []
    if wanted is not None:
        with read_session(ctx.engine) as session:
            rows = gap_rows(ctx, gaps(session, wanted, limit=EXPORT_MAX))
    cells = [[r["kind"], r["key"], r["region"], r["policy_id"], r["title"], r["department"],
              r["delivery"], r["since"], r["days"], r["notice_label"], r["claim_label"],
              r["state_label"]] for r in rows]  # fmt: skip
    where = f.prefix or f.region or viewer.region
    return xlsx_download(f"应享未享-{where}-{f.on.isoformat()}.xlsx",
                         [Sheet("应享未享", HEADERS, cells)])  # fmt: skip


ROUTES: list[Any] = [unclaimed_page, unclaimed_export]
