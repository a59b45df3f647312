"""Routes: uploading a household or enterprise sheet as an import job, and reading the jobs.

`POST /api/imports/households` (village, township, county) and `/api/imports/enterprises`
(county) take a multipart form (`file`, `on`) and answer 202 with the queued job and its
`Location`; the server's import worker (`store.ingest.worker`, started with the application by
`ON_STARTUP`) imports it with the uploader's region applied to every row. `GET /api/imports` and
`GET /api/imports/{id}` read the jobs the caller's region covers (others: 404). An upload takes
an `Idempotency-Key` (`api.idempotency`; the request is the file's SHA-256, its name and `on`):
a retry of the same upload answers the first job again, never queues a second. See docs/api.md
"导入".
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, Router, get, post
from litestar.datastructures import ResponseHeader, State, UploadFile
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import MultipartBody

from api.auth import Caller, needs
from api.context import Ctx
from api.deps import CallerDep, CtxDep
from api.idempotency import IdempotencyHeader, idempotent
from api.params import IdPath, Limit, Offset, past_day
from api.problems import PROBLEMS, found
from store.db import read_session
from store.ingest.jobs import JobView, create_job, get_job, list_jobs
from store.ingest.run import Events
from store.ingest.worker import ImportWorker

__all__ = ["ON_SHUTDOWN", "ON_STARTUP", "ROUTES"]

TAGS = ["导入"]


@dataclass
class UploadForm:
    """A sheet to import (.xlsx, .csv or .parquet, template layout) and the date its rows are
    checked against and its changes dated (YYYY-MM-DD, not after today; default today)."""

    file: UploadFile
    on: date | None = None


class RowProblem(msgspec.Struct):
    """A refused row (or a warning): row as the sheet shows it, column header, value, why."""

    row: int | None
    column: str
    value: str
    message: str


class JobOut(msgspec.Struct):
    """An import job: its state (queued, running, done, failed), progress, counts and errors."""

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
    errors: list[RowProblem]
    warnings: list[RowProblem]
    reason: str | None
    import_run_id: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    location: str


class JobsOut(msgspec.Struct):
    """A page of jobs, newest first."""

    items: list[JobOut]
    total: int
    limit: int
    offset: int


def _problems(items: list[dict[str, Any]]) -> list[RowProblem]:
    return [RowProblem(**p) for p in items]


def job_out(v: JobView) -> JobOut:
    """A job as the API answers it."""
    return JobOut(
        v.id, v.kind, v.state, v.uploader, v.region, v.file_name, v.file_sha256, v.file_bytes,
        v.on, v.rows_read, v.rows_total, v.counts, _problems(v.errors), _problems(v.warnings),
        v.reason, v.import_run_id, v.created_at, v.started_at, v.finished_at,
        f"/api/imports/{v.id}",
    )  # fmt: skip


def _create(
    ctx: Ctx, caller: Caller, state: State, kind: str, form: UploadForm, on: date
) -> JobOut:
    job = create_job(engine=ctx.engine, scope=caller.scope, kind=kind,
                     file_name=form.file.filename or "", source=form.file.file, on=on)  # fmt: skip
    worker = state.get("import_worker")
    if isinstance(worker, ImportWorker):
        worker.wake()
    return job_out(job)


def _sha256(form: UploadForm) -> str:
    """The uploaded file's SHA-256 (hex), read in chunks; the file is rewound for the job."""
    digest, source = hashlib.sha256(), form.file.file
    while chunk := source.read(1 << 20):
        digest.update(chunk)
    source.seek(0)
    return digest.hexdigest()


def _queue(
    request: Request[Any, Any, Any], ctx: Ctx, caller: Caller, state: State, kind: str,
    form: UploadForm, key: str | None,
) -> Response[Any]:  # fmt: skip
    on = past_day(form.on)  # before the key: a corrected request may reuse it
    fingerprint = {"file": _sha256(form) if key else None, "name": form.file.filename, "on": on}
    return idempotent(request, caller, ctx, key, f"imports.{kind}", fingerprint,
                      lambda: _create(ctx, caller, state, kind, form, on), status=202,
                      headers=lambda out: {"Location": out.location})  # fmt: skip


_ACCEPTED = {
    202: ResponseSpec(data_container=JobOut, description="已排队：导入在后台进行，轮询 Location"),
    **{k: v for k, v in PROBLEMS.items() if k != 202},
}
_LOCATION = [ResponseHeader(name="Location", description="任务的地址", documentation_only=True)]


@post("/api/imports/households", tags=TAGS, summary="上传户信息表（后台导入，按辖区逐行核对）",
      status_code=202, sync_to_thread=True, guards=[needs("village", "township", "county")],
      responses=_ACCEPTED, response_headers=_LOCATION)  # fmt: skip
def upload_households(
    ctx: CtxDep, caller: CallerDep, state: State, request: Request[Any, Any, Any],
    data: MultipartBody[UploadForm], idempotency_key: IdempotencyHeader = None,
) -> Response[Any]:  # fmt: skip
    return _queue(request, ctx, caller, state, "households", data, idempotency_key)


@post("/api/imports/enterprises", tags=TAGS, summary="上传企业信息表（后台导入，仅县级）",
      status_code=202, sync_to_thread=True, guards=[needs("county")], responses=_ACCEPTED,
      response_headers=_LOCATION)  # fmt: skip
def upload_enterprises(
    ctx: CtxDep, caller: CallerDep, state: State, request: Request[Any, Any, Any],
    data: MultipartBody[UploadForm], idempotency_key: IdempotencyHeader = None,
) -> Response[Any]:  # fmt: skip
    return _queue(request, ctx, caller, state, "enterprises", data, idempotency_key)


@get("/api/imports", tags=TAGS, summary="辖区内的导入任务（新的在前）", sync_to_thread=True,
     responses=PROBLEMS)  # fmt: skip
def jobs(
    ctx: CtxDep,
    caller: CallerDep,
    limit: Limit = 50,
    offset: Offset = 0,
) -> JobsOut:
    with read_session(ctx.engine) as s:
        page = list_jobs(session=s, scope=caller.scope, limit=limit, offset=offset)
    return JobsOut([job_out(v) for v in page.items], page.total, page.limit, page.offset)


@get("/api/imports/{job_id:int}", tags=TAGS, summary="一个导入任务：进度、计数、被拒的行",
     sync_to_thread=True, responses=PROBLEMS)  # fmt: skip
def job(ctx: CtxDep, caller: CallerDep, job_id: IdPath) -> JobOut:
    with read_session(ctx.engine) as s:
        found_job = get_job(session=s, scope=caller.scope, job_id=job_id)
    return job_out(found(found_job, f"导入任务 {job_id}"))


def start_worker(app: Litestar) -> None:
    """Start the application's import worker (jobs a stopped process left running first)."""
    ctx: Ctx = app.state.ctx
    worker = ImportWorker(
        ctx.engine,
        catalogue=lambda: ctx.catalogue,
        events=lambda on: Events(ctx.catalogue, ctx.root, ctx.reactions, on),
    )
    app.state.import_worker = worker
    worker.start()


def stop_worker(app: Litestar) -> None:
    """Stop the import worker (a job it is running is queued again at the next start)."""
    worker = app.state.get("import_worker")
    if isinstance(worker, ImportWorker):
        worker.stop(timeout=2)


ON_STARTUP = [start_worker]
ON_SHUTDOWN = [stop_worker]
ROUTES: list[Any] = [
    Router(path="/", route_handlers=[upload_households, upload_enterprises, jobs, job])
]
