"""The claim's steps over HTTP: confirm, advance, return, reject, and a batch.

Each goes through `store.claims.scoped` (the claim must be in the caller's scope, else 404,
before the workflow is asked) to `store.claims.steps.advance` with the caller's actor, and
takes an `Idempotency-Key` (`api.idempotency`). `version` is the claim's while it
moves as one, its part's (`parts[].version`) from the township check on.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Request, Response, post
from litestar.params import JSONBody

from api.auth import Caller
from api.context import Ctx
from api.deps import CallerDep, CtxDep
from api.idempotency import IdempotencyHeader, idempotent
from api.params import IdPath, past_day
from api.problems import PROBLEMS, Problem, ProblemError
from api.routes.claims.common import (
    TAGS,
    known_action,
    plain_text,
    shown,
    workflow,
)
from api.routes.claims.schemas import (
    AdvanceBody,
    BatchBody,
    BatchOut,
    BatchResult,
    ConfirmBody,
    ReasonBody,
    StepOut,
)
from matcher.profiles.masking import mask_ids_in_text
from store.claims.scoped import advance_in_scope, advance_many_in_scope
from store.claims.steps import StepDone, StepRequest
from store.idempotency import step_key

__all__ = ["advance_route", "batch_route", "confirm_route", "reject_route", "return_route"]


def _request(caller: Caller, claim_id: int, action: str, key: str | None, *,
             version: int | None = None, reason: str | None = None, on: date | None = None,
             part: str | None = None, payment_ref: str | None = None) -> StepRequest:  # fmt: skip
    day = past_day(on)
    for where, text in (("reason", reason), ("part", part), ("payment_ref", payment_ref)):
        plain_text(where, text)
    return StepRequest(
        claim_id=claim_id, actor=caller.actor, person=caller.name, on=day, action=action,
        department=part, reason=reason, version=version, payment_ref=payment_ref,
        key=step_key(caller.name, key) if key else None,
        paid_on=day if action == "pay" else None,
    )  # fmt: skip


def _step(ctx: Ctx, caller: Caller, req: StepRequest) -> StepOut:
    known_action(workflow(ctx), req.action or "")
    done = advance_in_scope(ctx.engine, caller.scope, req, root=ctx.root)
    return StepOut(
        claim_id=done.claim_id, action=done.action, from_state=done.from_state,
        to_state=done.to_state, part_ids=list(done.part_ids), replayed=done.replayed,
        claim=shown(ctx, caller, done.claim_id),
    )  # fmt: skip


_STEP: dict[str, Any] = {
    "tags": TAGS,
    "sync_to_thread": True,
    "responses": PROBLEMS,
    "status_code": 200,
}


@post("/api/claims/{claim_id:int}/confirm", summary="确认申领（本人，或村代办员代本户）", **_STEP)
def confirm_route(
    ctx: CtxDep, caller: CallerDep, request: Request[Any, Any, Any], claim_id: IdPath,
    data: JSONBody[ConfirmBody | None] = None, idempotency_key: IdempotencyHeader = None,
) -> Response[StepOut]:  # fmt: skip
    """One confirmation: the household or enterprise itself, or its village operator on the
    household's behalf (recorded as such)."""
    body = data or ConfirmBody()
    req = _request(caller, claim_id, "confirm", idempotency_key, version=body.version, on=body.on)
    return idempotent(request, caller, ctx, idempotency_key, "claims.confirm", body,
                      lambda: _step(ctx, caller, req))  # fmt: skip


@post("/api/claims/{claim_id:int}/advance", summary="办理一步（受理、审核、审批、发放、撤回…）",
      **_STEP)  # fmt: skip
def advance_route(
    ctx: CtxDep, caller: CallerDep, request: Request[Any, Any, Any], claim_id: IdPath,
    data: JSONBody[AdvanceBody], idempotency_key: IdempotencyHeader = None,
) -> Response[StepOut]:  # fmt: skip
    """Any step of the workflow table by its action, as the caller's role may take it."""
    req = _request(caller, claim_id, data.action, idempotency_key, version=data.version,
                   reason=data.reason, on=data.on, part=data.part,
                   payment_ref=data.payment_ref)  # fmt: skip
    return idempotent(request, caller, ctx, idempotency_key, "claims.advance", data,
                      lambda: _step(ctx, caller, req))  # fmt: skip


