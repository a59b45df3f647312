"""The entitlement sweep: every stored profile through the vectorised engine, chunk by chunk.

    start = begin_sweep(engine=db, catalogue=catalogue, root=root, on=day, region="5206")
    report = run_sweep(engine=db, start=start, catalogue=catalogue, chunk_size=20_000)

`begin_sweep` (`store.sweep.runs`) publishes the catalogue, then resumes the unfinished run with
the same (catalogue version, on-date, region prefix) or starts one. `run_sweep` reads
households, then enterprises, by keyset after the run's checkpoints (`store.sweep.columns`),
evaluates each chunk, diffs it with the open entitlement intervals (`store.sweep.diff`) and writes
the chunk's closed and opened intervals, changes, outbox rows, audit records and advanced
checkpoint in one transaction (`store.sweep.writes`). A SIGKILL at any point loses at most the
chunk in flight, which the next start redoes (RELIABILITY J3). The last transaction marks the
run done. An open interval of a policy the catalogue no longer has ends `no_longer_eligible`.

Where the chunks are read and evaluated is an `Evaluator`: `LocalEvaluator` (this process, the
default) or the Spark sweep's (`store.sweep.spark`, `zhida sweep --engine spark`), whose decisions
come back as an `Outcome` through the same diff, writes and checkpoints as the local ones. A chunk
whose profiles changed since it was evaluated is evaluated again here, under the lock, by the
local engine.

The next chunk is read and evaluated in a thread while this one is written (the reads touch no
state the writes change). The current state is read inside the write transaction, after
`lock_sweeps` (an advisory lock on PostgreSQL; `BEGIN IMMEDIATE` on SQLite), so two sweeps
never diff against the same stale state. Each chunk is read in one read session (a snapshot:
REPEATABLE READ on PostgreSQL), so an import committing meanwhile never pairs a household's
old facts with its new members.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from matcher.vector.engine import run
from rules.catalogue import Catalogue
from store.claims.specs import claim_specs
from store.db import read_session, write_session
from store.sweep.columns import SubjectKeys, load_enterprises, load_households, program_facts
from store.sweep.decisions import EngineOutcome, Outcome, Unrevised, stored_decisions
from store.sweep.diff import Plan
from store.sweep.evaluate import compiled, plan_outcome, stale_subjects
from store.sweep.notes import PolicyNote, policy_notes
from store.sweep.reads import read_ahead
from store.sweep.runs import (
    RegionError,
    SweepConflict,
    SweepDateError,
    SweepStart,
    advance_checkpoint,
    begin_sweep,
    finish_run,
    lock_sweeps,
    validate_region,
)
from store.sweep.writes import ChunkContext, write_plan
from store.tables.profiles import EnterpriseRow, HouseholdRow

__all__ = [
    "DEFAULT_CHUNK",
    "Evaluated",
    "Evaluator",
    "LocalEvaluator",
    "RegionError",
    "SweepConflict",
    "SweepDateError",
    "SweepReport",
    "SweepStart",
    "begin_sweep",
    "run_sweep",
    "validate_region",
]

DEFAULT_CHUNK = 20_000
_LOADERS = {"household": load_households, "enterprise": load_enterprises}
_TABLES: dict[str, type[HouseholdRow] | type[EnterpriseRow]] = {
    "household": HouseholdRow,
    "enterprise": EnterpriseRow,
}
Progress = Callable[[int, int], None]
Evaluated = tuple[SubjectKeys, Outcome]


class Evaluator(Protocol):
    """Where a sweep's chunks are read and evaluated."""

    def chunks(
        self,
        *,
        engine: Engine,
        start: SweepStart,
        catalogue: Catalogue,
        kind: str,
        after: int,
        chunk_size: int,
    ) -> Iterator[Evaluated]:
        """The subjects of `kind` after id `after`, `chunk_size` a chunk, with their decisions."""
        ...


