"""本村户: the village's households with what each gets and lacks; one household's page; and the
一次性告知单 (one household's, or every filtered household's, for printing).

- `GET /console/village` — the roster (`store.subjects.roster`), filtered by policy, by what is
  lacking and by 户编号 or name; the filters re-render the table with htmx (the URL follows them,
  so a filtered list can be bookmarked, paged and printed in batch).
- `GET /console/village/households/{no}` — members (ID numbers masked), entitlements today and
  their whole history, claims with their state and deadline, notices.
- `GET /console/village/households/{no}/notice-sheet` — the 一次性告知单
  (`store.subjects.notice_sheet`), one printed page.
- `GET /console/village/notice-sheets?…` — the sheets of the filtered households (the roster's
  filters), one page each, those with nothing to bring left out; at most `BATCH` households.

Another village's household is not found (404), exactly as the API says it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from litestar import get
from litestar.params import FromPath, FromQuery, Parameter
from litestar.response import Template

from api.auth import Caller
from api.console.pages.village.shapes import (
    DELIVERY,
    LACKING,
    NOTICE_STATES,
    STATUS,
    entitlement_rows,
    policy_choices,
    roster_rows,
)
from api.console.web import HtmlRequest, ViewerDep, is_htmx, page, page_needs
from api.context import Ctx
from api.deps import CtxDep
from api.params import Offset
from api.problems import found
from api.routes.claims.common import workflow
from api.routes.claims.schemas import queue_item
from api.routes.subjects.schemas import history_out
from matcher.profiles.parse import RELATION_LABELS
from rules.clock import today
from store.claims.scoped import queue
from store.claims.specs import claim_specs
from store.db import read_session
from store.delivery.inbox import notice_view
from store.delivery.labels import NOTICE_KINDS
from store.delivery.subject_notices import household_notices
from store.subjects import household_view, subject_entitlements, subject_history
from store.subjects.notice_sheet import notice_sheet
from store.subjects.roster import Roster, household_roster

__all__ = ["ROUTES"]

PAGE = 20
BATCH = 200  # sheets printed at once
VILLAGE = [page_needs("village")]
Policy = Annotated[str, Parameter(max_length=120, description="政策编号")]
Lacking = FromQuery[Literal["", "any", "facts", "materials"]]
Text = Annotated[str, Parameter(max_length=64, description="户编号或姓名中的文字")]


def _filters(policy: str, lacking: str, q: str) -> dict[str, str]:
    return {k: v for k, v in (("policy", policy), ("lacking", lacking), ("q", q.strip())) if v}


def _roster(ctx: Ctx, viewer: Caller, filters: dict[str, str], limit: int, offset: int) -> Roster:
    with read_session(ctx.engine) as s:
        return household_roster(
            session=s, scope=viewer.scope, on=today(), policy=filters.get("policy"),
            lacking=filters.get("lacking"), text=filters.get("q"), limit=limit, offset=offset,
        )  # fmt: skip


@get("/console/village", guards=VILLAGE, sync_to_thread=True)
def roster_page(
    ctx: CtxDep, viewer: ViewerDep, request: HtmlRequest, policy: Policy = "",
    lacking: Lacking = "", q: Text = "", offset: Offset = 0,
) -> Template:  # fmt: skip
    """The households of the village, filtered and paged (htmx: the table only)."""
    filters = _filters(policy, lacking, q)
    roster = _roster(ctx, viewer, filters, PAGE, offset)
    rows = roster_rows(roster.items, ctx.catalogue)
    query = urlencode(filters)
    name = "console/village/_roster.html" if is_htmx(request) else "console/village/roster.html"
    return page(
        request, name, roster=roster, rows=rows, filters=filters, query=query,
        base="/console/village" + (f"?{query}" if query else ""),
        policies=policy_choices(ctx.catalogue), lacking_choices=LACKING, on=today(),
    )  # fmt: skip


@get("/console/village/households/{household_no:str}", guards=VILLAGE, sync_to_thread=True)
def household_page(
    ctx: CtxDep, viewer: ViewerDep, request: HtmlRequest, household_no: FromPath[str]
) -> Template:
    """One household: members, entitlements and history, claims, notices."""
    on, flow, scope = today(), workflow(ctx), viewer.scope
    with read_session(ctx.engine) as s:
        house = found(household_view(session=s, scope=scope, household_no=household_no),
                      f"户 {household_no} ")  # fmt: skip
        held = subject_entitlements(session=s, scope=scope, kind="household", key=household_no,
                                    on=on) or []  # fmt: skip
        history = subject_history(session=s, scope=scope, kind="household",
                                  key=household_no) or []  # fmt: skip
        claims = queue(s, scope, workflow=flow, today=on, waiting=False, subject=household_no,
                       limit=200)  # fmt: skip
        notices = household_notices(session=s, scope=scope, household_no=household_no) or []
    return page(
        request, "console/village/household.html", house=house, on=on,
        held=entitlement_rows(held, ctx.catalogue), history=history_out(history, ctx.catalogue),
        claims=[(queue_item(c, flow.state_label), c.claim.materials) for c in claims.items],
        notices=[notice_view(n) for n in notices], relations=RELATION_LABELS, statuses=STATUS,
        notice_kinds=NOTICE_KINDS, notice_states=NOTICE_STATES,
        labels=claim_specs(ctx.catalogue).labels,
    )  # fmt: skip


@get("/console/village/households/{household_no:str}/notice-sheet", guards=VILLAGE,
     sync_to_thread=True)  # fmt: skip
def notice_sheet_page(
    ctx: CtxDep, viewer: ViewerDep, request: HtmlRequest, household_no: FromPath[str]
) -> Template:
    """One household's 一次性告知单, to print."""
    with read_session(ctx.engine) as s:
        sheet = notice_sheet(session=s, scope=viewer.scope, household_no=household_no,
                             catalogue=ctx.catalogue, on=today())  # fmt: skip
    return page(
        request, "console/village/notice_sheets.html", sheets=[found(sheet, f"户 {household_no} ")],
        skipped=0, more=0, back=f"/console/village/households/{household_no}", statuses=STATUS,
        deliveries=DELIVERY,
    )  # fmt: skip


@get("/console/village/notice-sheets", guards=VILLAGE, sync_to_thread=True)
def notice_sheets_page(
    ctx: CtxDep, viewer: ViewerDep, request: HtmlRequest, policy: Policy = "",
    lacking: Lacking = "", q: Text = "",
) -> Template:  # fmt: skip
    """The 一次性告知单 of every filtered household that has something to bring."""
    filters = _filters(policy, lacking, q)
    roster = _roster(ctx, viewer, filters, BATCH, 0)
    with read_session(ctx.engine) as s:
        sheets = [
            notice_sheet(session=s, scope=viewer.scope, household_no=h.household_no,
                         catalogue=ctx.catalogue, on=today())
            for h in roster.items
        ]  # fmt: skip
    kept = [x for x in sheets if x is not None and (x.facts or x.materials)]
    query = urlencode(filters)
    return page(request, "console/village/notice_sheets.html", sheets=kept,
                skipped=len(roster.items) - len(kept), more=roster.total - len(roster.items),
                back="/console/village" + (f"?{query}" if query else ""), statuses=STATUS,
                deliveries=DELIVERY)  # fmt: skip


ROUTES: list[Any] = [roster_page, household_page, notice_sheet_page, notice_sheets_page]
