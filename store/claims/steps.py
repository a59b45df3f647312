"""A step on a claim or on a department's part: decided by the workflow, compare-and-set on the
version, idempotent by key, audited, with the next step's deadline in working days.

    done = advance(engine, StepRequest(claim_id=12, to_state="village_accepted",
                                       actor=actor_of(session=s, name="李村干"), person="李村干",
                                       on=date(2025, 3, 3)), root=Path("policies"))

**Scope.** Until the township check a claim moves as one (`claim.state`; its parts follow):
prepared, confirmed, village_accepted, returned. From `township_checked` (and `granted`) each
department's part moves on its own: the part is the request's `department`, else the acting
department user's own, else every part in a state the asked step can be taken from (a village
resubmitting, a township checking again after a department's return).

**Order of checks.** The claim exists (else `not_found`, as for a claim outside the caller's
scope: the API answers 404); a key already used on the claim replays the first answer (the same
step; another step under the same key is `invalid`); an expected `version` that moved is a
`conflict`; the step asked for must lead from the current state (`invalid`, naming the steps
that can); `Workflow.decide` (role, region, department, reason, separation of duties) else
`refused`; then `UPDATE … WHERE id=:id AND state=:from AND version=:v` — a rowcount ≠ 1 is a
`conflict` (two approvers racing: one wins, RELIABILITY S2). The new state's deadline is counted
in working days (`rules.workdays`); a year whose holidays are unknown refuses the step
(`calendar`) rather than store a guessed date. Every refusal of the workflow is audited too
(`claim.refused`, RELIABILITY D7), in its own transaction, since the step's rolls back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, insert, select, update
from sqlmodel import Session

from matcher.profiles.masking import mask_ids_in_text
from rules.workdays import CalendarUnknown, WorkCalendar
from rules.workflow import Actor, Step, Workflow
from store.audit.log import AuditEntry, append, inputs_hash
from store.claims.errors import ClaimError
from store.db import read_session, write_session
from store.tables.catalogue import CatalogueVersion
from store.tables.claims import Claim, ClaimDeadline, ClaimPart, ClaimStep
from store.tables.types import utcnow

__all__ = [
    "CLAIM_LEVEL",
    "StepDone",
    "StepRequest",
    "advance",
    "advance_many",
    "close_deadlines",
    "take_step",
]

_CLAIM: Table = Claim.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_PART: Table = ClaimPart.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_STEP: Table = ClaimStep.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_DEADLINE: Table = ClaimDeadline.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_VERSION: Table = CatalogueVersion.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
# The states at which a claim moves as one; from the others its parts move on their own.
CLAIM_LEVEL = ("prepared", "confirmed", "village_accepted", "returned", "rejected", "withdrawn")


@dataclass(frozen=True)
class StepRequest:
    """One step asked for: by the state it leads to (or the action), by whom, on which date."""

    claim_id: int
    actor: Actor
    person: str  # the user's name (the actor's `user` is a credit code for an enterprise)
    on: date
    to_state: str | None = None
    action: str | None = None
    department: str | None = None  # the part acted on (default: the actor's department)
    reason: str | None = None
    key: str | None = None  # idempotency key: the same key replays the first answer
    version: int | None = None  # the version the caller saw; a moved claim is a conflict
    payment_ref: str | None = None  # `pay`: the department's payment reference
    paid_on: date | None = None


@dataclass(frozen=True)
class StepDone:
    """A step taken (or replayed for its key)."""

    claim_id: int
    part_ids: tuple[int, ...]
    action: str
    from_state: str
    to_state: str
    replayed: bool = False


def _masked(text: str | None, limit: int = 500) -> str | None:
    """A free text as stored: ID numbers in it masked (RELIABILITY P1), at most `limit` long."""
    return mask_ids_in_text(text)[:limit] if text and text.strip() else None


@cache
def _rules(root: Path) -> tuple[Workflow, WorkCalendar]:
    return Workflow.load(root), WorkCalendar.load(root)


def _actor(r: Any) -> Actor:
    return Actor(r.actor, r.role, r.region, r.department)


def _history(steps: Sequence[Any]) -> list[Step]:
    """Every step of the claim, its parts' included: a person who approved one department's
    part never checks another part of the same claim (separation of duties is per claim)."""
    return [Step(s.action, _actor(s), s.from_state) for s in steps]


def _dated(req: StepRequest, head: Any, state: str, workflow: Workflow) -> None:
    """A step is never dated before the claim (or part) entered its state; a payment never
    before the approval it pays."""
    for day, option in ((req.on, "--on"), (req.paid_on, "发放日期")):
        if day is not None and day < head.entered_on:
            raise ClaimError(
                f"申领 {req.claim_id}：{option} {day} 早于其进入「{workflow.state_label(state)}」"
                f"的日期 {head.entered_on}；应为 {head.entered_on} 或之后",
                why="invalid", claim_id=req.claim_id,
            )  # fmt: skip


def _replayed(session: Session, req: StepRequest) -> StepDone | None:
    if req.key is None:
        return None
    s = _STEP.c
    row = (
        session.connection()
        .execute(select(_STEP).where(s.claim_id == req.claim_id, s.idempotency_key == req.key))
        .first()
    )
    if row is None:
        return None
    same = (req.action in (None, row.action)) and (req.to_state in (None, row.to_state))
    if not same or row.actor != req.actor.user:
        raise ClaimError(
            f"申领 {req.claim_id}：幂等键 {req.key!r} 已用于另一操作（{row.action} → "
            f"{row.to_state}，由 {row.person or row.actor} 办理）；应换一个新的键",
            why="invalid", claim_id=req.claim_id,
        )  # fmt: skip
    parts = session.connection().execute(
        select(s.part_id).where(s.claim_id == req.claim_id, s.at == row.at, s.action == row.action)
    )
    ids = tuple(sorted(p.part_id for p in parts if p.part_id is not None))
    return StepDone(req.claim_id, ids, row.action, row.from_state, row.to_state, replayed=True)


def _action(wf: Workflow, req: StepRequest, state: str, scope: str, part: str | None) -> str:
    if req.action is not None:
        return req.action
    rows = [t for t in wf.next_actions(state, scope) if t.to == req.to_state]
    if rows:
        return rows[0].action
    known = req.to_state in wf.spec.states
    can = "、".join(
        dict.fromkeys(f"「{wf.state_label(t.to)}」({t.to})" for t in wf.next_actions(state, scope))
    )
    label = wf.state_label(req.to_state or "")
    wanted = f"「{label}」" if known else f"{req.to_state!r}（未知状态）"
    raise ClaimError(
        f"申领 {req.claim_id}{f'的「{part}」分项' if part else ''}处于「{wf.state_label(state)}」，"
        f"不能转到{wanted}；"
        + (f"此时可转到：{can}" if can else "此时已不能再办理"),
        why="invalid", claim_id=req.claim_id,
    )  # fmt: skip


def _targets(parts: Sequence[Any], req: StepRequest, wf: Workflow) -> list[Any]:
    """The parts a part-scope step acts on (module docstring)."""
    department = req.department or req.actor.department
    if department is not None:
        mine = [p for p in parts if p.department == department]
        if not mine:
            names = "、".join(p.department for p in parts)
            raise ClaimError(
                f"申领 {req.claim_id} 没有「{department}」的分项；其分项为：{names}",
                why="not_found", claim_id=req.claim_id,
            )  # fmt: skip
        return mine
    movable = [
        p for p in parts
        if any(req.action in (None, t.action) and req.to_state in (None, t.to)
               for t in wf.next_actions(p.state, "part"))
    ]  # fmt: skip
    return movable or list(parts)


def close_deadlines(session: Session, claim_id: int, part_id: int | None = None) -> None:
    """Mark done the open deadlines of a part, or (no part) of the whole claim: its step was
    taken, or the system withdrew it."""
    d = _DEADLINE.c
    query = update(_DEADLINE).where(d.claim_id == claim_id, d.done_at.is_(None))
    if part_id is not None:
        query = query.where(d.part_id == part_id)
    session.connection().execute(query.values(done_at=utcnow()))


def _deadlines(
    session: Session, wf: WorkCalendar | None, workflow: Workflow, claim: Any, part: int | None,
    part_rows: Sequence[tuple[int | None, str | None, int]], to_state: str, on: date,
) -> None:  # fmt: skip
    """Close the claim's (or parts') open deadlines; open the new state's, if it has one."""
    close_deadlines(session, claim.id, part)
    days = workflow.deadline_days(to_state)
    if days is None or wf is None:
        return
    try:
        due, remind = wf.add_workdays(on, days), wf.add_workdays(on, max(days - 1, 0))
    except CalendarUnknown as exc:
        raise ClaimError(
            f"申领 {claim.id}：无法计算「{workflow.state_label(to_state)}」的承诺时限：{exc}",
            why="calendar", claim_id=claim.id,
        ) from exc  # fmt: skip
    rows = [
        {"claim_id": claim.id, "part_id": part, "state": to_state, "version": version,
         "region": claim.region, "department": dept, "entered_on": on, "due_on": due,
         "remind_on": remind}
        for part, dept, version in part_rows
    ]  # fmt: skip
    session.connection().execute(insert(_DEADLINE), rows)