class LocalEvaluator:
    """Chunks read from the database and evaluated in this process (each in a read session)."""

    def chunks(
        self,
        *,
        engine: Engine,
        start: SweepStart,
        catalogue: Catalogue,
        kind: str,
        after: int,
        chunk_size: int,
    ) -> Iterator[Evaluated]:
        """The subjects of `kind` after id `after`, `chunk_size` a chunk, with their decisions."""
        program = compiled(catalogue, start.on, kind)
        only = program_facts(program)
        while True:
            with read_session(engine) as session:
                chunk = _LOADERS[kind](
                    session, on=start.on, region=start.region, after_id=after,
                    limit=chunk_size, facts=catalogue.facts, only=only,
                )  # fmt: skip
            if chunk is None:
                return
            result = run(program, chunk.population)
            yield chunk, EngineOutcome(result, chunk, stored_decisions(result, chunk))
            after = chunk.last_id


@dataclass
class SweepReport:
    """A finished run: its counts (the whole run, resumed parts too) and this process's pace."""

    run_id: int
    counts: dict[str, Any]
    swept_here: dict[str, int] = field(default_factory=dict)  # by kind, by this process
    seconds_here: dict[str, float] = field(default_factory=dict)  # by kind, by this process

    def per_second(self, kind: str = "household") -> float:
        """Subjects of `kind` per second swept by this process (0 when it swept none)."""
        seconds = self.seconds_here.get(kind, 0.0)
        return self.swept_here.get(kind, 0) / seconds if seconds > 0 else 0.0


@dataclass
class _Sweeper:
    """One process sweeping one run: the checkpoints and counts it has committed."""

    engine: Engine
    start: SweepStart
    catalogue: Catalogue
    chunk_size: int
    progress: Progress | None
    evaluator: Evaluator = field(default_factory=LocalEvaluator)
    counts: dict[str, Any] = field(default_factory=dict)
    last: dict[str, int] = field(default_factory=dict)
    swept: dict[str, int] = field(default_factory=dict)
    total: int = 0
    notes: dict[str, PolicyNote] = field(default_factory=dict)  # once per run, not per notice

    def phase(self, kind: str) -> None:
        """Sweep every subject of `kind` after the checkpoint."""
        chunks = self.evaluator.chunks(
            engine=self.engine, start=self.start, catalogue=self.catalogue, kind=kind,
            after=self.last[kind], chunk_size=self.chunk_size,
        )  # fmt: skip
        for chunk, outcome in read_ahead(chunks):
            self.store(chunk, outcome)

    def store(self, chunk: SubjectKeys, outcome: Outcome) -> None:
        """Diff and write one chunk, advancing the checkpoint in the same transaction."""
        kind, start = chunk.kind, self.start
        with write_session(self.engine) as session:
            lock_sweeps(session)
            if stale_subjects(session, chunk):  # an event changed one since the chunk was read
                chunk, outcome = self.again(session, chunk)
            ctx = self.context(kind)
            try:
                chunk_plan = self.plan(session, chunk, outcome)
            except Unrevised:  # decided elsewhere before a state it lacks: decide it here
                chunk, outcome = self.again(session, chunk)
                chunk_plan = self.plan(session, chunk, outcome)
            write_plan(session=session, ctx=ctx, plan=chunk_plan)
            counts = _added(self.counts, kind, len(chunk.ids) + len(chunk.empty), chunk_plan)
            advance_checkpoint(
                session=session,
                run_id=start.run_id,
                kind=kind,
                expected=self.last[kind],
                to=chunk.last_id,
                counts=counts,
            )
        self.counts, self.last[kind] = counts, chunk.last_id
        self.swept[kind] = self.swept.get(kind, 0) + len(chunk.ids) + len(chunk.empty)
        if self.progress is not None:
            self.progress(sum(self.swept.values()), self.total)

    def plan(self, session: Session, chunk: SubjectKeys, outcome: Outcome) -> Plan:
        """The chunk's rows, diffed with the state read in the write transaction."""
        return plan_outcome(
            session, chunk=chunk, outcome=outcome, on=self.start.on,
            rule_hashes=self.start.rule_hashes,
        )  # fmt: skip

    def again(self, session: Session, chunk: SubjectKeys) -> Evaluated:
        """The chunk's subjects read and evaluated again here, in the write transaction."""
        program = compiled(self.catalogue, self.start.on, chunk.kind)
        ids = [*chunk.ids.tolist(), *chunk.empty]
        fresh = _LOADERS[chunk.kind](
            session, on=self.start.on, region=self.start.region, after_id=chunk.first_id - 1,
            limit=len(ids), facts=self.catalogue.facts, only=program_facts(program), ids=ids,
        )  # fmt: skip
        assert fresh is not None  # stored subjects are never deleted
        result = run(program, fresh.population)
        return fresh, EngineOutcome(result, fresh, stored_decisions(result, fresh))

    def context(self, kind: str) -> ChunkContext:
        """What the rows of a `kind` chunk share."""
        s = self.start
        return ChunkContext(
            kind=kind,
            version_id=s.version_id,
            catalogue_hash=s.catalogue_hash,
            rule_hashes=s.rule_hashes,
            on_date=s.on,
            run_id=s.run_id,
            actor=s.actor,
            notes=self.notes,
            facts=self.catalogue.facts,
            claims=claim_specs(self.catalogue),
        )


