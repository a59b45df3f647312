"""`GET /api/claims` (the caller's queue) and `GET /api/claims/{claim_id}` (one claim in full)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from litestar import get
from litestar.params import Parameter, QueryParameter

from api.auth import needs
from api.deps import CallerDep, CtxDep
from api.params import IdPath, Limit, Offset, day_or_today
from api.problems import PROBLEMS, Problem, ProblemError, found
from api.routes.claims.common import TAGS, plain_text, shown, workflow
from api.routes.claims.schemas import ClaimOut, QueueOut, queue_item
from store.claims.scoped import queue
from store.db import read_session
from store.scope import READS_CLAIMS

__all__ = ["list_route", "show_route"]

Kind = Literal["grant", "claim", "bundle"]


@get("/api/claims", tags=TAGS, summary="申领待办：本角色、本辖区待办理的申领",
     sync_to_thread=True, responses=PROBLEMS, guards=[needs(*sorted(READS_CLAIMS))])  # fmt: skip
def list_route(
    ctx: CtxDep,
    caller: CallerDep,
    waiting: Annotated[
        bool, Parameter(description="只列待本角色办理的（false：辖区内全部）")
    ] = True,
    in_state: Annotated[
        str | None, QueryParameter(name="state", max_length=24, description="申领或分项的状态")
    ] = None,
    kind: Annotated[Kind | None, Parameter(description="grant | claim | bundle")] = None,
    subject: Annotated[str | None, Parameter(max_length=64, description="户编号或信用代码")] = None,
    overdue: Annotated[bool | None, Parameter(description="只列已超时限的（或未超的）")] = None,
    on: Annotated[date | None, Parameter(description="按哪一天计算超时（默认今天）")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> QueueOut:
    """The claims in the caller's scope, by default those waiting for the caller's role (what
    the workflow lets the role do from each state); each with its earliest open deadline."""
    subject = plain_text("query.subject", subject)
    wf = workflow(ctx)
    if in_state is not None and in_state not in wf.spec.states:
        said = f"{in_state!r}：未知状态；应为 {' | '.join(wf.spec.states)}"
        raise ProblemError(422, f"state：{said}", [Problem("query.state", said)])
    with read_session(ctx.engine) as session:
        page = queue(session, caller.scope, workflow=wf, today=day_or_today(on), waiting=waiting,
                     state=in_state, kind=kind, subject=subject, overdue=overdue, limit=limit,
                     offset=offset)  # fmt: skip
    items = [queue_item(q, wf.state_label) for q in page.items]
    return QueueOut(total=page.total, limit=limit, offset=offset, items=items)


@get("/api/claims/{claim_id:int}", tags=TAGS, summary="查看申领：表单、材料、分项、办理记录、时限",
     sync_to_thread=True, responses=PROBLEMS)  # fmt: skip
def show_route(ctx: CtxDep, caller: CallerDep, claim_id: IdPath) -> ClaimOut:
    """One claim in full (ID numbers masked); 404 when it is not in the caller's scope."""
    return found(shown(ctx, caller, claim_id), f"申领 {claim_id} ")
