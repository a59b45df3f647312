"""`zhida import`: a profile file into the database, chunk by chunk, resumable, audited.

A file is read and validated by `sheets.households.HouseholdSheet` (or `EnterpriseSheet`); each
chunk of valid profiles is upserted by natural key (`store.ingest.profiles`) in ONE transaction that
also moves the `ImportRun` checkpoint `last_row` to the chunk's last row (RELIABILITY J3).
Bad rows never stop an import: they are refused with row, column and reason, the good rows are
stored. The last transaction marks the run done and appends the audit record (action
`import`, subject `file:<name>`, inputs hash = the file's SHA-256, details = the counts).

Resume (`store.ingest.runs`): an `ImportRun` of the same kind, file SHA-256 and on-date still
`running` (the process died) is continued: the file is read again from the top, so every check
and error comes out as before, and households whose rows end at or before `last_row` are not
written again. Another running run of the file (another date, or an older version of the same
file name) is abandoned with its reason. The checkpoint update is a compare-and-set on
`last_row`, so two processes writing the same run cannot both go on: the second one stops with
`ImportConflict`.

With `region` (an upload through the API, `store.ingest.jobs`), each chunk is screened in its
own transaction first (`store.ingest.regions`): a profile that would be written outside the
uploader's region is refused as a row error ("不在您的辖区（…）") beside the sheet's own errors,
and the rest are stored. The command line passes no region.

With `events` (an import given a date), each chunk also goes through the live event path in
the same transaction (`store.events.imports`): events, reactions, the changed subjects
re-evaluated on that date, entitlement changes and notices (docs/delivery.md).

    report = import_households(engine=e, path=Path("households.xlsx"), catalogue=c, on=day)
    write_errors(default_errors_path(path), report.errors, report.warnings)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, update
from sqlmodel import col

from matcher.events.reactions import Reactions
from matcher.profiles.masking import mask_ids_in_text
from matcher.profiles.parse import Enterprise, Household
from rules.catalogue import Catalogue
from rules.clock import today
from rules.errors import ZhidaError
from sheets.enterprises import EnterpriseSheet
from sheets.grouping import RowError
from sheets.guards import Limits
from sheets.households import HouseholdSheet
from store.audit.log import AuditEntry, append
from store.db import read_session, write_session
from store.events.apply import setup_in
from store.events.imports import enterprises_in, households_in
from store.events.outcome import Outcome
from store.ingest.profiles import UpsertCounts, upsert_enterprises, upsert_households
from store.ingest.regions import screen_enterprises, screen_households
from store.ingest.report import ImportReport, default_errors_path, move_warnings, write_errors
from store.ingest.runs import resumable_date, start_import_run
from store.tables.runs import ImportRun
from store.tables.types import utcnow

__all__ = [
    "Events",
    "ImportConflict",
    "ImportReport",
    "default_errors_path",
    "file_sha256",
    "import_enterprises",
    "import_households",
    "write_errors",
]

Progress = Callable[[int, int | None], None]
Screen = Callable[[Any, str, list[Any]], tuple[list[Any], list[RowError]]]


class ImportConflict(ZhidaError):
    """Raised when another process is writing the same import run (its checkpoint moved)."""


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file's bytes, read in blocks."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _source(name: str, rows: Sequence[int]) -> str:
    first, last = min(rows), max(rows)
    return f"{name} row {first}" if first == last else f"{name} rows {first}–{last}"


def _added(counts: dict[str, int], done: UpsertCounts, reacted: Outcome | None) -> dict[str, int]:
    """Cumulative counts of a run after one more chunk."""
    warned = sum(m.left_empty or m.left_without_head for m in done.moved)
    more = {"inserted": done.inserted, "updated": done.updated, "unchanged": done.unchanged,
            "moved_members": len(done.moved), "warnings": warned}  # fmt: skip
    if reacted is not None:  # the live event path ran in the chunk's transaction
        more |= {"events": len(reacted.events), "entitlement_changes": len(reacted.changes),
                 "notices": len(reacted.notices)}  # fmt: skip
    return {**counts, **{k: counts.get(k, 0) + n for k, n in more.items()}}


@dataclass(frozen=True)
class Events:
    """Send each chunk of an import through the live event path, dated `on`."""

    catalogue: Catalogue
    root: Path
    reactions: Reactions
    on: date


class _Job:
    """One import run as it goes: checkpoint, cumulative counts, warnings of this process."""

    def __init__(
        self, engine: Engine, kind: str, path: Path, actor: str, *, sha256: str,
        on: date | None, catalogue_hash: str,
    ) -> None:  # fmt: skip
        self.engine, self.kind, self.actor = engine, kind, actor
        self.name = mask_ids_in_text(path.name)  # recorded in runs, sources and the audit log
        self.sha256 = sha256
        self.warnings: list[RowError] = []
        self.skipped = 0
        self.refused: list[RowError] = []  # rows outside the uploader's region
        self.refused_subjects = self.refused_rows = 0
        self.region: str | None = None  # set: screen each chunk for this region prefix
        self.screen: Screen | None = None
        start = start_import_run(engine=engine, kind=kind, file_name=self.name, sha256=sha256,
                                 on=on, actor=actor, catalogue_hash=catalogue_hash)  # fmt: skip
        self.run_id, self.on, self.abandoned = start.run_id, start.on, start.abandoned
        self.resumed_after, self.last_row = start.resumed_after, start.resumed_after or 0
        self.counts: dict[str, int] = start.counts
        self.events: Events | None = None  # set: each chunk also goes through the event path

    def _advance(self, session: Any, last_row: int, **values: Any) -> None:
        """Move the checkpoint, or fail if someone else moved it since we last did."""
        moved = session.execute(
            update(ImportRun)
            .where(col(ImportRun.id) == self.run_id, col(ImportRun.state) == "running")
            .where(col(ImportRun.last_row) == self.last_row)
            .values(last_row=last_row, **values)
            .execution_options(synchronize_session=False)
        ).rowcount
        if moved != 1:
            raise ImportConflict(
                f"import run {self.run_id} of {self.name} was advanced by another process "
                f"(expected its checkpoint at row {self.last_row}); let that import finish, "
                "then run this one again: it will change nothing already stored"
            )

    def screened(self, session: Any, valid: list[Any], todo: list[Any]) -> list[Any]:
        """The `todo` profiles the uploader's region may store (all without a region); the
        whole chunk `valid` is screened, so a resumed run reports its refusals again."""
        if self.region is None or self.screen is None:
            return todo
        kept, errors = self.screen(session, self.region, valid)
        ids = {id(v) for v in kept}
        refused = [v for v in valid if id(v) not in ids]
        self.refused += errors
        self.refused_subjects += len(refused)
        self.refused_rows += sum(len(getattr(v, "rows", (v,))) for v in refused)  # a firm: 1
        return [v for v in todo if id(v) in ids]

    def commit(
        self,
        last_row: int,
        write: Callable[..., UpsertCounts],
        valid: list[Any],
        todo: list[Any],
        as_items: Callable[[list[Any]], list[Any]],
    ) -> tuple[UpsertCounts, list[Any]]:
        """Screen and write one chunk and move the checkpoint to `last_row`, in one transaction.

        Args:
            last_row: the chunk's last sheet row (the new checkpoint).
            write: `upsert_households` or `upsert_enterprises`.
            valid: the chunk's valid profiles (`ValidHousehold` or `ValidEnterprise`).
            todo: those of them after the checkpoint (to be written).
            as_items: the `(profile, source)` pairs of some of them.

        Returns:
            What the upsert did, and the profiles written.
        """
        with write_session(self.engine) as session:
            todo = self.screened(session, valid, todo)
            items = as_items(todo)
            reacted = None
            if self.events is not None:  # the sweeps' lock first, as every event transaction
                e = self.events
                setup = setup_in(session, catalogue=e.catalogue, root=e.root,
                                 reactions=e.reactions, on=e.on, actor=self.actor,
                                 source=f"import {self.name}")  # fmt: skip
            self._advance(session, last_row)
            if self.events is not None:
                react = households_in if self.kind == "households" else enterprises_in
                done, reacted = react(session, setup=setup, items=items,
                                      import_run_id=self.run_id)  # fmt: skip
            else:
                done = write(session, items, import_run_id=self.run_id)
            counts = _added(self.counts, done, reacted)
            session.execute(
                update(ImportRun)
                .where(col(ImportRun.id) == self.run_id)
                .values(counts=counts)
                .execution_options(synchronize_session=False)
            )
        self.last_row, self.counts = last_row, counts
        return done, todo

    def skip(self, valid: list[Any]) -> None:
        """A chunk stored before a restart: only its region's refusals are said again."""
        if self.region is not None:
            with read_session(self.engine) as session:
                self.screened(session, valid, [])

    def finish(
        self, errors: list[RowError], read: dict[str, int], catalogue_hash: str
    ) -> ImportReport:
        """Mark the run done and audit it (one transaction); the report of the whole run."""
        if self.refused:  # the region's refusals join the sheet's, in row order
            errors = sorted([*errors, *self.refused], key=lambda e: e.row or 0)
            unit = "households" if self.kind == "households" else "enterprises"
            read = {**read, unit: read[unit] - self.refused_subjects,
                    "refused_rows": read["refused_rows"] + self.refused_rows}  # fmt: skip
            if "refused_households" in read:
                read["refused_households"] += self.refused_subjects
        zero = dict.fromkeys(("inserted", "updated", "unchanged", "moved_members", "warnings"), 0)
        counts = {**zero, **self.counts, **read, "errors": len(errors)}
        with write_session(self.engine) as session:
            self._advance(session, self.last_row, state="done", counts=counts,
                          finished_at=utcnow())  # fmt: skip
            entry = AuditEntry(
                actor=self.actor,
                action="import",
                subject=f"file:{self.name}",
                catalogue_hash=catalogue_hash,
                inputs_hash=self.sha256,
                details={"kind": self.kind, "run": self.run_id, **counts},
            )
            append(session=session, entry=entry)
        return ImportReport(
            self.run_id, self.kind, self.name, self.sha256, counts,
            self.resumed_after, self.skipped, errors, self.warnings, self.on, list(self.abandoned),
        )  # fmt: skip


