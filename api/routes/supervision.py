"""Routes: supervision (督查) — coverage, the 应享未享 list, overdue steps, the outcomes report.

Only a supervisor or a county user (`needs`, 403 for others), and only over the caller's
county: `region` narrows it to a township or village inside it; a region outside it sees
nothing (empty answers, never another county's rows). Computed by `store.supervision` and
`store.claims.report` (the `zhida report outcomes` report). Households are shown by a masked
户编号 (its village and the last two digits).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import get
from litestar.params import Parameter

from api.auth import Caller, needs
from api.context import Ctx
from api.deps import CallerDep, CtxDep
from api.params import Limit, Offset, On, Page, Region, day_or_today, page_of
from api.problems import PROBLEMS
from store.claims.report import OutcomesReport, outcomes
from store.db import read_session
from store.supervision import (
    coverage,
    group_length,
    narrowed,
    overdue,
    overdue_count,
    unclaimed_rows,
)

__all__ = ["ROUTES"]

_TAGS = ["督查"]
_GUARD = [needs("supervisor", "county")]
Days = Annotated[int, Parameter(ge=0, le=3653, description="符合条件满多少天仍未申领")]


class CoverageItem(msgspec.Struct):
    """One policy in one region group: the funnel eligible → notified → claimed → paid."""

    policy_id: str
    title: str
    region: str
    eligible: int
    notified: int
    delivered: int
    claimed: int
    paid: int


class CoverageOut(msgspec.Struct):
    """Coverage under one region prefix on one day, per policy and township (or village)."""

    on: date
    region: str | None
    by: str  # township | village
    items: list[CoverageItem]


def _coverage(ctx: Ctx, caller: Caller, on: date | None, region: str | None) -> CoverageOut:
    day, prefix = day_or_today(on), narrowed(caller.region, region)
    if prefix is None:
        return CoverageOut(day, region, "township", [])
    with read_session(ctx.engine) as session:
        rows = coverage(session, prefix=prefix, on=day)
    titles = {pid: p.spec.title for pid, p in ctx.catalogue.policies.items()}
    by = "township" if group_length(prefix) == 9 else "village"
    items = [CoverageItem(r.policy_id, titles.get(r.policy_id, r.policy_id), r.region, r.eligible,
                          r.notified, r.delivered, r.claimed, r.paid) for r in rows]  # fmt: skip
    return CoverageOut(day, prefix, by, items)


@get("/api/supervision/coverage", tags=_TAGS, guards=_GUARD, sync_to_thread=True,
     summary="覆盖情况：各政策、各乡镇（或村）符合 / 已通知 / 已申领 / 已发放",
     responses=PROBLEMS)  # fmt: skip
def coverage_route(
    ctx: CtxDep, caller: CallerDep, on: On = None, region: Region = None
) -> CoverageOut:
    """6 位前缀按乡镇分组，9 或 12 位按村分组；只算 on 当天符合条件的对象。"""
    return _coverage(ctx, caller, on, region)


def _report(ctx: Ctx, caller: Caller, on: date | None, region: str | None,
            days: int) -> OutcomesReport | None:  # fmt: skip
    prefix = narrowed(caller.region, region)
    if prefix is None:
        return None
    with read_session(ctx.engine) as session:
        return outcomes(session, region=prefix, today=day_or_today(on), root=ctx.root, days=days,
                        catalogue=ctx.catalogue)  # fmt: skip


class UnclaimedItem(msgspec.Struct):
    """应享未享: eligible for `days` days, held by no live claim."""

    subject_kind: str
    subject_key: str  # a household's masked; an enterprise's credit code
    region: str
    policy_id: str
    title: str
    department: str
    delivery: str
    eligible_since: date
    days: int


@get("/api/supervision/unclaimed", tags=_TAGS, guards=_GUARD, sync_to_thread=True,
     summary="应享未享清单：符合条件满 days 天仍无申领", responses=PROBLEMS)  # fmt: skip
def unclaimed_route(ctx: CtxDep, caller: CallerDep, on: On = None, region: Region = None,
                    days: Days = 30,
                    limit: Limit = 100, offset: Offset = 0,
                    ) -> Page[UnclaimedItem]:  # fmt: skip
    """户编号脱敏；按地区、对象、政策排序。"""
    rows = unclaimed_rows(_report(ctx, caller, on, region, days))
    return page_of(msgspec.convert(rows, list[UnclaimedItem], strict=False), limit, offset)


class OverdueItem(msgspec.Struct):
    """An open claim step past its due day."""

    claim_id: int
    part_id: int | None
    title: str
    state: str
    region: str
    department: str | None
    offices: list[str]
    due_on: date
    days_overdue: int | None


@get("/api/supervision/overdue", tags=_TAGS, guards=_GUARD, sync_to_thread=True,
     summary="超期未办的申领环节（工作日）", responses=PROBLEMS)  # fmt: skip
def overdue_route(ctx: CtxDep, caller: CallerDep, on: On = None, region: Region = None,
                  limit: Limit = 100, offset: Offset = 0,
                  ) -> Page[OverdueItem]:  # fmt: skip
    """最早到期的在前；days_overdue 为工作日数（日历未覆盖时为空）。"""
    prefix, day = narrowed(caller.region, region), day_or_today(on)
    if prefix is None:
        return Page([], 0, limit, offset)
    with read_session(ctx.engine) as session:
        rows = overdue(session, prefix=prefix, on=day, root=ctx.root, limit=limit,
                       offset=offset)  # fmt: skip
        total = overdue_count(session, prefix=prefix, on=day)
    return Page([OverdueItem(**r.__dict__) for r in rows], total, limit, offset)


@get("/api/supervision/outcomes", tags=_TAGS, guards=_GUARD, sync_to_thread=True,
     summary="成效报告（zhida report outcomes 的数据）", responses=PROBLEMS)  # fmt: skip
def outcomes_route(ctx: CtxDep, caller: CallerDep, on: On = None, region: Region = None,
                   days: Days = 30) -> dict[str, Any]:  # fmt: skip
    """各政策与一件事的申领、材料、跑动、发放天数、超期数，及应享未享清单（户编号脱敏）。"""
    report = _report(ctx, caller, on, region, days)
    if report is None:
        return {"region": region, "bundles": [], "policies": [], "unclaimed": []}
    return report.as_json() | {"unclaimed": unclaimed_rows(report)}


ROUTES: list[Any] = [coverage_route, unclaimed_route, overdue_route, outcomes_route]
