"""Sweep runs: starting or resuming one, moving its checkpoint, marking it done.

A run is keyed by (catalogue version, on-date, region prefix). `begin_sweep` resumes the newest
unfinished run with that key, else starts one and marks every other unfinished run `abandoned`,
with the reason (what differs); either way the catalogue is published first, in the same
transaction. The entitlement history only moves forward: a sweep dated before the latest sweep
of an overlapping region is refused. The checkpoint (`last_household_id`,
`last_enterprise_id`) moves by compare-and-set, in the chunk's own transaction, so only one
process can advance a run and a crashed chunk leaves the checkpoint where its predecessor put it.

Exceptions (raised to the caller, who shows them):

- `RegionError` (a `ZhidaError` and `ValueError`): a region prefix that is not 1–12 digits.
- `SweepDateError` (a `ValueError`): a date before the latest sweep of an overlapping region.
- `SweepConflict`: another process advanced, finished or abandoned the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, text, update
from sqlmodel import Session, col

from rules.catalogue import Catalogue
from rules.errors import ZhidaError
from store.audit.catalogues import publish_catalogue
from store.audit.log import AuditEntry, append
from store.db import is_postgres, write_session
from store.sweep.history import rule_hashes
from store.sweep.order import SweepDateError, abandon_others, refuse_the_past
from store.tables.runs import SweepRun
from store.tables.types import utcnow

__all__ = [
    "RegionError",
    "SweepConflict",
    "SweepDateError",
    "SweepStart",
    "advance_checkpoint",
    "begin_sweep",
    "finish_run",
    "lock_sweeps",
    "validate_region",
]

# The pg_advisory_xact_lock key every sweep transaction takes first (start, chunk, finish), so
# they queue in one order and never deadlock over the audit and sweep_run locks they take next.
_LOCK = 0x7A68_6964_6173_7770


class RegionError(ZhidaError, ValueError):
    """A region prefix that is not 1–12 ASCII digits."""


class SweepConflict(RuntimeError):
    """Another process advanced, finished or abandoned the run this process was sweeping."""


def lock_sweeps(session: Session) -> None:
    """Serialise sweep transactions on PostgreSQL (SQLite's BEGIN IMMEDIATE already does)."""
    if is_postgres(session.get_bind()):
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})


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
    rule_hashes: dict[str, str] = field(default_factory=dict)  # policy id → rule hash
    abandoned: tuple[str, ...] = ()  # "N：reason" for each run this start abandoned


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

    Args:
        engine: the database.
        catalogue: the catalogue to sweep with (published if new).
        root: the folder it was loaded from.
        on: the evaluation date.
        region: a region prefix (digits), or None for every region.
        actor: who sweeps (audited).

    Raises:
        RegionError: a region prefix that is not digits.
        SweepDateError: `on` is before the latest sweep of an overlapping region.
    """
    prefix = validate_region(region) or ""
    with write_session(engine) as session:
        lock_sweeps(session)  # one start at a time: never two runs for the same key
        version = publish_catalogue(session=session, catalogue=catalogue, root=root, actor=actor)
        assert version.id is not None
        refuse_the_past(session=session, on=on, prefix=prefix)
        found = _unfinished(session, version.id, on, prefix)
        row = found or _new_run(session, version.id, catalogue.version, on, prefix, actor)
        assert row.id is not None
        abandoned = abandon_others(
            session=session, keep=row, catalogue_hash=catalogue.version, actor=actor
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
            rule_hashes=rule_hashes(catalogue),
            abandoned=abandoned,
        )


def _unfinished(session: Session, version_id: int, on: date, prefix: str) -> SweepRun | None:
    query = (
        select(SweepRun)
        .where(
            col(SweepRun.catalogue_version_id) == version_id,
            col(SweepRun.on_date) == on,
            col(SweepRun.region_prefix) == prefix,
            col(SweepRun.state) == "running",
        )
        .order_by(col(SweepRun.id).desc())
    )
    return session.execute(query).scalars().first()


def _new_run(
    session: Session, version_id: int, catalogue_hash: str, on: date, prefix: str, actor: str
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
        catalogue_hash=catalogue_hash,
        details={"on_date": on.isoformat(), "region": prefix},
    )
    append(session=session, entry=entry)
    return row


def advance_checkpoint(
    *, session: Session, run_id: int, kind: str, expected: int, to: int, counts: dict[str, Any]
) -> None:
    """Move the run's `kind` checkpoint from `expected` to `to`, with the counts so far.

    Raises:
        SweepConflict: the checkpoint is no longer `expected` (or the run is done).
    """
    column = getattr(SweepRun, f"last_{kind}_id")
    moved = session.execute(
        update(SweepRun)
        .where(col(SweepRun.id) == run_id, col(SweepRun.state) == "running", column == expected)
        .values({column: to, "counts": counts})
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's Result is a CursorResult
        raise _conflict(
            session,
            run_id,
            "已被另一进程推进（advanced by another process）；请让那个进程跑完，或重新启动"
            "普查，从该次普查的检查点续跑",
        )


def _conflict(session: Session, run_id: int, otherwise: str) -> SweepConflict:
    """The conflict to raise when a run did not move: abandoned (with why), or `otherwise`."""
    run = session.get(SweepRun, run_id)
    if run is not None and run.state == "abandoned":
        return SweepConflict(f"普查 {run_id} 已被放弃（abandoned）：{run.reason}")
    return SweepConflict(f"普查 {run_id} {otherwise}")


def finish_run(*, engine: Engine, start: SweepStart, counts: dict[str, Any]) -> None:
    """Mark the run done with its counts, audited `sweep.done`.

    Raises:
        SweepConflict: another process finished it first.
    """
    with write_session(engine) as session:
        lock_sweeps(session)
        done = session.execute(
            update(SweepRun)
            .where(col(SweepRun.id) == start.run_id, col(SweepRun.state) == "running")
            .values(state="done", finished_at=utcnow(), counts=counts)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's Result is a CursorResult
            done_elsewhere = "已由另一进程完成（finished by another process）"
            raise _conflict(session, start.run_id, done_elsewhere)
        entry = AuditEntry(
            actor=start.actor,
            action="sweep.done",
            subject=f"sweep:{start.run_id}",
            catalogue_hash=start.catalogue_hash,
            details=counts,
        )
        append(session=session, entry=entry)
