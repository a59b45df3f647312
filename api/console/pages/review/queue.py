"""`/console/queue`: the claims waiting for the viewer's role, and batch steps on them.

The list is `store.claims.scoped.queue` (what `GET /api/claims` answers) in the viewer's scope:
filtered by state, kind, overdue and household/credit code, 20 to a page, each row with its
earliest open deadline in working days (overdue rows red, counted against `on`, default
today). A batch is `POST /api/claims/batch`'s: the same action on each claim picked, each in
its own transaction with the version the row showed; the rows are shown again with each
picked claim's result above them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from litestar import get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter, QueryParameter
from litestar.response import Template

from api.auth import Caller
from api.console.pages.review import views
from api.console.pages.review.queue_views import (
    QueueFilters,
    batch_actions,
    batch_picks,
    batch_value,
    queue_states,
)
from api.console.web import HtmlRequest, ViewerDep, is_htmx, page, page_needs, problem_view
from api.context import Ctx
from api.deps import CtxDep
from api.params import Offset
from api.problems import Problem, ProblemError
from api.routes.claims.common import known_action, plain_text, workflow
from api.routes.claims.schemas import queue_item
from matcher.profiles.masking import mask_ids_in_text
from rules.clock import today
from rules.errors import ZhidaError
from store.claims.scoped import advance_many_in_scope, queue
from store.claims.steps import StepDone, StepRequest
from store.db import read_session

__all__ = ["batch_form", "queue_page"]

LIMIT = 20
REVIEWERS = ("township", "county", "department")
FIELDS = frozenset({"claims", "action", "reason", "step_on"})  # problems shown beside the field


@dataclass
class BatchForm:
    """The batch form: the rows picked (`id:version`), the action, the reason, the day; and the
    queue's filters (sent along so the rows can be shown again as they were filtered)."""

    claims: list[str] | str = field(default_factory=list)
    action: str = ""
    reason: str = ""
    step_on: str = ""
    state: str = ""
    kind: str = ""
    overdue: str = ""
    subject: str = ""
    on: str = ""
    all: str = ""


def _rows(ctx: Ctx, viewer: Caller, filters: QueueFilters) -> dict[str, Any]:
    """What the rows template shows for `filters`."""
    wf = workflow(ctx)
    day = filters.on or today()
    with read_session(ctx.engine) as session:
        found = queue(session, viewer.scope, workflow=wf, today=day, waiting=filters.waiting,
                      state=filters.state, kind=filters.kind, subject=filters.subject,
                      overdue=filters.overdue, limit=LIMIT, offset=filters.offset)  # fmt: skip
    cal = views.calendar(ctx.root)
    shown = [(q, queue_item(q, wf.state_label)) for q in found.items]
    rows = [
        {"item": item, "name": q.claim.form.get("subject", {}).get("name"),
         "due": views.due(q.due_on, day, cal), "value": batch_value(wf, item, viewer.role),
         "region": views.region_label(q.claim.region), "states": queue_states(item)}
        for q, item in shown
    ]  # fmt: skip
    query = filters.query()
    return {
        "rows": rows, "total": found.total, "limit": LIMIT, "offset": filters.offset,
        "filters": filters, "base": "/console/queue" + (f"?{query}" if query else ""),
        "actions": batch_actions(wf, viewer.role), "day": day,
        "states": list(wf.spec.states.items()), "kinds": list(views.KIND_LABELS.items()),
        "kind_labels": views.KIND_LABELS,
    }  # fmt: skip


@get("/console/queue", guards=[page_needs(*REVIEWERS)], sync_to_thread=True)
def queue_page(
    ctx: CtxDep, viewer: ViewerDep, request: HtmlRequest,
    in_state: Annotated[str, QueryParameter(name="state", max_length=24)] = "",
    kind: Annotated[str, Parameter(max_length=16)] = "",
    overdue: Annotated[str, Parameter(max_length=8)] = "",
    subject: Annotated[str, Parameter(max_length=64)] = "",
    on: Annotated[str, Parameter(max_length=10)] = "",
    every: Annotated[str, QueryParameter(name="all", max_length=1)] = "",
    offset: Offset = 0,
) -> Template:  # fmt: skip
    """The queue (a whole page; for htmx — the filters — only the rows)."""
    filters = QueueFilters.read(workflow(ctx), state=in_state, kind=kind, overdue=overdue,
                                subject=subject, on=on, offset=offset, every=every)  # fmt: skip
    context = _rows(ctx, viewer, filters)
    # htmx restoring history (the Back button) wants the whole page, as a browser would
    rows_only = is_htmx(request)
    name = "console/review/queue_rows.html" if rows_only else "console/review/queue.html"
    answer = page(request, name, **context)
    answer.set_header("Vary", "HX-Request")  # one address, two answers: never cache one for both
    return answer


def _batch(ctx: Ctx, viewer: Caller, data: BatchForm) -> list[dict[str, Any]]:
    """The batch's steps, each claim's result (done, or why not) in the order picked."""
    wf = workflow(ctx)
    picked = [data.claims] if isinstance(data.claims, str) else list(data.claims)
    if not picked:
        raise ProblemError(422, "请先勾选要办理的申领", [Problem("claims", "请先勾选要办理的申领")])
    known_action(wf, data.action)
    offered = {a: reason for a, _, reason in batch_actions(wf, viewer.role)}
    if data.action not in offered:
        said = f"「{wf.action_label(data.action)}」不能在待办列表中批量办理"
        raise ProblemError(422, said, [Problem("action", said)])
    reason = plain_text("reason", data.reason.strip()) or None
    if offered[data.action] and reason is None:
        said = f"「{wf.action_label(data.action)}」须写明{offered[data.action]}"
        raise ProblemError(422, said, [Problem("reason", said)])
    day = views.step_day(data.step_on)
    picks = batch_picks(picked)
    requests = [
        StepRequest(claim_id=p.id, actor=viewer.actor, person=viewer.name, on=day,
                    action=data.action, reason=reason, version=p.version)
        for p in picks
    ]  # fmt: skip
    answers = advance_many_in_scope(ctx.engine, viewer.scope, requests, root=ctx.root)
    return [
        {"id": r.claim_id, "done": True, "said": wf.state_label(a.to_state)}
        if isinstance(a, StepDone)
        else {"id": r.claim_id, "done": False, "said": mask_ids_in_text(str(a)), "why": a.why}
        for r, a in zip(requests, answers, strict=True)
    ]  # fmt: skip


@post("/console/queue/batch", guards=[page_needs(*REVIEWERS)], sync_to_thread=True,
      status_code=200)  # fmt: skip
def batch_form(
    ctx: CtxDep, viewer: ViewerDep, request: HtmlRequest,
    data: Annotated[BatchForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Template:  # fmt: skip
    """The batch, then the rows again (filtered as they were) with each claim's result; a
    problem with the form itself (nothing picked, no reason) is shown beside the field."""
    filters = QueueFilters.read(workflow(ctx), state=data.state, kind=data.kind,
                                overdue=data.overdue, subject=data.subject, on=data.on,
                                offset=0, every=data.all)  # fmt: skip
    results, problem, status = None, None, 200
    try:
        results = _batch(ctx, viewer, data)
    except ZhidaError as exc:
        problem = problem_view(exc)
        status = problem.status
    context = _rows(ctx, viewer, filters)
    field_problem = problem is not None and bool(problem.paths) and problem.paths <= FIELDS
    return page(request, "console/review/queue_rows.html", status=status, results=results,
                problem=problem, field_problem=field_problem, form=data, **context)  # fmt: skip