def import_households(
    *,
    engine: Engine,
    path: Path,
    catalogue: Catalogue,
    on: date | None = None,
    limits: Limits | None = None,
    chunk: int = 2000,
    actor: str = "cli",
    progress: Progress | None = None,
    events: Events | None = None,
    region: str | None = None,
) -> ImportReport:
    """Import a household sheet: validate, upsert in chunks, checkpoint, resume, audit.

    Args:
        engine: the database (migrated).
        path: the household sheet (.xlsx, .csv or .parquet, template layout).
        catalogue: the policy catalogue (its facts check the cells; its version is audited).
        on: the evaluation date (ID numbers born after it are refused); None: the date of the
            interrupted run of this file it resumes, or today. A run of this file interrupted
            under another date is abandoned, with the reason.
        limits: upload caps (row cap, xlsx size and ratio).
        chunk: households per transaction.
        actor: who runs the import (audited).
        progress: called with (rows read, total rows or None).
        events: send each chunk through the live event path (events, reactions, the changed
            households re-evaluated on `events.on`, notices) in the chunk's transaction;
            None: store the profiles only (the next sweep evaluates them).
        region: the uploader's region prefix: households that would be written outside it are
            refused as rows (`store.ingest.regions`); None: every valid household is stored.

    Returns:
        The counts, the refused rows and the warnings (households a person moved out of).

    Raises:
        SheetError: when the whole sheet is refused (before anything is written).
        ImportConflict: when another process is writing the same run.
    """
    sha256 = file_sha256(path)
    day = on or resumable_date(engine=engine, kind="households", sha256=sha256) or today()
    sheet = HouseholdSheet(path, catalogue.facts, on=day, limits=limits, chunk=chunk)
    sheet.open()  # refuse a bad file before a run is recorded
    if progress is not None:
        sheet.progress = lambda rows: progress(rows, sheet.total_rows)
    job = _Job(engine, "households", path, actor, sha256=sha256, on=day,
               catalogue_hash=catalogue.version)  # fmt: skip
    job.events, job.region, job.screen = events, region, screen_households
    as_items = lambda todo: [(v.household, _source(job.name, v.rows)) for v in todo]  # noqa: E731
    for valid in sheet:
        todo = [v for v in valid if max(v.rows) > job.last_row]
        job.skipped += len(valid) - len(todo)
        if not todo:
            job.skip(valid)
            continue
        done, kept = job.commit(max(todo[-1].rows), _households, valid, todo, as_items)
        job.warnings += move_warnings(done.moved, kept)
        if progress is not None:  # a chunk is stored: say so, not only every 10,000 rows
            progress(sheet.stats.rows, sheet.total_rows)
    s = sheet.stats
    read = {"rows": s.rows, "households": s.households,
            "refused_households": s.refused_households, "refused_rows": s.refused_rows}  # fmt: skip
    job.warnings += sheet.warnings  # an ignored column refuses nothing
    return job.finish(sheet.errors, read, catalogue.version)


