"""Running one import job: the import of its upload, its progress, its end (done or failed).

    view = run_job(engine=e, job_id=7, events=lambda on: Events(catalogue, root, reactions, on))

The import is `store.ingest.run`'s, with the uploader's region (rows outside it refused), the
uploader as the audited actor, and the live event path dated the job's `on`. Progress
(`rows_read` of `rows_total`) is written in its own short transaction as each chunk is stored.
When the import ends the job holds its counts, the refused rows and warnings (row, column,
value, message — the words of `zhida import`, ID numbers masked; the first `KEPT` of each),
and the import run; a file refused whole, or a conflict, fails the job with that message.
The upload is deleted either way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import Engine, update
from sqlmodel import col

from matcher.profiles.masking import mask_ids_in_text
from rules.catalogue import Catalogue
from rules.errors import ZhidaError
from sheets.grouping import RowError
from store.db import write_session
from store.ingest.jobs import JobView, upload_path, view
from store.ingest.run import Events, ImportReport, import_enterprises, import_households
from store.tables.import_jobs import ImportJob
from store.tables.types import utcnow

__all__ = ["KEPT", "run_job"]

KEPT = 1000  # errors (and warnings) kept on a job; `counts` has how many there were
log = logging.getLogger("zhida.imports")


def _problem(e: RowError) -> dict[str, Any]:
    return {"row": e.row, "column": e.column, "value": mask_ids_in_text(e.value),
            "message": mask_ids_in_text(e.reason)}  # fmt: skip


def _set(engine: Engine, job_id: int, **values: Any) -> None:
    with write_session(engine) as session:
        session.execute(
            update(ImportJob).where(col(ImportJob.id) == job_id).values(**values)
            .execution_options(synchronize_session=False)
        )  # fmt: skip


def _import(engine: Engine, job: ImportJob, catalogue: Catalogue, events: Events) -> ImportReport:
    assert job.id is not None
    job_id = job.id

    def progress(rows: int, total: int | None) -> None:
        _set(engine, job_id, rows_read=rows, rows_total=total)

    run = import_households if job.kind == "households" else import_enterprises
    extra: dict[str, Any] = {"on": job.on_date} if job.kind == "households" else {}
    return run(engine=engine, path=upload_path(job_id, job.suffix), catalogue=catalogue,
               actor=job.uploader, progress=progress, events=events, region=job.region,
               **extra)  # fmt: skip


def run_job(
    *, engine: Engine, job_id: int, catalogue: Catalogue, events: Callable[[date], Events]
) -> JobView:
    """Import a claimed (`running`) job's upload and record how it ended.

    Args:
        engine: the database.
        job_id: the job (claimed by `claim_next`).
        catalogue: the catalogue the rows are checked with.
        events: the event path for the job's date (the catalogue, folder and reactions served).

    Returns:
        The job as it ended.
    """
    with write_session(engine) as session:
        job = session.get_one(ImportJob, job_id)
        session.expunge(job)
    try:
        report = _import(engine, job, catalogue, events(job.on_date))
    except ZhidaError as exc:  # the file refused whole, a conflict, a refused change
        _set(engine, job_id, state="failed", reason=mask_ids_in_text(str(exc))[:1000],
             finished_at=utcnow())  # fmt: skip
    except Exception as exc:  # a fault of ours: the job says so, the log names the error
        log.error("import job %s failed: %s", job_id, mask_ids_in_text(repr(exc)))
        _set(engine, job_id, state="failed", finished_at=utcnow(),
             reason="内部错误：导入未完成，已记录；请联系运维人员")  # fmt: skip
    else:
        counts = {**report.counts, "warnings": len(report.warnings)}
        _set(engine, job_id, state="done", counts=counts, import_run_id=report.run_id,
             errors=[_problem(e) for e in report.errors[:KEPT]],
             warnings=[_problem(w) for w in report.warnings[:KEPT]],
             rows_read=report.counts.get("rows", 0), finished_at=utcnow())  # fmt: skip
    finally:
        upload_path(job_id, job.suffix).unlink(missing_ok=True)
    with write_session(engine) as session:
        return view(session.get_one(ImportJob, job_id))
