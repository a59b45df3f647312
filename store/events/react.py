"""The heart of the live event path: changed subjects → events → reactions → the sweep's writes.

`react_in` runs inside the caller's write transaction (after `lock_sweeps`, with the catalogue
published), so the profile change, the events, the entitlement changes, the outbox rows and
the deadlines commit or roll back together (RELIABILITY D1):

1. each changed subject's events: `profile_events(kind, before, after, on=…)`, or the events
   given (a deadline's); a subject whose profile changed always has one (`profile_changed`);
2. the events are recorded (`event` rows) with what the reactions (`Reactions.react`) called
   for;
3. every changed subject is re-evaluated on the date with the sweep's own machinery
   (`store.sweep.columns` loaders for these ids → the vector engine → `plan_chunk` →
   `write_plan`), whatever the actions say: the entitlements must stay what a sweep on that
   date would store. A `re-evaluate` action's `policies` says only what the reaction is about
   (what is reported), never what is written;
4. `notify` adds `notify` (["subject", "village"]) and `package` to the payload of the
   subject's notices; `end-from-date` gives the `no_longer_eligible` changes of its policies an
   `effective_on` (payments stop from then) and writes a deadline due that day whose event
   (`followons_end`) re-evaluates the subject when the due-deadline job fires it.

Dating: intervals open and close at the event's date, exactly as a sweep on that date would,
so a sweep on the same date finds every changed subject's result equal to its open interval
and writes nothing; `effective_on` is what the notice and the change say about payments, not
where the interval is cut. A date before a subject's latest interval, or before the latest
sweep of its region, is refused: the history only moves forward.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Table, func, insert, select
from sqlmodel import Session, col

from matcher.events.changes import profile_events
from matcher.events.reactions import Action, Event, Reactions, effective_date
from matcher.vector.engine import run
from rules.catalogue import Catalogue
from store.bulk import dialect_insert
from store.claims.specs import claim_specs
from store.events.changes import ProfileChangeError
from store.events.outcome import ActionDone, EventDone, Outcome, outbox_mark, read_written
from store.sweep.columns import load_enterprises, load_households, program_facts
from store.sweep.decisions import stored_decisions
from store.sweep.diff import Key, Plan
from store.sweep.evaluate import compiled, plan_chunk
from store.sweep.history import rule_hashes
from store.sweep.notes import PolicyNote, policy_notes
from store.sweep.writes import ChunkContext, write_plan
from store.tables.entitlements import Entitlement
from store.tables.events import DeadlineRow, EventRow
from store.tables.runs import SweepRun
from store.tables.types import utcnow

__all__ = ["EventSetup", "SubjectChange", "react_in"]

_EVENT: Table = EventRow.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_DEADLINE: Table = DeadlineRow.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_ENTITLEMENT: Table = Entitlement.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_LOADERS = {"household": load_households, "enterprise": load_enterprises}
_FOLLOW_ONS_END = "followons_end"  # the event a deadline of `end-from-date` raises


@dataclass(frozen=True)
class EventSetup:
    """What every event of one transaction shares."""

    catalogue: Catalogue
    root: Path
    reactions: Reactions
    on: date
    actor: str
    source: str  # "zhida profile set", "import households.xlsx rows 2–4", "deadline 12"
    version_id: int  # the published catalogue's row


@dataclass(frozen=True)
class SubjectChange:
    """One subject whose profile changed (documents as `store.ingest.documents` stores them),
    or for which `events` are given (a deadline's)."""

    kind: str
    subject_id: int
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    region: str | None
    profile_change_id: int | None = None
    source: str | None = None  # this subject's own source (an import row), else the setup's
    events: Sequence[Event] | None = None


@dataclass
class _Subject:
    change: SubjectChange
    events: list[tuple[int, Event, list[Action]]] = field(default_factory=list)

    @property
    def event_id(self) -> int:
        return self.events[0][0]

    def actions(self, verb: str) -> list[Action]:
        return [a for _, _, acts in self.events for a in acts if a.verb == verb]


_CACHE: dict[str, tuple[dict[str, str], dict[str, PolicyNote]]] = {}


def _catalogue_parts(catalogue: Catalogue) -> tuple[dict[str, str], dict[str, PolicyNote]]:
    """Rule hashes and notices' notes of a catalogue, worked out once per content hash."""
    if catalogue.version not in _CACHE:
        _CACHE[catalogue.version] = (rule_hashes(catalogue), policy_notes(catalogue))
    return _CACHE[catalogue.version]


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, date):
        return value.isoformat()
    return value