def take_step(session: Session, req: StepRequest, *, root: Path) -> StepDone:
    """Take one step in the caller's write transaction (module docstring for the checks).

    Raises:
        ClaimError: not_found, invalid, conflict, refused or calendar; nothing was written.
    """
    workflow, calendar = _rules(root)
    conn = session.connection()
    c, p, s = _CLAIM.c, _PART.c, _STEP.c
    v = _VERSION.c  # the claim with its catalogue's content hash (for the audit), one read
    claim = conn.execute(
        select(_CLAIM, v.content_hash.label("catalogue_hash"))
        .join(_VERSION, v.id == c.catalogue_version_id)
        .where(c.id == req.claim_id)
    ).first()
    if claim is None:
        raise ClaimError(f"申领 {req.claim_id} 不存在，或不在你的辖区", why="not_found",
                         claim_id=req.claim_id)  # fmt: skip
    replay = _replayed(session, req)
    if replay is not None:
        return replay
    parts = conn.execute(select(_PART).where(p.claim_id == claim.id).order_by(p.id)).all()
    steps = conn.execute(select(_STEP).where(s.claim_id == claim.id).order_by(s.id)).all()
    scope = "claim" if claim.state in CLAIM_LEVEL else "part"
    targets = [None] if scope == "claim" else _targets(parts, req, workflow)
    if req.version is not None and len(targets) > 1:
        names = "、".join(p.department for p in targets if p is not None)
        raise ClaimError(
            f"申领 {claim.id}：版本号只对应整件申领或一个部门分项，此次将办理多个分项（{names}）；"
            "应指明部门（--dept）",
            why="invalid", claim_id=claim.id,
        )  # fmt: skip
    now, done_parts, froms, action, to_state = utcnow(), [], set(), "", ""
    for part in targets:
        head = claim if part is None else part
        state, version = head.state, head.version
        # the version the caller saw: the claim's, or its one part's for a part step
        if req.version is not None and len(targets) == 1 and req.version != version:
            raise _moved(req, version, workflow.state_label(state))
        action = _action(workflow, req, state, scope, None if part is None else part.department)
        _dated(req, head, state, workflow)
        if action == "pay" and not (req.payment_ref or "").strip():
            raise ClaimError(
                f"申领 {claim.id}：发放须给出发放凭证号"
                "（--payment-ref，或发放文件的「发放凭证号」列）",
                why="invalid", claim_id=claim.id,
            )  # fmt: skip
        decision = workflow.decide(
            state=state, action=action, actor=req.actor, claim_region=claim.region,
            part_department=None if part is None else part.department,
            history=_history(steps), reason=req.reason, claim_subject=claim.subject_key,
            subject_kind=claim.subject_kind,
        )  # fmt: skip
        if not decision.ok:
            raise ClaimError(f"申领 {claim.id}：{decision.refusal}", why="refused",
                             claim_id=claim.id)  # fmt: skip
        to_state = decision.to_state or ""
        table, col_ = (_CLAIM, c) if part is None else (_PART, p)
        values: dict[str, Any] = {"state": to_state, "version": version + 1, "entered_on": req.on}
        values["updated_at"] = now
        if part is not None and action == "pay":
            values |= {
                "paid_on": req.paid_on or req.on,
                "payment_ref": _masked(req.payment_ref, 120),
            }
        if part is not None and to_state in ("withdrawn", "rejected") and req.reason:
            values["end_reason"] = _masked(req.reason)
        moved = conn.execute(
            update(table).where(col_.id == (claim.id if part is None else part.id),
                                col_.state == state, col_.version == version).values(**values)
        )  # fmt: skip
        if moved.rowcount != 1:
            raise ClaimError(
                f"申领 {claim.id} 已被他人同时办理（状态或版本已变）："
                "本次未作任何更改，请刷新后重试",
                why="conflict", claim_id=claim.id,
            )  # fmt: skip
        froms.add(state)
        if part is None:  # the parts follow the claim
            followers = [x for x in parts if x.state == state]
            for x in followers:
                conn.execute(
                    update(_PART).where(p.id == x.id, p.version == x.version)
                    .values(state=to_state, version=x.version + 1, entered_on=req.on,
                            updated_at=now)
                )  # fmt: skip
            per_part = to_state not in CLAIM_LEVEL
            rows = ([(x.id, x.department, x.version + 1) for x in followers] if per_part
                    else [(None, None, version + 1)])  # fmt: skip
        else:
            done_parts.append(part.id)
            rows = [(part.id, part.department, version + 1)]
        _deadlines(session, calendar, workflow, claim, None if part is None else part.id, rows,
                   to_state, req.on)  # fmt: skip
        conn.execute(insert(_STEP), {
            "claim_id": claim.id, "part_id": None if part is None else part.id,
            "action": action, "from_state": state, "to_state": to_state,
            "actor": req.actor.user, "person": None if req.person == req.actor.user else req.person,
            "role": req.actor.role, "region": req.actor.region,
            "department": req.actor.department, "on_behalf": decision.on_behalf,
            "reason": _masked(req.reason), "on_date": req.on,
            "idempotency_key": req.key if part is None or part.id == done_parts[0] else None,
            "at": now,
        })  # fmt: skip
        append(session=session, entry=AuditEntry(
            actor=req.person, action=f"claim.{action}", subject=f"claim:{claim.id}",
            catalogue_hash=claim.catalogue_hash,
            inputs_hash=inputs_hash({"claim": claim.id, "version": version, "state": state,
                                     "form": claim.form, "materials": claim.materials}),
            details={"actor": req.actor.user, "role": req.actor.role, "region": req.actor.region,
                     "department": req.actor.department, "on_behalf": decision.on_behalf,
                     "reason": _masked(req.reason), "from": state, "to": to_state,
                     "part": None if part is None else part.department,
                     "payment_ref": _masked(req.payment_ref), "key": req.key},
        ))  # fmt: skip
    return StepDone(claim.id, tuple(done_parts), action, "/".join(sorted(froms)), to_state)