def _households(session: Any, items: list[tuple[Household, str]], **kw: Any) -> UpsertCounts:
    return upsert_households(session=session, households=items, **kw)


def _enterprises(session: Any, items: list[tuple[Enterprise, str]], **kw: Any) -> UpsertCounts:
    return upsert_enterprises(session=session, enterprises=items, **kw)


def import_enterprises(
    *,
    engine: Engine,
    path: Path,
    catalogue: Catalogue,
    limits: Limits | None = None,
    chunk: int = 2000,
    actor: str = "cli",
    progress: Progress | None = None,
    events: Events | None = None,
    region: str | None = None,
) -> ImportReport:
    """Import an enterprise sheet (as `import_households`: chunks, checkpoint, resume, audit;
    `events` and `region` as there).

    Raises:
        SheetError: when the whole sheet is refused (before anything is written).
        ImportConflict: when another process is writing the same run.
    """
    sheet = EnterpriseSheet(path, catalogue.facts, limits=limits, chunk=chunk)
    sheet.open()
    if progress is not None:
        sheet.progress = lambda rows: progress(rows, sheet.total_rows)
    job = _Job(engine, "enterprises", path, actor, sha256=file_sha256(path), on=None,
               catalogue_hash=catalogue.version)  # fmt: skip
    job.events, job.region, job.screen = events, region, screen_enterprises
    as_items = lambda todo: [(v.enterprise, _source(job.name, [v.row])) for v in todo]  # noqa: E731
    for valid in sheet:
        todo = [v for v in valid if v.row > job.last_row]
        job.skipped += len(valid) - len(todo)
        if not todo:
            job.skip(valid)
            continue
        job.commit(todo[-1].row, _enterprises, valid, todo, as_items)
        if progress is not None:
            progress(sheet.stats.rows, sheet.total_rows)
    s = sheet.stats
    read = {"rows": s.rows, "enterprises": s.enterprises, "refused_rows": s.refused_rows}
    job.warnings += sheet.warnings  # an ignored column refuses nothing
    return job.finish(sheet.errors, read, catalogue.version)