def _action_json(action: Action) -> dict[str, Any]:
    return {"verb": action.verb, "args": _jsonable(action.args), "reaction": action.reaction,
            "says": action.says}  # fmt: skip


def _refuse_the_past(session: Session, setup: EventSetup, changes: Sequence[SubjectChange]) -> None:
    """Refuse a date before a subject's latest interval or its region's latest sweep.

    Raises:
        ProfileChangeError: naming the date the history already reaches.
    """
    on, e = setup.on, _ENTITLEMENT.c
    for kind in {c.kind for c in changes}:
        ids = [c.subject_id for c in changes if c.kind == kind]
        latest = (
            session.connection()
            .execute(
                select(func.max(e.valid_from)).where(e.subject_kind == kind, e.subject_id.in_(ids))
            )
            .scalar()
        )
        if latest is not None and latest > on:
            _refuse(on, latest, "享受记录")
    sweeps = session.execute(
        select(col(SweepRun.region_prefix), func.max(col(SweepRun.on_date))).group_by(
            col(SweepRun.region_prefix)
        )
    ).all()
    for prefix, day in sweeps:
        for c in changes:
            region = c.region or ""
            if day > on and (region.startswith(prefix) or prefix.startswith(region)):
                _refuse(on, day, "普查")


def _refuse(on: date, day: date, what: str) -> None:
    raise ProfileChangeError(
        f"--on {on}：该对象的{what}已记到 {day}，历史只能向前（history only moves forward）；"
        f"应为 {day} 或之后的日期"
    )


def _record_events(session: Session, setup: EventSetup, subjects: list[_Subject]) -> None:
    """Insert the events with what the reactions call for; fills each subject's events."""
    rows, plan = [], []
    for s in subjects:
        c = s.change
        events = list(c.events) if c.events is not None else profile_events(
            c.kind, c.before, c.after or {}, on=setup.on
        )  # fmt: skip
        if not events:
            events = [Event("profile_changed", c.kind, {})]
        for event in events:
            actions = setup.reactions.react(event)
            plan.append((s, event, actions))
            rows.append({
                "subject_kind": c.kind, "subject_id": c.subject_id, "name": event.name,
                "on_date": setup.on, "attributes": _jsonable(event.attributes),
                "source": (c.source or setup.source)[:300],
                "profile_change_id": c.profile_change_id,
                "actions": [_action_json(a) for a in actions], "at": utcnow(),
            })  # fmt: skip
    stmt = insert(_EVENT).returning(_EVENT.c.id, sort_by_parameter_order=True)
    ids = [r.id for r in session.execute(stmt, rows)]
    for event_id, (s, event, actions) in zip(ids, plan, strict=True):
        s.events.append((event_id, event, actions))


def _payload_extra(s: _Subject) -> dict[str, Any]:
    extra: dict[str, Any] = {"events": [e.name for _, e, _ in s.events]}
    for a in s.actions("notify"):
        extra["notify"] = sorted(set(extra.get("notify", [])) | set(a.args.get("to", ())))
        extra["package"] = bool(extra.get("package")) or bool(a.args.get("package"))
    return extra


def _effective(s: _Subject, plan: Plan, on: date) -> dict[Key, date]:
    out = {}
    for a in s.actions("end-from-date"):
        due, policies = effective_date(str(a.args["from"]), on), set(a.args.get("policies", ()))
        for ch in plan.changes:
            d = ch.decision
            if d.subject_id == s.change.subject_id and ch.kind == "no_longer_eligible":
                if d.policy_id in policies:
                    out[d.key] = due
    return out


