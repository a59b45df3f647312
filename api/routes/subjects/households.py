"""`/api/households`: a caller's households, their identity view, upsert, PATCH, entitlements.

Reads: village, township, county (their region) and supervisor (its county); anyone else sees
no household (404). Writes (`PUT`, `PATCH`): village, township and county in their region
(others 403). The identity view answers only a village login of the household's own village.
"""

from __future__ import annotations

from typing import Any

from litestar import get, patch, put
from litestar.params import FromPath, JSONBody

from api.auth import needs
from api.deps import CallerDep, CtxDep
from api.params import Limit, Offset, On, Page, Region
from api.problems import PROBLEMS, found
from api.routes.subjects.common import entitlements_of, history_of, patched, stored
from api.routes.subjects.schemas import (
    EntitlementOut,
    HistoryOut,
    OutcomeOut,
    PatchBody,
)
from store.db import read_session
from store.subjects import (
    HouseholdView,
    IdentityView,
    household_identity,
    household_view,
    list_households,
)

__all__ = ["ROUTES"]

TAGS = ["户与企业"]
WRITERS = needs("village", "township", "county")
_KEY = "/api/households/{household_no:str}"


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
    return stored(ctx, caller, "household", household_no, data, on)


@patch(_KEY, tags=TAGS, summary="修改户或成员的事实（经事件处理）", sync_to_thread=True,
       guards=[WRITERS], responses=PROBLEMS)  # fmt: skip
def patch_household(
    ctx: CtxDep,
    caller: CallerDep,
    household_no: FromPath[str],
    data: JSONBody[PatchBody],
) -> OutcomeOut:
    return patched(ctx, caller, "household", household_no, data)


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
    return entitlements_of(ctx, caller, "household", household_no, on, limit, offset)


@get(_KEY + "/entitlements/history", tags=TAGS, summary="一户享受政策的全部区间",
     sync_to_thread=True, responses=PROBLEMS)  # fmt: skip
def history(
    ctx: CtxDep,
    caller: CallerDep,
    household_no: FromPath[str],
    limit: Limit = 500,
    offset: Offset = 0,
) -> Page[HistoryOut]:
    return history_of(ctx, caller, "household", household_no, limit, offset)


ROUTES: list[Any] = [households, household, identity, put_household, patch_household,
                     entitlements, history]  # fmt: skip
