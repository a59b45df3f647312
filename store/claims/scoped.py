"""Claims as one login sees them: filtered by its `Scope` in SQL (the API's reads and steps).

    page = queue(session, scope, workflow=wf, today=date(2025, 3, 10), waiting=True, limit=50)
    view = show_in_scope(session, scope, 12)           # None outside the scope (404)
    done = advance_in_scope(engine, scope, request, root=root)

**Who sees which claims** (`store.scope`): a village its village's households', a township its
villages', a county and a supervisor their county's, an enterprise its own, a department its
county's claims **with a part of its department** — and of those it is shown only its own
parts (and the steps and deadlines of the claim as a whole or of its own parts). A claim
outside the scope is simply not found: `advance_in_scope` answers `not_found` (404) before the
workflow is asked, so the workflow's refusal (403) is never seen for a claim the caller cannot
see; a department naming another department's part gets `not_found` too.

**The queue** (`waiting=True`, the default) holds the claims waiting for the caller's role:
those whose state (while the claim moves as one) or one of whose parts' states (after the
township check) is one the workflow table lets the role act from, at that scope and for that
kind of subject (`rules.workflow.Workflow.next_actions`, `by.subjects`). Each claim carries its
earliest open deadline (`due_on`) and whether it has passed (`overdue`, against `today`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from sqlalchemy import ColumnElement, Engine, Table, and_, exists, false, func, or_, select
from sqlmodel import Session

from matcher.profiles.masking import mask_ids_in_data
from rules.workflow import Workflow
from store.claims.errors import ClaimError
from store.claims.reads import ClaimView, list_claims, show_claim
from store.claims.steps import CLAIM_LEVEL, StepDone, StepRequest, advance, advance_many
from store.db import read_session
from store.scope import Scope
from store.tables.claims import Claim, ClaimDeadline, ClaimPart

__all__ = [
    "QueuePage",
    "Queued",
    "advance_in_scope",
    "advance_many_in_scope",
    "queue",
    "show_in_scope",
    "visible_clause",
    "waiting_clause",
]

_CLAIM: Table = Claim.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_PART: Table = ClaimPart.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_DEADLINE: Table = ClaimDeadline.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__


@dataclass(frozen=True)
class Queued:
    """A claim in a queue, with its earliest open deadline."""

    claim: ClaimView
    due_on: date | None
    overdue: bool


@dataclass(frozen=True)
class QueuePage:
    """One page of a queue and how many claims the whole queue holds."""

    total: int
    items: list[Queued]


def visible_clause(scope: Scope) -> ColumnElement[bool]:
    """The claims `scope` may see, as a SQL condition on `claim`."""
    c, p = _CLAIM.c, _PART.c
    clause = scope.subject_clause(c.subject_kind, c.subject_key, c.region)
    if scope.role == "department":
        if not scope.department:
            return false()
        own = exists().where(p.claim_id == c.id, p.department == scope.department)
        return and_(clause, own)
    return clause


def waiting_clause(scope: Scope, workflow: Workflow) -> ColumnElement[bool]:
    """The claims waiting for `scope`'s role: a state (or a part's state) it can act from."""
    c, p = _CLAIM.c, _PART.c
    ors: list[ColumnElement[bool]] = []
    for t in workflow.spec.transitions:
        for by in t.by:
            if by.role != scope.role:
                continue
            subjects: list[ColumnElement[bool]] = (
                [c.subject_kind.in_(by.subjects)] if by.subjects else []
            )
            for state in t.from_:
                if "claim" in t.scope and state in CLAIM_LEVEL:
                    ors.append(and_(c.state == state, *subjects))
                if "part" in t.scope:
                    part = [p.claim_id == c.id, p.state == state]
                    if scope.role == "department":
                        part.append(p.department == scope.department)
                    ors.append(and_(c.state.not_in(CLAIM_LEVEL), exists().where(*part), *subjects))
    return or_(*ors) if ors else false()


def _deadline_clause(scope: Scope) -> ColumnElement[bool]:
    d = _DEADLINE.c
    open_ = [d.claim_id == _CLAIM.c.id, d.done_at.is_(None)]
    if scope.role == "department":
        open_.append(or_(d.part_id.is_(None), d.department == scope.department))
    return and_(*open_)


def _own_parts(view: ClaimView, scope: Scope) -> ClaimView:
    """The claim as the scope is shown it: a department only its own parts (and the claim's
    and its own parts' steps and deadlines); ID numbers masked in every text."""
    if scope.role == "department":
        mine = scope.department
        view = replace(
            view,
            parts=[x for x in view.parts if x.department == mine],
            steps=[s for s in view.steps if s["part"] in (None, mine)],
            deadlines=[d for d in view.deadlines if d["part"] in (None, mine)],
        )
    return replace(
        view,
        form=mask_ids_in_data(view.form),
        materials=mask_ids_in_data(view.materials),
        steps=mask_ids_in_data(view.steps),
    )


def queue(
    session: Session,
    scope: Scope,
    *,
    workflow: Workflow,
    today: date,
    waiting: bool = True,
    state: str | None = None,
    kind: str | None = None,
    subject: str | None = None,
    overdue: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> QueuePage:
    """A page of the claims `scope` sees (module docstring), by id.

    Args:
        session: a session.
        scope: the caller's scope.
        workflow: the transition table (what the role can act on).
        today: the day `overdue` is counted against.
        waiting: only the claims waiting for the role (False: every claim in the scope).
        state: a state the claim or one of its parts is in.
        kind: grant, claim or bundle.
        subject: a household number or credit code.
        overdue: only claims with (True) or without (False) an open deadline past `today`.
        limit: at most this many.
        offset: skip this many.

    Returns:
        The page, with the total.
    """
    c, p, d = _CLAIM.c, _PART.c, _DEADLINE.c
    where: list[ColumnElement[bool]] = [visible_clause(scope)]
    if waiting:
        where.append(waiting_clause(scope, workflow))
    if state is not None:
        mine = [p.claim_id == c.id, p.state == state]
        if scope.role == "department":
            mine.append(p.department == scope.department)
        where.append(or_(c.state == state, exists().where(*mine)))
    if kind is not None:
        where.append(c.kind == kind)
    if subject is not None:
        where.append(c.subject_key == subject)
    late = exists().where(_deadline_clause(scope), d.due_on < today)
    if overdue is not None:
        where.append(late if overdue else ~late)
    conn = session.connection()
    total = conn.execute(select(func.count()).select_from(_CLAIM).where(*where)).scalar_one()
    due = select(func.min(d.due_on)).where(_deadline_clause(scope)).scalar_subquery()
    rows = conn.execute(
        select(c.id, due.label("due_on")).where(*where).order_by(c.id).limit(limit).offset(offset)
    ).all()
    views = {v.id: v for v in list_claims(session, ids=[r.id for r in rows])} if rows else {}
    items = [
        Queued(_own_parts(views[r.id], scope), r.due_on, r.due_on is not None and r.due_on < today)
        for r in rows
    ]
    return QueuePage(int(total), items)


def show_in_scope(session: Session, scope: Scope, claim_id: int) -> ClaimView | None:
    """One claim in full as `scope` is shown it; None if unknown or outside the scope."""
    c = _CLAIM.c
    seen = (
        session.connection()
        .execute(select(c.id).where(c.id == claim_id, visible_clause(scope)))
        .first()
    )
    if seen is None:
        return None
    view = show_claim(session, claim_id)
    return None if view is None else _own_parts(view, scope)


def _not_found(claim_id: int) -> ClaimError:
    return ClaimError(f"申领 {claim_id} 不存在，或不在您的辖区内", why="not_found",
                      claim_id=claim_id)  # fmt: skip


def _visible_ids(engine: Engine, scope: Scope, ids: Sequence[int]) -> set[int]:
    c = _CLAIM.c
    with read_session(engine) as session:
        rows = session.connection().execute(
            select(c.id).where(c.id.in_(list(ids)), visible_clause(scope))
        )
        return {r.id for r in rows}


def _in_scope(req: StepRequest, scope: Scope, visible: set[int]) -> ClaimError | None:
    if req.claim_id not in visible:
        return _not_found(req.claim_id)
    if scope.role == "department" and req.department not in (None, scope.department):
        return ClaimError(
            f"申领 {req.claim_id} 没有您部门（{scope.department}）可办理的「{req.department}」"
            "分项；部门只办理本部门的分项",
            why="not_found", claim_id=req.claim_id,
        )  # fmt: skip
    return None


def advance_in_scope(engine: Engine, scope: Scope, req: StepRequest, *, root: Path) -> StepDone:
    """`store.claims.steps.advance` on a claim `scope` sees (else `not_found`, nothing asked
    of the workflow).

    Raises:
        ClaimError: not_found outside the scope; otherwise as `advance`.
    """
    refused = _in_scope(req, scope, _visible_ids(engine, scope, [req.claim_id]))
    if refused is not None:
        raise refused
    return advance(engine, req, root=root)


def advance_many_in_scope(
    engine: Engine, scope: Scope, requests: Sequence[StepRequest], *, root: Path
) -> list[StepDone | ClaimError]:
    """`advance_many` over the claims `scope` sees; each other claim answers `not_found`."""
    visible = _visible_ids(engine, scope, [r.claim_id for r in requests])
    asked = [r for r in requests if _in_scope(r, scope, visible) is None]
    done = iter(advance_many(engine, asked, root=root))
    out: list[StepDone | ClaimError] = []
    for req in requests:
        refused = _in_scope(req, scope, visible)
        out.append(refused if refused is not None else next(done))
    return out