def _deadlines(session: Session, s: _Subject, on: date) -> None:
    """A deadline per `end-from-date` action due after `on` (idempotent per subject and day)."""
    for event_id, _, actions in s.events:
        for a in actions:
            if a.verb != "end-from-date":
                continue
            due = effective_date(str(a.args["from"]), on)
            if due <= on:
                continue
            session.execute(
                dialect_insert(session, _DEADLINE).on_conflict_do_nothing(),
                {"subject_kind": s.change.kind, "subject_id": s.change.subject_id,
                 "event_name": _FOLLOW_ONS_END, "due_on": due,
                 "details": {"policies": _jsonable(a.args.get("policies", ())),
                             "reaction": a.reaction, "says": a.says},
                 "state": "pending", "created_by_event_id": event_id, "created_at": utcnow()},
            )  # fmt: skip


def _reevaluate(session: Session, setup: EventSetup, kind: str, subjects: list[_Subject]) -> None:
    """The subjects of `kind` through the sweep's machinery, written with their events' ids."""
    catalogue, on = setup.catalogue, setup.on
    program = compiled(catalogue, on, kind)
    ids = [s.change.subject_id for s in subjects]
    chunk = _LOADERS[kind](
        session, on=on, region=None, after_id=0, limit=len(ids), facts=catalogue.facts,
        only=program_facts(program), ids=ids,
    )  # fmt: skip
    if chunk is None:
        return
    result = run(program, chunk.population)
    hashes, notes = _catalogue_parts(catalogue)
    plan = plan_chunk(
        session, chunk=chunk, result=result, stored=stored_decisions(result, chunk), on=on,
        rule_hashes=hashes,
    )  # fmt: skip
    effective: dict[Key, date] = {}
    for s in subjects:
        effective |= _effective(s, plan, on)
    ctx = ChunkContext(
        kind=kind, version_id=setup.version_id, catalogue_hash=catalogue.version,
        rule_hashes=hashes, on_date=on, run_id=None, actor=setup.actor, notes=notes,
        facts=catalogue.facts, event_ids={s.change.subject_id: s.event_id for s in subjects},
        extra={s.change.subject_id: _payload_extra(s) for s in subjects}, effective_on=effective,
        claims=claim_specs(catalogue),
    )  # fmt: skip
    write_plan(session=session, ctx=ctx, plan=plan)


def react_in(session: Session, *, setup: EventSetup, changes: Sequence[SubjectChange]) -> Outcome:
    """Record the events of `changes`, react, re-evaluate and write, in the caller's transaction.

    Args:
        session: a write session after `lock_sweeps`, with the profile changes already stored.
        setup: what the events share (catalogue, reactions, date, actor, source, version).
        changes: the changed subjects (each at most once per kind).

    Returns:
        The events, actions, entitlement changes, notices and deadlines written.

    Raises:
        ProfileChangeError: the date is before a subject's history (nothing may be kept).
    """
    if not changes:
        return Outcome()
    _refuse_the_past(session, setup, changes)
    mark = outbox_mark(session)
    subjects = [_Subject(c) for c in changes]
    _record_events(session, setup, subjects)
    for kind in ("household", "enterprise"):
        mine = [s for s in subjects if s.change.kind == kind]
        if mine:
            _reevaluate(session, setup, kind, mine)
    for s in subjects:
        _deadlines(session, s, setup.on)
    event_ids = [i for s in subjects for i, _, _ in s.events]
    out = read_written(session, event_ids, after_outbox=mark)
    for s in subjects:
        for event_id, event, actions in s.events:
            c = s.change
            out.events.append(EventDone(event_id, c.kind, c.subject_id, event.name,
                                        _jsonable(event.attributes)))  # fmt: skip
            out.actions += [
                ActionDone(event_id, a.verb, _jsonable(a.args), a.reaction, a.says) for a in actions
            ]
    return out