def _added(counts: dict[str, Any], kind: str, subjects: int, chunk_plan: Plan) -> dict[str, Any]:
    """The run's counts with one chunk's added (a new dict, committed with the checkpoint)."""
    out: dict[str, Any] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in counts.items()}
    out[f"{kind}s"] = out.get(f"{kind}s", 0) + subjects
    statuses = out.setdefault("entitlements", {})  # intervals opened, by status
    for d in chunk_plan.opened:
        statuses[d.status] = statuses.get(d.status, 0) + 1
    changes = out.setdefault("changes", {})
    for ch in chunk_plan.changes:
        changes[ch.kind] = changes.get(ch.kind, 0) + 1
    return out


def _remaining(engine: Engine, start: SweepStart) -> int:
    """Subjects left to sweep after the checkpoints (for progress)."""
    total = 0
    with read_session(engine) as session:
        for kind, table in _TABLES.items():
            after = start.after_household_id if kind == "household" else start.after_enterprise_id
            query = select(func.count()).select_from(table).where(col(table.id) > after)
            if start.region:
                region = col(table.region_code)
                query = query.where(region.startswith(start.region, autoescape=True))
            total += int(session.execute(query).scalar_one())
    return total


def run_sweep(
    *,
    engine: Engine,
    start: SweepStart,
    catalogue: Catalogue,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Progress | None = None,
    evaluator: Evaluator | None = None,
) -> SweepReport:
    """Sweep the run from its checkpoints to the end, then mark it done.

    Args:
        engine: the database.
        start: the run (`begin_sweep`).
        catalogue: the catalogue `start` published (the same content hash).
        chunk_size: subjects per chunk (and per transaction).
        progress: called with (swept by this process, to sweep) after each chunk.
        evaluator: where the chunks are read and evaluated (default: `LocalEvaluator`).

    Raises:
        SweepConflict: another process advanced or finished the run.
    """
    if catalogue.version != start.catalogue_hash:
        raise ValueError("run_sweep needs the catalogue begin_sweep published")
    sweeper = _Sweeper(
        engine, start, catalogue, chunk_size, progress, evaluator or LocalEvaluator(),
        counts=dict(start.counts),
    )  # fmt: skip
    sweeper.notes = policy_notes(catalogue)
    sweeper.last = {"household": start.after_household_id, "enterprise": start.after_enterprise_id}
    sweeper.total = _remaining(engine, start) if progress is not None else 0
    seconds = {}
    for kind in ("household", "enterprise"):
        began = time.perf_counter()
        sweeper.phase(kind)
        seconds[kind] = time.perf_counter() - began
    finish_run(engine=engine, start=start, counts=sweeper.counts)
    return SweepReport(start.run_id, sweeper.counts, sweeper.swept, seconds)
