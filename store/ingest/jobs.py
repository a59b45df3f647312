"""Import jobs: an uploaded sheet stored, queued, claimed by the worker, read within a scope.

    job = create_job(engine=e, scope=scope, kind="households", file_name="cun.xlsx",
                     source=upload.file, on=date(2025, 3, 10))
    claimed = claim_next(engine=e)           # the worker: the oldest queued job, now running
    view = get_job(session=s, scope=scope, job_id=job.id)   # None outside the scope

Who may upload what (`UPLOADERS`): a household sheet a village, township or county login (its
region applied per row, `store.ingest.regions`); an enterprise sheet a county login. The file
is kept under `ZHIDA_DATA_DIR/uploads/<job id><suffix>` until its job ends. A job is seen by
logins whose region covers the uploader's (its village, township and county; the county's
supervisor) — filtered in SQL, so another village's job is simply not found.

A file whose name does not end in .xlsx, .csv or .parquet, that is empty, or whose first bytes
are not those of its kind (an xlsx is a zip, a parquet file starts with `PAR1`) is refused at
once (`SheetError`); anything else wrong with it fails the job with the import's own message.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, func, select, update
from sqlmodel import Session, col

from matcher.profiles.masking import mask_ids_in_text
from sheets.guards import SheetError
from sheets.sources import SUFFIXES
from store.db import data_dir, read_session, write_session
from store.scope import Scope
from store.tables.import_jobs import ImportJob
from store.tables.types import utcnow

__all__ = [
    "UPLOADERS",
    "JobPage",
    "JobView",
    "claim_next",
    "create_job",
    "get_job",
    "list_jobs",
    "recover_jobs",
    "upload_path",
]

UPLOADERS = {
    "households": frozenset({"village", "township", "county"}),
    "enterprises": frozenset({"county"}),
}
READERS = frozenset({"village", "township", "county", "supervisor"})
_MAGIC = {".xlsx": b"PK\x03\x04", ".parquet": b"PAR1"}


@dataclass(frozen=True)
class JobView:
    """An import job as its readers see it (errors and warnings: row, column, value, message)."""

    id: int
    kind: str
    state: str
    uploader: str
    region: str
    file_name: str
    file_sha256: str
    file_bytes: int
    on: date
    rows_read: int
    rows_total: int | None
    counts: dict[str, int]
    errors: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    reason: str | None
    import_run_id: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True)
class JobPage:
    """One page of jobs, newest first, and how many there are in all."""

    items: list[JobView]
    total: int
    limit: int
    offset: int


def view(job: ImportJob) -> JobView:
    """The readers' view of a job row."""
    assert job.id is not None
    return JobView(
        job.id, job.kind, job.state, job.uploader, job.region, job.file_name, job.file_sha256,
        job.file_bytes, job.on_date, job.rows_read, job.rows_total, dict(job.counts),
        list(job.errors), list(job.warnings), job.reason, job.import_run_id, job.created_at,
        job.started_at, job.finished_at,
    )  # fmt: skip


def upload_path(job_id: int, suffix: str) -> Path:
    """Where a job's uploaded file is kept until the job ends."""
    return data_dir() / "uploads" / f"{job_id}{suffix}"


def _suffix(file_name: str) -> str:
    suffix = Path(file_name).suffix.lower()
    if suffix not in SUFFIXES:
        raise SheetError(
            f"{file_name}：不是可导入的信息表（扩展名 {suffix or '无'}）；"
            f"应为 {'、'.join(SUFFIXES)}：请从模板开始填写（zhida template）"
        )
    return suffix


