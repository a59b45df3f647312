"""The enterprise's notices: the inbox, one notice, a policy's basis, and confirming a claim.

- `GET /console/enterprise` — its notices, newest first, 20 a page (`store.delivery.inbox`, in
  the viewer's scope, as `GET /api/notices`): each with the policy, the amount to the fen, why
  it qualifies, the basis (linked to the policy's page), the date, and the claim it concerns.
- `GET /console/enterprise/notices/{id}` — one notice in full, with its delivery per channel and
  every try; out of the viewer's reach it is a 404, as for one that does not exist.
- `GET /console/enterprise/notices/{id}/delivery` — how far a notice got (a fragment that asks
  again every 2 s while it waits, at most 30 times: a test ping's result appears by itself).
- `GET /console/enterprise/policies/{policy_id}` — the basis of a policy of the served
  catalogue: its documents, dated parameters with their references, conditions, materials.
- `POST /console/enterprise/claims/{id}/confirm` — the workflow's `confirm` with the version
  the page showed (as `POST /api/claims/{id}/confirm`). A second confirmation (a stale tab, a
  back button) meets the moved version: a conflict, shown beside the claim with its state now.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Template

from api.console.pages.enterprise.views import claim_box, claim_ids, claims_shown, notice_card
from api.console.web import HtmlRequest, ViewerDep, page, page_needs, problem_view
from api.deps import CtxDep
from api.params import IdPath, Offset
from api.problems import found
from matcher.explain.catalogue_data import policy_detail
from rules.clock import today
from store.claims.errors import ClaimError
from store.claims.scoped import advance_in_scope
from store.claims.steps import StepRequest
from store.db import read_session
from store.delivery.inbox import inbox, inbox_count, inbox_notice

__all__ = ["ROUTES"]

PER_PAGE = 20
POLLS = 30  # a waiting notice's fragment asks again this many times, every 2 s
_ENTERPRISE = [page_needs("enterprise")]


@get("/console/enterprise", guards=_ENTERPRISE, sync_to_thread=True)
def notices_page(
    ctx: CtxDep, viewer: ViewerDep, request: HtmlRequest, offset: Offset = 0
) -> Template:
    """The enterprise's notices, newest first, a page at a time."""
    with read_session(ctx.engine) as session:
        found_ = inbox(session=session, scope=viewer.scope, limit=PER_PAGE, offset=offset)
        total = inbox_count(session=session, scope=viewer.scope)
    claims = claims_shown(ctx, viewer, claim_ids(found_))
    cards = [notice_card(ctx, viewer, n, claims) for n in found_]
    return page(request, "console/enterprise/notices.html", cards=cards, total=total,
                limit=PER_PAGE, offset=offset)  # fmt: skip


def _notice(ctx: CtxDep, viewer: ViewerDep, notice_id: int) -> Any:
    with read_session(ctx.engine) as session:
        n = inbox_notice(session=session, scope=viewer.scope, outbox_id=notice_id)
    n = found(n, f"通知 {notice_id} ")
    return notice_card(ctx, viewer, n, claims_shown(ctx, viewer, claim_ids([n])))


@get("/console/enterprise/notices/{notice_id:int}", guards=_ENTERPRISE, sync_to_thread=True)
def notice_page(
    ctx: CtxDep, viewer: ViewerDep, request: HtmlRequest, notice_id: IdPath
) -> Template:
    """One notice in full: what it says, the claim, every delivery and every try."""
    card = _notice(ctx, viewer, notice_id)
    return page(request, "console/enterprise/notice.html", c=card, polls=POLLS)


@get("/console/enterprise/notices/{notice_id:int}/delivery", guards=_ENTERPRISE,
     sync_to_thread=True)  # fmt: skip
def delivery_fragment(
    ctx: CtxDep,
    viewer: ViewerDep,
    request: HtmlRequest,
    notice_id: IdPath,
    poll: FromQuery[int] = 0,
) -> Template:
    """How far the notice got; while it waits, the fragment asks again (up to POLLS times)."""
    card = _notice(ctx, viewer, notice_id)
    return page(request, "console/enterprise/_delivery.html", c=card, poll=poll, polls=POLLS)


@get("/console/enterprise/policies/{policy_id:str}", guards=_ENTERPRISE, sync_to_thread=False)
def policy_page(ctx: CtxDep, request: HtmlRequest, policy_id: FromPath[str]) -> Template:
    """The basis of one policy of the served catalogue (as `GET /api/policies/{id}`)."""
    policy = found(ctx.catalogue.policies.get(policy_id), f"政策 {policy_id[:80]} ")
    return page(request, "console/enterprise/policy.html", p=policy_detail(policy))


@dataclass
class ConfirmForm:
    """The confirm button's form: the claim's version the page showed."""

    version: int | None = None


@post("/console/enterprise/claims/{claim_id:int}/confirm", guards=_ENTERPRISE,
      sync_to_thread=True, status_code=200)  # fmt: skip
def confirm_claim(
    ctx: CtxDep,
    viewer: ViewerDep,
    request: HtmlRequest,
    claim_id: IdPath,
    data: Annotated[ConfirmForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Template:
    """Confirm the claim once (the workflow's `confirm`, at the version shown); the claim's box
    comes back with its state now, or with the conflict beside it."""
    req = StepRequest(claim_id=claim_id, actor=viewer.actor, person=viewer.name, on=today(),
                      action="confirm", version=data.version)  # fmt: skip
    problem, status = None, 200
    try:
        advance_in_scope(ctx.engine, viewer.scope, req, root=ctx.root)
    except ClaimError as exc:
        if exc.why == "not_found":
            raise
        problem = problem_view(exc)
        status = problem.status
    claim = found(claims_shown(ctx, viewer, [claim_id]).get(claim_id), f"申领 {claim_id} ")
    box = claim_box(ctx, viewer, claim)
    return page(request, "console/enterprise/_claim.html", status=status, box=box,
                problem=problem, confirmed=problem is None)  # fmt: skip


ROUTES: list[Any] = [notices_page, notice_page, delivery_fragment, policy_page, confirm_claim]
