"""Import runs: resuming an interrupted import of the same file and date, abandoning the others.

A run is keyed by (kind, file SHA-256, on-date). `start_import_run` resumes the newest running
run with that key, else starts one. Every other running run of the same kind and file — the
same content validated under another date, or the same file name with other content (a new
version of the file) — is marked `abandoned` with its reason and audited. What an abandoned
run stored stays: profiles are upserted by natural key, and the new run reads its file from
the top.

The on-date decides which rows are refused (an ID number born after it), so a resumed run
validates with its own date: an import interrupted at 23:59 and run again after midnight
without `--on` checks its rows as it did before (`resumable_date`). Enterprise sheets are
validated without a date: their runs have none. A running run from before dates were recorded
(NULL) is resumed under the date given, which it then records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine, or_, select
from sqlmodel import Session, col

from store.audit.log import AuditEntry, append
from store.db import is_postgres, read_session, write_session
from store.tables.runs import ImportRun
from store.tables.types import utcnow

__all__ = ["ImportStart", "resumable_date", "start_import_run"]


@dataclass(frozen=True)
class ImportStart:
    """A run ready to import: new, or resumed after its checkpoint."""

    run_id: int
    on: date | None
    resumed_after: int | None  # the checkpoint row continued from; None: a new run
    counts: dict[str, int]
    abandoned: tuple[str, ...]  # "run N: reason" for each run this start abandoned


def _running(kind: str, sha256: str) -> Any:
    return (
        select(ImportRun)
        .where(col(ImportRun.kind) == kind, col(ImportRun.file_sha256) == sha256)
        .where(col(ImportRun.state) == "running")
        .order_by(col(ImportRun.id).desc())
    )


def resumable_date(*, engine: Engine, kind: str, sha256: str) -> date | None:
    """The on-date of the running run an import of this file would resume (None: no such run,
    or a run from before dates were recorded)."""
    with read_session(engine) as session:
        run = session.execute(_running(kind, sha256).limit(1)).scalar_one_or_none()
        return None if run is None else run.on_date


def _why(old: ImportRun, new: ImportRun) -> str:
    if old.file_sha256 != new.file_sha256:
        change = (
            f"{new.file_name} changed (sha256 {old.file_sha256[:12]}… → {new.file_sha256[:12]}…)"
        )
    else:
        change = f"the same file validated on {new.on_date} (this run: {old.on_date})"
    return f"superseded by import run {new.id}: {change}"[:300]


def _abandon(session: Session, run: ImportRun, by: ImportRun, catalogue_hash: str) -> str:
    run.state, run.finished_at, run.reason = "abandoned", utcnow(), _why(run, by)
    entry = AuditEntry(
        actor=by.actor,
        action="import.abandoned",
        subject=f"file:{run.file_name}",
        catalogue_hash=catalogue_hash,
        inputs_hash=run.file_sha256,
        details={"run": run.id, "by": by.id, "reason": run.reason},
    )
    append(session=session, entry=entry)
    return f"run {run.id}: {run.reason}"


def start_import_run(
    *,
    engine: Engine,
    kind: str,
    file_name: str,
    sha256: str,
    on: date | None,
    actor: str,
    catalogue_hash: str,
) -> ImportStart:
    """Resume the running run of (kind, file, on-date), or start one; abandon the others.

    Args:
        engine: the database.
        kind: "households" or "enterprises".
        file_name: the file's name, ID numbers already masked.
        sha256: the file's SHA-256.
        on: the date rows are validated against (None for enterprises).
        actor: who imports (audited).
        catalogue_hash: the catalogue the rows are checked with (audited).
    """
    with write_session(engine) as session:
        if is_postgres(engine):  # two starts of one file must see each other's run
            session.connection().exec_driver_sql(
                "LOCK TABLE import_run IN SHARE ROW EXCLUSIVE MODE"
            )
        running = session.execute(
            select(ImportRun)
            .where(col(ImportRun.kind) == kind, col(ImportRun.state) == "running")
            .where(or_(col(ImportRun.file_sha256) == sha256, col(ImportRun.file_name) == file_name))
            .order_by(col(ImportRun.id).desc())
        ).scalars().all()  # fmt: skip
        run = next(
            (r for r in running if r.file_sha256 == sha256 and r.on_date in (None, on)), None
        )
        resumed_after = None if run is None else run.last_row
        if run is None:
            run = ImportRun(kind=kind, file_name=file_name[:300], file_sha256=sha256,
                            on_date=on, actor=actor[:64])  # fmt: skip
            session.add(run)
        run.on_date = on
        session.flush()
        assert run.id is not None
        abandoned = tuple(
            _abandon(session, r, run, catalogue_hash) for r in running if r is not run
        )
        return ImportStart(run.id, on, resumed_after, dict(run.counts), abandoned)
