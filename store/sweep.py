"""The entitlement sweep: every stored profile through the vectorised engine, chunk by chunk.

    start = begin_sweep(engine=db, catalogue=catalogue, root=root, on=day, region="5206")
    report = run_sweep(engine=db, start=start, catalogue=catalogue, chunk_size=20_000)

`begin_sweep` publishes the catalogue, then resumes the unfinished run with the same (catalogue
version, on-date, region prefix) if there is one, else starts a new run (audited `sweep.start`).
`run_sweep` reads households, then enterprises, by keyset after the run's checkpoints
(`store.profile_columns`), evaluates each chunk, diffs it with the current state (`store.diff`)
and writes the chunk's entitlements, changes, outbox rows, current state, audit records and the
advanced checkpoint in one transaction (`store.sweep_writes`). A SIGKILL at any point loses
at most the chunk in flight, which the next start redoes (RELIABILITY J3). The last transaction
marks the run done (audited `sweep.done` with its counts).

Only one process advances a run: the checkpoint moves by compare-and-set, and on PostgreSQL
every chunk transaction takes one advisory lock, so two sweeps never diff against the same
stale state. On SQLite, `BEGIN IMMEDIATE` serialises them.

Exceptions: `RegionError` (a `ValueError`) for a region prefix that is not 1–12 digits;
`SweepConflict` when another process advanced the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, text, update
from sqlmodel import Session

from matcher.vector import VectorResult, compile_catalogue, run
from rules.catalogue import Catalogue
from store.audit import AuditEntry, append
from store.catalogues import publish_catalogue
from store.db import is_postgres, read_session, write_session
from store.decisions import decisions
from store.diff import Plan, plan
from store.models.profiles import EnterpriseRow, HouseholdRow
from store.models.runs import SweepRun
from store.models.types import utcnow
from store.profile_columns import SubjectChunk, load_enterprises, load_households, program_facts
from store.sweep_writes import ChunkContext, read_current, write_plan

__all__ = [
    "RegionError",
    "SweepConflict",
    "SweepReport",
    "SweepStart",
    "begin_sweep",
    "run_sweep",
    "validate_region",
]

DEFAULT_CHUNK = 20_000
_LOCK = 0x7A68_6964_6177_6565  # pg_advisory_xact_lock key shared by every sweep ("zhidawee")
_LOADERS = {"household": load_households, "enterprise": load_enterprises}
_TABLES = {"household": HouseholdRow, "enterprise": EnterpriseRow}
Progress = Callable[[int, int], None]


class RegionError(ValueError):
    """A region prefix that is not 1–12 ASCII digits."""


class SweepConflict(RuntimeError):
    """Another process advanced or finished the run this process was sweeping."""


def validate_region(prefix: str | None) -> str | None:
    """The region prefix as given, or None for every region.

    Raises:
        RegionError: unless it is 1–12 ASCII digits (a GB/T 2260 code or its beginning).
    """
    if prefix is None or prefix == "":
        return None
    if len(prefix) > 12 or not (prefix.isascii() and prefix.isdigit()):
        raise RegionError(
            f"--region {prefix!r}: a region prefix is 1–12 digits, the beginning of a 12-digit "
            "region code (e.g. 52 for a province, 520602 for a county); leave it out to sweep "
            "every region"
        )
    return prefix


@dataclass(frozen=True)
class SweepStart:
    """A run ready to sweep: new, or resumed after its checkpoints."""

    run_id: int
    version_id: int
    catalogue_hash: str
    on: date
    region: str | None
    resumed: bool
    after_household_id: int
    after_enterprise_id: int
    counts: dict[str, Any]
    actor: str


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


def begin_sweep(
    *,
    engine: Engine,
    catalogue: Catalogue,
    root: Path,
    on: date,
    region: str | None,
    actor: str = "cli",
) -> SweepStart:
    """Publish the catalogue, then resume the matching unfinished run or start one.

    Raises:
        RegionError: a region prefix that is not digits.
    """
    prefix = validate_region(region) or ""
    with write_session(engine) as session:
        if is_postgres(engine):  # one start at a time: no two runs for the same inputs
            session.execute(text("LOCK TABLE sweep_run IN SHARE ROW EXCLUSIVE MODE"))
        version = publish_catalogue(session=session, catalogue=catalogue, root=root, actor=actor)
        assert version.id is not None
        found = (
            session.execute(
                select(SweepRun)
                .where(
                    SweepRun.catalogue_version_id == version.id,
                    SweepRun.on_date == on,
                    SweepRun.region_prefix == prefix,
                    SweepRun.state == "running",
                )
                .order_by(SweepRun.id.desc())  # type: ignore[union-attr]
            )
            .scalars()
            .first()
        )
        row = (
            found
            if found is not None
            else _new_run(session, version.id, catalogue, on, prefix, actor)
        )
        return SweepStart(
            run_id=row.id,
            version_id=version.id,
            catalogue_hash=catalogue.version,
            on=on,
            region=prefix or None,
            resumed=found is not None,
            after_household_id=row.last_household_id,
            after_enterprise_id=row.last_enterprise_id,
            counts=dict(row.counts),
            actor=actor,
        )


def _new_run(
    session: Session, version_id: int, catalogue: Catalogue, on: date, prefix: str, actor: str
) -> SweepRun:
    row = SweepRun(
        catalogue_version_id=version_id, on_date=on, region_prefix=prefix, actor=actor, counts={}
    )
    session.add(row)
    session.flush()
    entry = AuditEntry(
        actor=actor,
        action="sweep.start",
        subject=f"sweep:{row.id}",
        catalogue_hash=catalogue.version,
        details={"on_date": on.isoformat(), "region": prefix},
    )
    append(session=session, entry=entry)
    return row


@dataclass
class _Sweeper:
    """One process sweeping one run: the checkpoints and counts it has committed."""

    engine: Engine
    start: SweepStart
    catalogue: Catalogue
    chunk_size: int
    progress: Progress | None
    counts: dict[str, Any] = field(default_factory=dict)
    last: dict[str, int] = field(default_factory=dict)
    swept: dict[str, int] = field(default_factory=dict)
    total: int = 0

    def phase(self, kind: str) -> None:
        """Sweep every subject of `kind` after the checkpoint."""
        program = compile_catalogue(self.catalogue, self.start.on, kind)
        only = program_facts(program)
        while True:
            with read_session(self.engine) as session:
                chunk = _LOADERS[kind](
                    session,
                    on=self.start.on,
                    region=self.start.region,
                    after_id=self.last[kind],
                    limit=self.chunk_size,
                    facts=self.catalogue.facts,
                    only=only,
                )
            if chunk is None:
                return
            self.store(chunk, run(program, chunk.population))

    def store(self, chunk: SubjectChunk, result: VectorResult) -> None:
        """Diff and write one chunk, advancing the checkpoint in the same transaction."""
        kind, start = chunk.kind, self.start
        ctx = ChunkContext(
            kind=kind,
            version_id=start.version_id,
            catalogue_hash=start.catalogue_hash,
            on_date=start.on,
            run_id=start.run_id,
            actor=start.actor,
        )
        with write_session(self.engine) as session:
            if is_postgres(self.engine):
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
            current = read_current(
                session, kind=kind, first_id=int(chunk.ids[0]), last_id=chunk.last_id
            )
            keep = [k for k, c in current.items() if c.state.status != "ineligible"]
            chunk_plan = plan(
                decisions(result, chunk, keep),
                current,
                catalogue_version_id=start.version_id,
                on_date=start.on,
            )
            write_plan(session=session, ctx=ctx, plan=chunk_plan)
            counts = _added(self.counts, kind, len(chunk.ids), chunk_plan)
            self.checkpoint(session, kind, chunk.last_id, counts)
        self.counts, self.last[kind] = counts, chunk.last_id
        self.swept[kind] = self.swept.get(kind, 0) + len(chunk.ids)
        if self.progress is not None:
            self.progress(sum(self.swept.values()), self.total)

    def checkpoint(self, session: Session, kind: str, last_id: int, counts: dict[str, Any]) -> None:
        """Compare-and-set the run's checkpoint from what this process last committed."""
        column = getattr(SweepRun, f"last_{kind}_id")
        moved = session.execute(
            update(SweepRun)
            .where(SweepRun.id == self.start.run_id, SweepRun.state == "running")
            .where(column == self.last[kind])
            .values({column: last_id, "counts": counts})
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            raise SweepConflict(
                f"sweep run {self.start.run_id} was advanced by another process; "
                "let that one finish (or restart this one to resume from its checkpoint)"
            )


def _added(counts: dict[str, Any], kind: str, subjects: int, chunk_plan: Plan) -> dict[str, Any]:
    """The run's counts with one chunk's added (a new dict, committed with the checkpoint)."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in counts.items()}
    out[f"{kind}s"] = out.get(f"{kind}s", 0) + subjects
    statuses = out.setdefault("entitlements", {})
    for d in chunk_plan.entitlements:
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
            query = select(func.count()).select_from(table).where(table.id > after)
            if start.region:
                query = query.where(table.region_code.startswith(start.region, autoescape=True))
            total += int(session.execute(query).scalar_one())
    return total


def run_sweep(
    *,
    engine: Engine,
    start: SweepStart,
    catalogue: Catalogue,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Progress | None = None,
) -> SweepReport:
    """Sweep the run from its checkpoints to the end, then mark it done.

    Args:
        engine: the database.
        start: the run (`begin_sweep`).
        catalogue: the catalogue `start` published (the same content hash).
        chunk_size: subjects per chunk (and per transaction).
        progress: called with (swept by this process, to sweep) after each chunk.

    Raises:
        SweepConflict: another process advanced or finished the run.
    """
    if catalogue.version != start.catalogue_hash:
        raise ValueError("run_sweep needs the catalogue begin_sweep published")
    sweeper = _Sweeper(engine, start, catalogue, chunk_size, progress, counts=dict(start.counts))
    sweeper.last = {"household": start.after_household_id, "enterprise": start.after_enterprise_id}
    sweeper.total = _remaining(engine, start) if progress is not None else 0
    seconds = {}
    for kind in ("household", "enterprise"):
        began = time.perf_counter()
        sweeper.phase(kind)
        seconds[kind] = time.perf_counter() - began
    _finish(engine, start, sweeper.counts)
    return SweepReport(start.run_id, sweeper.counts, sweeper.swept, seconds)


def _finish(engine: Engine, start: SweepStart, counts: dict[str, Any]) -> None:
    with write_session(engine) as session:
        done = session.execute(
            update(SweepRun)
            .where(SweepRun.id == start.run_id, SweepRun.state == "running")
            .values(state="done", finished_at=utcnow(), counts=counts)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise SweepConflict(f"sweep run {start.run_id} was finished by another process")
        entry = AuditEntry(
            actor=start.actor,
            action="sweep.done",
            subject=f"sweep:{start.run_id}",
            catalogue_hash=start.catalogue_hash,
            details=counts,
        )
        append(session=session, entry=entry)
