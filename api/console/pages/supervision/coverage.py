"""覆盖情况: coverage per policy and region (`store.supervision.coverage`, as the API's route).

`GET /console/supervision` shows, under the viewer's county (or the township or village
asked), the funnel eligible → notified → delivered → claimed → paid: a chart and a table per
region group (the county's townships; a township's villages), a chart and a table per policy,
and the store's rows (policy × region) in full. `GET /console/supervision.xlsx` downloads the
same three tables. The totals are sums of the store's rows, nothing else: each eligible
(subject, policy) pair counts once, so a household eligible for three policies counts three
times in a region's total (the page says so).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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
from store.db import read_session
from store.supervision import coverage, group_length

__all__ = ["ROUTES", "SERIES"]

SERIES = (("eligible", "符合"), ("notified", "已通知"), ("delivered", "已送达"),
          ("claimed", "已申领"), ("paid", "已发放"))  # fmt: skip
_KEYS = [k for k, _ in SERIES]
_SHORT = 12  # characters of a policy title a chart's label shows


@dataclass(frozen=True)
class CoverageView:
    """The page's numbers: the store's rows, and their sums per region and per policy."""

    prefix: str
    by: str  # township | village
    detail: list[dict[str, Any]]
    by_region: list[dict[str, Any]]
    by_policy: list[dict[str, Any]]
    total: dict[str, int]


def _sums(rows: Iterable[Mapping[str, Any]], key: str, *keep: str) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = defaultdict(dict)
    for row in rows:
        group = groups[row[key]]
        if not group:
            group.update({k: row[k] for k in (key, *keep)} | dict.fromkeys(_KEYS, 0))
        for k in _KEYS:
            group[k] += row[k]
    return [groups[k] for k in sorted(groups)]


def _region(code: str, size: int) -> dict[str, Any]:
    """A region group as the page names it: a code shorter than the grouping is the county's
    own level (an enterprise registered to the county, not to a township)."""
    own = len(code) < size
    return {"region": code, "label": f"{code} 县本级" if own else code, "drill": not own}


def coverage_view(ctx: Ctx, f: Filters) -> CoverageView | None:
    """The coverage numbers the filters select (None: the region is outside the county)."""
    if f.prefix is None:
        return None
    with read_session(ctx.engine) as session:
        rows = coverage(session, prefix=f.prefix, on=f.on)
    size, policies = group_length(f.prefix), ctx.catalogue.policies
    detail = []
    for r in rows:
        if f.policy and r.policy_id != f.policy:
            continue
        found = policies.get(r.policy_id)
        title = found.spec.title if found else r.policy_id
        short = title if len(title) <= _SHORT else title[: _SHORT - 1] + "…"
        detail.append({"policy_id": r.policy_id, "title": title, "short": short,
                       **_region(r.region, size), **{k: getattr(r, k) for k in _KEYS}})  # fmt: skip
    return CoverageView(
        prefix=f.prefix, by="township" if size == 9 else "village", detail=detail,
        by_region=_sums(detail, "region", "label", "drill"),
        by_policy=_sums(detail, "policy_id", "title", "short"),
        total={k: sum(r[k] for r in detail) for k in _KEYS},
    )  # fmt: skip


def policy_choices(ctx: Ctx) -> list[tuple[str, str]]:
    """The catalogue's policies as the filter offers them: (id, title), by id."""
    return sorted((pid, p.spec.title) for pid, p in ctx.catalogue.policies.items())


def _filters(ctx: Ctx, region_of_viewer: str, typed: dict[str, str]) -> Filters:
    return read_filters(region_of_viewer, typed, policies=ctx.catalogue.policies)


@get("/console/supervision", guards=GUARD, sync_to_thread=True)
def coverage_page(
    ctx: CtxDep,
    viewer: ViewerDep,
    request: HtmlRequest,
    on: FromQuery[str] = "",
    region: FromQuery[str] = "",
    policy: FromQuery[str] = "",
) -> Template:
    """覆盖情况：各乡镇（或村）、各政策的符合 / 已通知 / 已送达 / 已申领 / 已发放。"""
    typed = {"on": on, "region": region, "policy": policy}
    common: dict[str, Any] = {"policies": policy_choices(ctx), "series": SERIES}
    try:
        f = _filters(ctx, viewer.region, typed)
    except ProblemError as exc:
        return answer(request, "coverage", status=exc.status, problem=problem_view(exc),
                      f=blank(viewer.region, typed), view=None, **common)  # fmt: skip
    return answer(request, "coverage", f=f, view=coverage_view(ctx, f), problem=None, **common)


_HEADS = [label for _, label in SERIES]


@get("/console/supervision.xlsx", guards=GUARD, sync_to_thread=True)
def coverage_export(
    ctx: CtxDep,
    viewer: ViewerDep,
    on: FromQuery[str] = "",
    region: FromQuery[str] = "",
    policy: FromQuery[str] = "",
) -> Response[bytes]:
    """The page's three tables as a workbook: 按地区, 按政策, 明细."""
    f = _filters(ctx, viewer.region, {"on": on, "region": region, "policy": policy})
    view = coverage_view(ctx, f)
    if view is None:
        by_region: list[dict[str, Any]] = []
        by_policy: list[dict[str, Any]] = []
        detail: list[dict[str, Any]] = []
    else:
        by_region, by_policy, detail = view.by_region, view.by_policy, view.detail
    sheets = [
        Sheet("按地区", ["地区代码", *_HEADS],
              [[r["label"], *(r[k] for k in _KEYS)] for r in by_region]),
        Sheet("按政策", ["政策编号", "政策名称", *_HEADS],
              [[r["policy_id"], r["title"], *(r[k] for k in _KEYS)] for r in by_policy]),
        Sheet("明细", ["政策编号", "政策名称", "地区代码", *_HEADS],
              [[r["policy_id"], r["title"], r["label"], *(r[k] for k in _KEYS)] for r in detail]),
    ]  # fmt: skip
    where = f.prefix or f.region or viewer.region
    return xlsx_download(f"覆盖情况-{where}-{f.on.isoformat()}.xlsx", sheets)


ROUTES: list[Any] = [coverage_page, coverage_export]
