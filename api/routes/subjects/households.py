"""`/api/households`: a caller's households, their identity view, upsert, PATCH, entitlements.

Reads: village, township, county (their region) and supervisor (its county); anyone else sees
no household (404). Writes (`PUT`, `PATCH`): village, township and county in their region
(others 403). The identity view answers only a village login of the household's own village.
"""

from __future__ import annotations

from typing import Any

from litestar import get, patch, put
from litestar.params import FromPath, JSONBody

from api.auth import Caller, needs
from api.context import Ctx
from api.deps import CallerDep, CtxDep
from api.params import Limit, Offset, Page, page_of
from api.problems import PROBLEMS, found
from api.routes.subjects.schemas import (
    EntitlementOut,
    HistoryOut,
    On,
    OutcomeOut,
    PatchBody,
    Region,
    entitlements_out,
    history_out,
    outcome_out,
)
from rules.clock import today
from store.db import read_session
from store.subjects import (
    HouseholdView,
    IdentityView,
    household_identity,
    household_view,
    list_households,
    patch_subject,
    put_subject,
    subject_entitlements,
    subject_history,
)
from store.subjects.writes import EventArgs

__all__ = ["ROUTES"]

TAGS = ["户与企业"]
WRITERS = needs("village", "township", "county")
_KEY = "/api/households/{household_no:str}"


def events(ctx: Ctx, caller: Caller, source: str) -> EventArgs:
    """What a write by `caller` hands to the event path."""
    return EventArgs(ctx.catalogue, ctx.root, ctx.reactions, caller.name, f"API {source}"[:300])


@get("/api/households", tags=TAGS, summary="辖区内的户（分页）", sync_to_thread=True,
     responses=PROBLEMS)  # fmt: skip
def households(
    ctx: CtxDep,
    caller: CallerDep,
    region: Region = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[dict[str, Any]]:
    with read_session(ctx.engine) as s:
        p = list_households(session=s, scope=caller.scope, region=region, limit=limit,
                            offset=offset)  # fmt: skip
    return Page(p.items, p.total, p.limit, p.offset)


@get(_KEY, tags=TAGS, summary="一户的资料（身份证号已遮蔽）", sync_to_thread=True,
     responses=PROBLEMS)  # fmt: skip
def household(ctx: CtxDep, caller: CallerDep, household_no: FromPath[str]) -> HouseholdView:
    with read_session(ctx.engine) as s:
        view = household_view(session=s, scope=caller.scope, household_no=household_no)
    return found(view, f"户 {household_no}")


@get(_KEY + "/identity", tags=TAGS, summary="一户成员的完整身份证号（仅本村，留审计）",
     sync_to_thread=True, responses=PROBLEMS)  # fmt: skip
def identity(ctx: CtxDep, caller: CallerDep, household_no: FromPath[str]) -> IdentityView:
    view = household_identity(engine=ctx.engine, scope=caller.scope, household_no=household_no)
    return found(view, f"户 {household_no}")


@put(_KEY, tags=TAGS, summary="整户写入档案（经事件处理）", sync_to_thread=True,
     guards=[WRITERS], responses=PROBLEMS)  # fmt: skip
def put_household(
    ctx: CtxDep,
    caller: CallerDep,
    household_no: FromPath[str],
    data: JSONBody[dict[str, Any]],
    on: On = None,
) -> OutcomeOut:
    done = put_subject(ctx.engine, scope=caller.scope, kind="household", key=household_no,
                       raw=data, on=on or today(),
                       events=events(ctx, caller, f"PUT {household_no}"))  # fmt: skip
    return outcome_out(found(done, f"户 {household_no}"))


@patch(_KEY, tags=TAGS, summary="修改户或成员的事实（经事件处理）", sync_to_thread=True,
       guards=[WRITERS], responses=PROBLEMS)  # fmt: skip
def patch_household(
    ctx: CtxDep,
    caller: CallerDep,
    household_no: FromPath[str],
    data: JSONBody[PatchBody],
) -> OutcomeOut:
    done = patch_subject(ctx.engine, scope=caller.scope, kind="household", key=household_no,
                         values=data.facts, member=data.member, on=data.on or today(),
                         events=events(ctx, caller, f"PATCH {household_no}"))  # fmt: skip
    return outcome_out(found(done, f"户 {household_no}"))


@get(_KEY + "/entitlements", tags=TAGS, summary="一户在某日享受的政策", sync_to_thread=True,
     responses=PROBLEMS)  # fmt: skip
def entitlements(
    ctx: CtxDep,
    caller: CallerDep,
    household_no: FromPath[str],
    on: On = None,
    limit: Limit = 500,
    offset: Offset = 0,
) -> Page[EntitlementOut]:
    with read_session(ctx.engine) as s:
        held = subject_entitlements(session=s, scope=caller.scope, kind="household",
                                    key=household_no, on=on or today())  # fmt: skip
    return page_of(
        entitlements_out(found(held, f"户 {household_no}"), ctx.catalogue), limit, offset
    )


@get(_KEY + "/entitlements/history", tags=TAGS, summary="一户享受政策的全部区间",
     sync_to_thread=True, responses=PROBLEMS)  # fmt: skip
def history(
    ctx: CtxDep,
    caller: CallerDep,
    household_no: FromPath[str],
    limit: Limit = 500,
    offset: Offset = 0,
) -> Page[HistoryOut]:
    with read_session(ctx.engine) as s:
        items = subject_history(session=s, scope=caller.scope, kind="household",
                                key=household_no)  # fmt: skip
    return page_of(history_out(found(items, f"户 {household_no}"), ctx.catalogue), limit, offset)


ROUTES: list[Any] = [households, household, identity, put_household, patch_household,
                     entitlements, history]  # fmt: skip
