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
from api.params import Limit, Offset, Page, page_of
from api.problems import PROBLEMS, found
from api.routes.subjects.households import events
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
    EnterpriseView,
    enterprise_view,
    list_enterprises,
    patch_subject,
    put_subject,
    subject_entitlements,
    subject_history,
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
    done = put_subject(ctx.engine, scope=caller.scope, kind="enterprise", key=credit_code,
                       raw=data, on=on or today(),
                       events=events(ctx, caller, f"PUT {credit_code}"))  # fmt: skip
    return outcome_out(found(done, f"企业 {credit_code}"))


@patch(_KEY, tags=TAGS, summary="修改企业的事实（经事件处理）", sync_to_thread=True,
       guards=[WRITERS], responses=PROBLEMS)  # fmt: skip
def patch_enterprise(
    ctx: CtxDep,
    caller: CallerDep,
    credit_code: FromPath[str],
    data: JSONBody[PatchBody],
) -> OutcomeOut:
    done = patch_subject(ctx.engine, scope=caller.scope, kind="enterprise", key=credit_code,
                         values=data.facts, member=data.member, on=data.on or today(),
                         events=events(ctx, caller, f"PATCH {credit_code}"))  # fmt: skip
    return outcome_out(found(done, f"企业 {credit_code}"))


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
    with read_session(ctx.engine) as s:
        held = subject_entitlements(session=s, scope=caller.scope, kind="enterprise",
                                    key=credit_code, on=on or today())  # fmt: skip
    return page_of(
        entitlements_out(found(held, f"企业 {credit_code}"), ctx.catalogue), limit, offset
    )


@get(_KEY + "/entitlements/history", tags=TAGS, summary="企业享受政策的全部区间",
     sync_to_thread=True, responses=PROBLEMS)  # fmt: skip
def history(
    ctx: CtxDep,
    caller: CallerDep,
    credit_code: FromPath[str],
    limit: Limit = 500,
    offset: Offset = 0,
) -> Page[HistoryOut]:
    with read_session(ctx.engine) as s:
        items = subject_history(session=s, scope=caller.scope, kind="enterprise",
                                key=credit_code)  # fmt: skip
    return page_of(history_out(found(items, f"企业 {credit_code}"), ctx.catalogue), limit, offset)


ROUTES: list[Any] = [enterprises, enterprise, put_enterprise, patch_enterprise, entitlements,
                     history]  # fmt: skip
