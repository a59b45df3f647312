"""One chunk of subjects from engine result to plan: shared by the sweep and the live event path.

The sweep (`store.sweep.run`) and the event path (`store.events.apply`) decide what to write with
this one function, inside their write transaction after `lock_sweeps`, so that a subject
re-evaluated by an event and the same subject swept on the same date give the same rows, and a
sweep after an event finds nothing to change.

    program = compiled(catalogue, on, "household")            # cached per (hash, date, kind)
    result = run(program, chunk.population)
    stored = stored_decisions(result, chunk)
    chunk_plan = plan_chunk(session, chunk=chunk, result=result, stored=stored, on=on,
                            rule_hashes=rule_hashes)

`plan_outcome` is the same over an `Outcome`: decisions computed elsewhere (the Spark sweep).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import date

from sqlalchemy import Table, select
from sqlmodel import Session

from matcher.vector.engine import VectorCatalogue, VectorResult, compile_catalogue
from rules.catalogue import Catalogue
from store.sweep.columns import SubjectChunk, SubjectKeys
from store.sweep.decisions import EngineOutcome, Outcome, ended_decisions
from store.sweep.diff import Current, Decision, Key, Plan, plan
from store.sweep.order import SweepDateError
from store.sweep.writes import read_current
from store.tables.profiles import EnterpriseRow, HouseholdRow

__all__ = ["compiled", "plan_chunk", "plan_outcome", "stale_subjects"]


_TABLES: dict[str, Table] = {
    "household": HouseholdRow.__table__,  # type: ignore[attr-defined]  # SQLModel declares no __table__
    "enterprise": EnterpriseRow.__table__,  # type: ignore[attr-defined]  # SQLModel declares no __table__
}
_PROGRAMS: dict[tuple[str, date, str], VectorCatalogue] = {}
_KEEP = 16  # programs kept: a few dates of both kinds (a program is ≈ 1 MB at most)
_LOCK = threading.Lock()


def compiled(catalogue: Catalogue, on: date, kind: str) -> VectorCatalogue:
    """The vector program of `kind` at `on`, compiled once per (catalogue hash, date, kind) in
    the process; the oldest is dropped beyond a few."""
    key = (catalogue.version, on, kind)
    with _LOCK:
        found = _PROGRAMS.get(key)
    if found is not None:
        return found
    program = compile_catalogue(catalogue, on, kind)
    with _LOCK:
        _PROGRAMS[key] = program
        while len(_PROGRAMS) > _KEEP:
            del _PROGRAMS[next(iter(_PROGRAMS))]
    return program


def plan_chunk(
    session: Session,
    *,
    chunk: SubjectChunk,
    result: VectorResult,
    stored: list[Decision],
    on: date,
    rule_hashes: Mapping[str, str],
) -> Plan:
    """The rows to write for a chunk's result, diffed with its subjects' open intervals.

    Args:
        session: the write session (after `lock_sweeps`): the current state is read in it.
        chunk: the subjects evaluated.
        result: the engine's result over `chunk.population`.
        stored: `stored_decisions(result, chunk)`.
        on: the evaluation date (intervals close and open at it).
        rule_hashes: the rule hash of every policy in the catalogue.

    Raises:
        SweepDateError: a subject holds an interval from after `on` (history moves forward).
    """
    outcome = EngineOutcome(result, chunk, stored)
    return plan_outcome(session, chunk=chunk, outcome=outcome, on=on, rule_hashes=rule_hashes)


def plan_outcome(
    session: Session,
    *,
    chunk: SubjectKeys,
    outcome: Outcome,
    on: date,
    rule_hashes: Mapping[str, str],
) -> Plan:
    """The rows to write for a chunk's decisions, however computed (see `plan_chunk`).

    Raises:
        SweepDateError: a subject holds an interval from after `on` (history moves forward).
        Unrevised: `outcome` lacks the decision of a pair whose stored state is not ineligible.
    """
    kind = chunk.kind
    current = _of_chunk(
        read_current(session, kind=kind, first_id=chunk.first_id, last_id=chunk.last_id),
        chunk,
        on,
    )
    keep = [k for k, c in current.items() if c.state.status != "ineligible"]
    removed = {p for _, p in keep} - set(outcome.policy_ids)
    revised = (
        outcome.revised(keep) + ended_decisions(chunk, keep) + _withdrawn(chunk, keep, removed)
    )
    decided = _merged(outcome.stored, revised, outcome.policy_ids)
    planned = plan(decided, current, rule_hashes=rule_hashes, removed=removed)
    newly = {ch.decision.subject_id for ch in planned.changes if ch.kind == "newly_eligible"}
    planned.gates = outcome.gates(newly) if newly else {}
    return planned


def stale_subjects(session: Session, chunk: SubjectKeys) -> bool:
    """Whether a subject of the chunk changed since it was read (its profile hash moved).

    The sweep reads and evaluates a chunk before its write transaction takes the lock; an
    event committed in between must not be overwritten by the old profile's result, so the
    sweep then reads and evaluates the chunk again under the lock.
    """
    table = _TABLES[chunk.kind]
    c = table.c
    read = dict(zip(chunk.ids.tolist(), chunk.hashes, strict=True)) | dict(chunk.empty)
    now = session.connection().execute(
        select(c.id, c.profile_hash).where(c.id >= chunk.first_id, c.id <= chunk.last_id)
    )
    return any(read.get(r.id, r.profile_hash) != r.profile_hash for r in now)


def _of_chunk(current: dict[Key, Current], chunk: SubjectKeys, on: date) -> dict[Key, Current]:
    """The open intervals of the chunk's own subjects (the id range also holds subjects of other
    regions), after checking none starts after the date (history moves forward)."""
    subjects = set(chunk.ids.tolist()) | set(chunk.empty)
    mine = {k: c for k, c in current.items() if k[0] in subjects}
    late = [c.valid_from for c in mine.values() if c.valid_from > on]
    if late:
        what = {"household": "户", "enterprise": "企业"}.get(chunk.kind, chunk.kind)
        raise SweepDateError(
            f"--on {on}：本批{what}的享受记录已有始于 {max(late)} 的区间，晚于普查日期 {on}；"
            f"历史只能向前（history only moves forward）；应为 {max(late)} 或之后的日期"
        )
    return mine


def _withdrawn(chunk: SubjectKeys, keys: list[Key], removed: set[str]) -> list[Decision]:
    """Ineligible decisions ending the open intervals of policies the catalogue no longer has
    (households left without members end through `ended_decisions` already)."""
    if not removed:
        return []
    hashes = dict(zip(chunk.ids.tolist(), chunk.hashes, strict=True))
    return [
        Decision(s, p, "ineligible", None, "", (), None, hashes[s])
        for s, p in sorted(keys)
        if p in removed and s in hashes
    ]


def _merged(
    stored: list[Decision], revised: list[Decision], policy_ids: Sequence[str]
) -> list[Decision]:
    """Both lists in one order (subject, then policy column), so audit records come in order."""
    if not revised:
        return stored
    column = {pid: j for j, pid in enumerate(policy_ids)}
    last = len(column)  # removed policies after the catalogue's, by id
    return sorted(
        stored + revised,
        key=lambda d: (d.subject_id, column.get(d.policy_id, last), d.policy_id),
    )
