"""代办申领: the claims waiting for the village, confirmed on the households' behalf and sent to
the township in batch, each claim's result on its row.

- `GET /console/village/claims` — the village's queue (`store.claims.scoped.queue` with the
  viewer's scope: the claims in a state the workflow lets a village act from — 待确认, 已确认,
  退回补正), with what each still asks the household to bring and its deadline.
- `POST /console/village/claims` — the picked claims (each with the version the page showed)
  and one of the village's actions:
  `submit` — 确认并报送乡镇 (`store.claims.village.submit_to_township`: confirm on the
  household's behalf where still to confirm, then accept — or resubmit a returned claim — so it
  is in the township's queue); `confirm` — 仅代户确认; `reject` — 不予受理, with the reason the
  workflow requires. Each claim is its own transaction (the API's `POST /api/claims/batch`
  semantics): the answer re-renders the table with each picked claim's row saying done (and
  its state now) or why not, followed by the rest of the queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from litestar import get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Template

from api.auth import Caller
from api.console.pages.village.shapes import Answer, ClaimRow, answers, claim_row
from api.console.web import HtmlRequest, ViewerDep, is_htmx, page, page_needs, problem_view
from api.context import Ctx
from api.deps import CtxDep
from api.params import Offset, past_day
from api.problems import Problem, ProblemError
from api.routes.claims.common import plain_text, workflow
from api.routes.claims.schemas import claim_out, queue_item
from rules.clock import today
from store.claims.errors import ClaimError
from store.claims.scoped import QueuePage, advance_many_in_scope, queue, show_in_scope
from store.claims.steps import StepDone, StepRequest
from store.claims.village import Pick, submit_to_township
from store.db import read_session

__all__ = ["ROUTES"]

VILLAGE = [page_needs("village")]
PAGE = 100
ACTIONS = {"submit": "确认并报送乡镇", "confirm": "仅代户确认", "reject": "不予受理"}


@dataclass
class BatchForm:
    """The batch form: the picked claims (`id:version`), the action, the reason (reject)."""

    pick: list[str] | str = field(default_factory=list)  # one box ticked: a single value
    action: Literal["submit", "confirm", "reject"] = "submit"
    reason: str = ""


def _picks(values: list[str] | str) -> list[Pick]:
    """`12:3` → Pick(12, 3); a malformed value is a 422 at `pick`."""
    picks = []
    for value in [values] if isinstance(values, str) else values:
        head, _, tail = value.partition(":")
        if not (head.isdigit() and tail.isdigit() and 0 < int(head) < 2**31 and int(tail) > 0):
            said = f"{value[:40]!r}：应为「申领编号:版本号」"
            raise ProblemError(422, said, [Problem("pick", said)])
        picks.append(Pick(int(head), int(tail)))
    if not picks:
        said = "请先勾选要办理的申领"
        raise ProblemError(422, said, [Problem("pick", said)])
    return picks


def _ticked(values: list[str] | str) -> set[str]:
    """The boxes ticked, to tick them again when the form is refused whole."""
    return set([values] if isinstance(values, str) else values)


def _rows(
    ctx: Ctx, viewer: Caller, offset: int, done: dict[int, Answer]
) -> tuple[QueuePage, list[ClaimRow]]:
    """The picked claims first (as they are now, with their answers: still pickable while
    they wait for the village), then the rest of the queue."""
    flow, scope = workflow(ctx), viewer.scope
    with read_session(ctx.engine) as s:
        waiting = queue(s, scope, workflow=flow, today=today(), limit=PAGE, offset=offset)
        queued = {q.claim.id: q for q in waiting.items}
        left = {i: show_in_scope(s, scope, i) for i in done if i not in queued}
    rows = []
    for i, answer in done.items():
        if i in queued:
            rows.append(claim_row(queue_item(queued[i], flow.state_label),
                                  queued[i].claim.materials, answer))  # fmt: skip
        elif (view := left.get(i)) is not None:
            rows.append(claim_row(claim_out(view, flow.state_label), view.materials, answer))
    rows += [claim_row(queue_item(q, flow.state_label), q.claim.materials)
             for q in waiting.items if q.claim.id not in done]  # fmt: skip
    return waiting, rows


@get("/console/village/claims", guards=VILLAGE, sync_to_thread=True)
def claims_page(
    ctx: CtxDep, viewer: ViewerDep, request: HtmlRequest, offset: Offset = 0
) -> Template:
    """The claims waiting for the village."""
    waiting, rows = _rows(ctx, viewer, offset, {})
    return page(request, "console/village/claims.html", waiting=waiting, rows=rows,
                offset=offset, limit=PAGE, actions=ACTIONS)  # fmt: skip


def _act(ctx: Ctx, viewer: Caller, form: BatchForm) -> list[StepDone | ClaimError]:
    picks, on, root = _picks(form.pick), past_day(None), ctx.root
    if form.action == "submit":
        return submit_to_township(ctx.engine, viewer.scope, picks, actor=viewer.actor,
                                  person=viewer.name, on=on, root=root)  # fmt: skip
    reason = plain_text("reason", form.reason.strip()[:500] or None)
    if form.action == "reject" and not reason:
        said = "不予受理须写明理由"
        raise ProblemError(422, said, [Problem("reason", said)])
    asked = [
        StepRequest(p.claim_id, actor=viewer.actor, person=viewer.name, on=on,
                    action=form.action, version=p.version, reason=reason)
        for p in picks
    ]  # fmt: skip
    return advance_many_in_scope(ctx.engine, viewer.scope, asked, root=root)


@post("/console/village/claims", guards=VILLAGE, sync_to_thread=True, status_code=200)
def claims_batch(
    ctx: CtxDep, viewer: ViewerDep, request: HtmlRequest,
    data: Annotated[BatchForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Template:  # fmt: skip
    """Take the action on each picked claim; the table with each one's result on its row (a
    form refused whole — nothing picked, no reason — is said above the table, kept as it was)."""
    name = "console/village/_claims.html" if is_htmx(request) else "console/village/claims.html"
    try:
        results = _act(ctx, viewer, data)
    except ProblemError as exc:
        waiting, rows = _rows(ctx, viewer, 0, {})
        view = problem_view(exc)
        return page(request, name, status=view.status, waiting=waiting, rows=rows, offset=0,
                    limit=PAGE, actions=ACTIONS, problem=view, form=data,
                    ticked=_ticked(data.pick))  # fmt: skip
    done = answers([p.claim_id for p in _picks(data.pick)], results, workflow(ctx))
    waiting, rows = _rows(ctx, viewer, 0, done)
    return page(request, name, waiting=waiting, rows=rows, offset=0, limit=PAGE,
                actions=ACTIONS, done=done, form=data)  # fmt: skip


ROUTES: list[Any] = [claims_page, claims_batch]
