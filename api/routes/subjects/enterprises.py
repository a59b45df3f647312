"""`/api/enterprises`: read by the enterprise itself, its county and the county's supervisor;
written (`PUT`, `PATCH`) by the county only.

An enterprise may not change its own profile here: its facts come from the departments that
hold them (registration, tax, social insurance), imported or set by the county; letting it
declare them would let it grant itself benefits. It reads itself and its entitlements.
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
    EnterpriseView,
    enterprise_view,
    list_enterprises,
)

__all__ = ["ROUTES"]

TAGS = ["户与企业"]
WRITERS = needs("county")
_KEY = "/api/enterprises/{credit_code:str}"


@get("/api/enterprises", tags=TAGS, summary="可见的企业（分页）", sync_to_thread=True,
     responses=PROBLEMS)  # fmt: skip
def enterprises(
    ctx: CtxDep,
    caller: CallerDep,
    region: Region = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[dict[str, Any]]:
    with read_session(ctx.engine) as s:
        p = list_enterprises(session=s, scope=caller.scope, region=region, limit=limit,
                             offset=offset)  # fmt: skip
    return Page(p.items, p.total, p.limit, p.offset)


@get(_KEY, tags=TAGS, summary="一家企业的资料", sync_to_thread=True, responses=PROBLEMS)
def enterprise(ctx: CtxDep, caller: CallerDep, credit_code: FromPath[str]) -> EnterpriseView:
    with read_session(ctx.engine) as s:
        view = enterprise_view(session=s, scope=caller.scope, credit_code=credit_code)
    return found(view, f"企业 {credit_code}")


@put(_KEY, tags=TAGS, summary="整体写入企业档案（经事件处理）", sync_to_thread=True,
     guards=[WRITERS], responses=PROBLEMS)  # fmt: skip
def put_enterprise(
    ctx: CtxDep,
    caller: CallerDep,
    credit_code: FromPath[str],
    data: JSONBody[dict[str, Any]],
    on: On = None,
) -> OutcomeOut:
    return stored(ctx, caller, "enterprise", credit_code, data, on)


@patch(_KEY, tags=TAGS, summary="修改企业的事实（经事件处理）", sync_to_thread=True,
       guards=[WRITERS], responses=PROBLEMS)  # fmt: skip
def patch_enterprise(
    ctx: CtxDep,
    caller: CallerDep,
    credit_code: FromPath[str],
    data: JSONBody[PatchBody],
) -> OutcomeOut:
    return patched(ctx, caller, "enterprise", credit_code, data)


@get(_KEY + "/entitlements", tags=TAGS, summary="企业在某日享受的政策", sync_to_thread=True,
     responses=PROBLEMS)  # fmt: skip
def entitlements(
    ctx: CtxDep,
    caller: CallerDep,
    credit_code: FromPath[str],
    on: On = None,
    limit: Limit = 500,
    offset: Offset = 0,
) -> Page[EntitlementOut]:
    return entitlements_of(ctx, caller, "enterprise", credit_code, on, limit, offset)


@get(_KEY + "/entitlements/history", tags=TAGS, summary="企业享受政策的全部区间",
     sync_to_thread=True, responses=PROBLEMS)  # fmt: skip
def history(
    ctx: CtxDep,
    caller: CallerDep,
    credit_code: FromPath[str],
    limit: Limit = 500,
    offset: Offset = 0,
) -> Page[HistoryOut]:
    return history_of(ctx, caller, "enterprise", credit_code, limit, offset)


ROUTES: list[Any] = [enterprises, enterprise, put_enterprise, patch_enterprise, entitlements,
                     history]  # fmt: skip