def _audit_refusal(engine: Engine, req: StepRequest, exc: ClaimError) -> None:
    with write_session(engine) as session:
        append(session=session, entry=AuditEntry(
            actor=req.person, action="claim.refused", subject=f"claim:{req.claim_id}",
            details={"actor": req.actor.user, "role": req.actor.role, "region": req.actor.region,
                     "department": req.actor.department, "asked": req.action or req.to_state,
                     "refusal": str(exc)},
        ))  # fmt: skip


def _moved(req: StepRequest, version: int, state: str) -> ClaimError:
    """The conflict of a step asked on a version that has moved (state: its Chinese label)."""
    return ClaimError(
        f"申领 {req.claim_id} 已被他人办理（你看到的是第 {req.version} 版，"
        f"现为第 {version} 版，状态「{state}」）：请刷新后重试",
        why="conflict", claim_id=req.claim_id,
    )  # fmt: skip


def _stale_before_locking(engine: Engine, req: StepRequest, root: Path) -> None:
    """A claim-level step whose expected version already moved is a conflict, found in a read
    transaction: a loser of a race (or a stale batch) never queues for the write lock. The
    compare-and-set inside the write transaction still decides every race this lets through.
    A key already used on the claim is left to `take_step`, which replays its answer."""
    if req.version is None or req.key is not None:
        return
    c = _CLAIM.c
    with read_session(engine) as session:
        row = (
            session.connection()
            .execute(select(c.state, c.version).where(c.id == req.claim_id))
            .first()
        )
    if row is not None and row.state in CLAIM_LEVEL and row.version != req.version:
        raise _moved(req, row.version, _rules(root)[0].state_label(row.state))


def advance(engine: Engine, req: StepRequest, *, root: Path) -> StepDone:
    """Take one step in its own transaction; a workflow refusal is audited, then raised.

    Args:
        engine: the database.
        req: the step asked for.
        root: the policies folder (its workflow.yaml and holidays.yaml).

    Returns:
        The step taken, or the first answer replayed for the request's key.

    Raises:
        ClaimError: see `take_step`; nothing of the step was written.
    """
    try:
        _stale_before_locking(engine, req, root)
        with write_session(engine) as session:
            return take_step(session, req, root=root)
    except ClaimError as exc:
        if exc.why == "refused":
            _audit_refusal(engine, req, exc)
        raise


def advance_many(
    engine: Engine, requests: Sequence[StepRequest], *, root: Path
) -> list[StepDone | ClaimError]:
    """Take each step in its own transaction; one claim's refusal never stops the others."""
    out: list[StepDone | ClaimError] = []
    for req in requests:
        try:
            out.append(advance(engine, req, root=root))
        except ClaimError as exc:
            out.append(exc)
    return out