def _reasoned(
    ctx: Ctx, caller: Caller, request: Request[Any, Any, Any], claim_id: int, data: ReasonBody,
    key: str | None, action: str,
) -> Response[Any]:  # fmt: skip
    req = _request(caller, claim_id, action, key, version=data.version, reason=data.reason,
                   on=data.on, part=data.part)  # fmt: skip
    return idempotent(request, caller, ctx, key, f"claims.{action}", data,
                      lambda: _step(ctx, caller, req))  # fmt: skip


@post("/api/claims/{claim_id:int}/return", summary="退回补正（理由：需补正什么）", **_STEP)
def return_route(
    ctx: CtxDep, caller: CallerDep, request: Request[Any, Any, Any], claim_id: IdPath,
    data: JSONBody[ReasonBody], idempotency_key: IdempotencyHeader = None,
) -> Response[StepOut]:  # fmt: skip
    """Send the claim (or the department's part) back, saying what to fix."""
    return _reasoned(ctx, caller, request, claim_id, data, idempotency_key, "return")


@post("/api/claims/{claim_id:int}/reject", summary="不予批准（须给出理由）", **_STEP)
def reject_route(
    ctx: CtxDep, caller: CallerDep, request: Request[Any, Any, Any], claim_id: IdPath,
    data: JSONBody[ReasonBody], idempotency_key: IdempotencyHeader = None,
) -> Response[StepOut]:  # fmt: skip
    """Refuse the claim (or the department's part), with the reason."""
    return _reasoned(ctx, caller, request, claim_id, data, idempotency_key, "reject")


def _batch(ctx: Ctx, caller: Caller, data: BatchBody, key: str | None) -> BatchOut:
    known_action(workflow(ctx), data.action)
    _distinct(data)
    requests = [
        _request(caller, c.id, data.action, key, version=c.version, reason=data.reason,
                 on=data.on, part=data.part)
        for c in data.claims
    ]  # fmt: skip
    answers = advance_many_in_scope(ctx.engine, caller.scope, requests, root=ctx.root)
    results = [
        BatchResult(id=r.claim_id, result="replayed" if a.replayed else "done",
                    to_state=a.to_state) if isinstance(a, StepDone)
        else BatchResult(id=r.claim_id, result=a.why, message=mask_ids_in_text(str(a)))
        for r, a in zip(requests, answers, strict=True)
    ]  # fmt: skip
    done = sum(r.result in ("done", "replayed") for r in results)
    return BatchOut(done=done, not_done=len(results) - done, results=results)


def _distinct(data: BatchBody) -> None:
    """A claim named twice in one batch is a 422 at its second place (one step each)."""
    seen: dict[int, int] = {}
    for i, c in enumerate(data.claims):
        if c.id in seen:
            said = (f"申领 {c.id} 在本批中出现了两次（claims[{seen[c.id]}] 与 claims[{i}]）："
                    "每件只应出现一次")  # fmt: skip
            raise ProblemError(422, said, [Problem(f"claims[{i}].id", said)])
        seen[c.id] = i


@post("/api/claims/batch", summary="批量办理：同一步骤办理多件申领，逐件返回结果", **_STEP)
def batch_route(
    ctx: CtxDep, caller: CallerDep, request: Request[Any, Any, Any], data: JSONBody[BatchBody],
    idempotency_key: IdempotencyHeader = None,
) -> Response[BatchOut]:  # fmt: skip
    """The same action on each claim, each in its own transaction (as `advance_many`): one
    claim's refusal never stops the others; a claim outside the scope answers not_found."""
    return idempotent(request, caller, ctx, idempotency_key, "claims.batch", data,
                      lambda: _batch(ctx, caller, data, idempotency_key))  # fmt: skip