def _copy(source: IO[bytes], target: Path, file_name: str, suffix: str) -> tuple[str, int]:
    """Copy the upload to `target`; its SHA-256 and size. Refuses an empty or mislabelled file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with target.open("wb") as out:
        head = source.read(1 << 16)
        if not head:
            raise SheetError(f"{file_name}：文件是空的；应为填好的信息表")
        magic = _MAGIC.get(suffix)
        if magic is not None and not head.startswith(magic):
            kind = "zip 压缩包" if suffix == ".xlsx" else "parquet 文件"
            raise SheetError(
                f"{file_name}：扩展名是 {suffix}，内容却不是 {kind}；"
                f"应为真正的 {suffix} 文件：请用 Excel 或 WPS 另存为 .xlsx，或上传 .csv"
            )
        while head:
            digest.update(head)
            size += len(head)
            out.write(head)
            head = source.read(1 << 20)
    return digest.hexdigest(), size


def create_job(
    *, engine: Engine, scope: Scope, kind: str, file_name: str, source: IO[bytes], on: date
) -> JobView:
    """Store an upload and queue its import for the worker.

    Args:
        engine: the database.
        scope: the uploader's scope (its region is applied to every row).
        kind: "households" or "enterprises" (the caller checked the role may upload it).
        file_name: the name the file was uploaded under.
        source: the uploaded bytes.
        on: the date rows are validated against and events are dated.

    Raises:
        SheetError: the file is not a sheet this service reads (name, emptiness, first bytes).
    """
    shown = mask_ids_in_text(Path(file_name).name)[:300] or "upload"
    suffix = _suffix(shown)
    with write_session(engine) as session:
        job = ImportJob(kind=kind, uploader=scope.user[:64], role=scope.role,
                        region=scope.region, file_name=shown, suffix=suffix, file_sha256="",
                        on_date=on)  # fmt: skip
        session.add(job)
        session.flush()
        assert job.id is not None
        target = upload_path(job.id, suffix)
        try:
            job.file_sha256, job.file_bytes = _copy(source, target, shown, suffix)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        session.flush()
        return view(job)


def _visible(scope: Scope) -> Any:
    if scope.role not in READERS:
        return col(ImportJob.id) < 0  # no job is this role's to see
    return scope.region_clause(col(ImportJob.region))


def get_job(*, session: Session, scope: Scope, job_id: int) -> JobView | None:
    """A job, if `scope` may see it (else None: not found)."""
    job = session.execute(
        select(ImportJob).where(col(ImportJob.id) == job_id, _visible(scope))
    ).scalar_one_or_none()
    return None if job is None else view(job)


def list_jobs(*, session: Session, scope: Scope, limit: int, offset: int) -> JobPage:
    """The jobs `scope` may see, newest first."""
    where = _visible(scope)
    total = session.execute(select(func.count()).select_from(ImportJob).where(where)).scalar_one()
    jobs = session.execute(
        select(ImportJob)
        .where(where)
        .order_by(col(ImportJob.id).desc())
        .limit(limit)
        .offset(offset)
    ).scalars()
    return JobPage([view(j) for j in jobs], int(total), limit, offset)


def claim_next(*, engine: Engine) -> JobView | None:
    """The oldest queued job, now `running` (None: nothing queued). A compare-and-set on the
    state, so two workers never take one job."""
    oldest = (
        select(col(ImportJob.id)).where(col(ImportJob.state) == "queued")
        .order_by(col(ImportJob.id)).limit(1)
    )  # fmt: skip
    with read_session(engine) as session:  # the worker polls: no write transaction for nothing
        if session.execute(oldest).scalar_one_or_none() is None:
            return None
    with write_session(engine) as session:
        queued = session.execute(oldest).scalar_one_or_none()
        if queued is None:
            return None
        taken: Any = session.execute(
            update(ImportJob)
            .where(col(ImportJob.id) == queued, col(ImportJob.state) == "queued")
            .values(state="running", started_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:
            return None
        return view(session.get_one(ImportJob, queued, populate_existing=True))


def recover_jobs(*, engine: Engine) -> list[int]:
    """At start: jobs left `running` by a stopped process are queued again when their file is
    still there (the import resumes after its checkpoint), else failed with the reason.

    Returns:
        The ids of the jobs queued again.
    """
    again = []
    with write_session(engine) as session:
        left = session.execute(select(ImportJob).where(col(ImportJob.state) == "running"))
        for job in left.scalars():
            assert job.id is not None
            if upload_path(job.id, job.suffix).exists():
                job.state = "queued"
                again.append(job.id)
            else:
                job.state, job.finished_at = "failed", utcnow()
                job.reason = "服务在导入中停止，上传的文件已不在：请重新上传"
    return again
