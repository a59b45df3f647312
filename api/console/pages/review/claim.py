"""`/console/claims/{id}`: one claim as the viewer may see it, and the steps they may take.

Shared by every role that reads claims (`store.scope.READS_CLAIMS`): the claim is
`store.claims.scoped.show_in_scope`'s (what `GET /api/claims/{id}` answers — a department sees
only its own parts, ID numbers masked), a claim outside the scope is a 404 page. The page shows
the form, each material and where it came from, why the subject qualifies
(`store.claims.reasons`), the parts, the open deadlines in working days and the audit trail;
and a button for each action `views.offers` finds the workflow allows the viewer now.

A step is `POST /console/claims/{id}/step` with the version the page showed (the claim's, or
the part's from the township check on): `store.claims.scoped.advance_in_scope`, as
`POST /api/claims/{id}/advance`. Done, the claim is shown again with what was done; refused,
the problem appears next to the buttons (htmx retargets it there), and when someone else
acted meanwhile (a conflict) with a link to reload the claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from litestar import get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Template

from api.auth import Caller
from api.console.pages.review import views
from api.console.web import HtmlRequest, ViewerDep, page, page_needs, problem_view
from api.context import Ctx
from api.deps import CtxDep
from api.params import IdPath
from api.problems import Problem, ProblemError, found
from api.routes.claims.common import known_action, plain_text, shown, workflow
from api.routes.claims.schemas import ClaimOut
from matcher.profiles.parse import RELATION_LABELS
from rules.clock import today
from rules.errors import ZhidaError
from store.claims.errors import ClaimError
from store.claims.reasons import claim_reasons
from store.claims.scoped import advance_in_scope
from store.claims.steps import StepRequest
from store.db import read_session
from store.scope import READS_CLAIMS

__all__ = ["claim_page", "step_form"]

READERS = tuple(sorted(READS_CLAIMS))


@dataclass
class StepForm:
    """One action's form: the action, the version shown, the part, what the action needs."""

    action: str = ""
    version: str = ""
    part: str = ""
    reason: str = ""
    payment_ref: str = ""
    step_on: str = ""


def _context(ctx: Ctx, viewer: Caller, claim: ClaimOut) -> dict[str, Any]:
    """What the claim's template shows."""
    wf = workflow(ctx)
    cal, day = views.calendar(ctx.root), today()
    sections = [s for p in claim.parts for s in p.sections]
    with read_session(ctx.engine) as session:
        reasons = claim_reasons(session, claim_id=claim.id, sections=sections,
                                catalogue=ctx.catalogue)  # fmt: skip
    bundle = ctx.catalogue.bundles.get(claim.bundle_id or "")
    deadlines = [
        {"what": views.due_step(wf, d["state"]), "part": d["part"],
         "due": views.due(date.fromisoformat(d["due_on"]), day, cal)}
        for d in claim.deadlines
    ]  # fmt: skip
    return {
        "claim": claim, "kind": views.KIND_LABELS.get(claim.kind, claim.kind),
        "region": views.region_label(claim.region), "offers": views.offers(wf, claim, viewer),
        "materials": views.material_rows(claim.materials), "reasons": reasons,
        "gate": bundle.spec.gate.says if bundle is not None else None,
        "steps": views.step_rows(wf, claim.steps), "deadlines": deadlines,
        "section_text": views.section_text, "relations": RELATION_LABELS,
        "state_label": wf.state_label, "back": views.BACK.get(viewer.role),
        "to_fix": views.to_fix(claim),
    }  # fmt: skip


def _claim(ctx: Ctx, viewer: Caller, claim_id: int) -> ClaimOut:
    return found(shown(ctx, viewer, claim_id), f"申领 {claim_id} ")


@get("/console/claims/{claim_id:int}", guards=[page_needs(*READERS)], sync_to_thread=True)
def claim_page(ctx: CtxDep, viewer: ViewerDep, request: HtmlRequest, claim_id: IdPath) -> Template:
    """The claim in full, with the viewer's buttons (404 outside the viewer's scope)."""
    claim = _claim(ctx, viewer, claim_id)
    return page(request, "console/review/claim.html", **_context(ctx, viewer, claim))


def _request(ctx: Ctx, viewer: Caller, claim_id: int, data: StepForm) -> StepRequest:
    """The step asked for, or a 422 naming the field that is wrong."""
    wf = workflow(ctx)
    known_action(wf, data.action)
    if not data.version.isdigit() or not 0 < int(data.version) < 2**31:
        said = f"{data.version[:20]!r}：应为页面显示时的版本号；请重新载入页面"
        raise ProblemError(422, f"version：{said}", [Problem("version", said)])
    reason = plain_text("reason", data.reason.strip()) or None
    needs = views.REASON_LABELS.get(data.action)
    if needs and reason is None:
        said = f"「{wf.action_label(data.action)}」须写明{needs}"
        raise ProblemError(422, said, [Problem("reason", said)])
    day = views.step_day(data.step_on)
    ref = plain_text("payment_ref", data.payment_ref.strip()) or None
    return StepRequest(
        claim_id=claim_id, actor=viewer.actor, person=viewer.name, on=day, action=data.action,
        department=plain_text("part", data.part) or None, reason=reason,
        version=int(data.version), payment_ref=ref, paid_on=day if data.action == "pay" else None,
    )  # fmt: skip


@post("/console/claims/{claim_id:int}/step", guards=[page_needs(*READERS)], sync_to_thread=True,
      status_code=200)  # fmt: skip
def step_form(
    ctx: CtxDep, viewer: ViewerDep, request: HtmlRequest, claim_id: IdPath,
    data: Annotated[StepForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Template:  # fmt: skip
    """Take the step; the claim again with what was done, or the problem by the buttons."""
    wf = workflow(ctx)
    try:
        done = advance_in_scope(ctx.engine, viewer.scope, _request(ctx, viewer, claim_id, data),
                                root=ctx.root)  # fmt: skip
    except ZhidaError as exc:
        problem = problem_view(exc)
        answer = page(request, "console/review/step_problem.html", status=problem.status,
                      problem=problem, claim_id=claim_id,
                      conflict=isinstance(exc, ClaimError) and exc.why == "conflict")  # fmt: skip
        answer.set_header("HX-Retarget", "#step-problem")
        answer.set_header("HX-Reswap", "innerHTML")
        return answer
    claim = _claim(ctx, viewer, claim_id)
    before = "、".join(wf.state_label(s) for s in done.from_state.split("/"))
    said = f"已办理「{wf.action_label(done.action)}」：{before} → {wf.state_label(done.to_state)}"
    return page(request, "console/review/claim_body.html", done=said,
                **_context(ctx, viewer, claim))  # fmt: skip
