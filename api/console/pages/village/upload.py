"""上传户表: a household sheet uploaded as an import job, its progress, its refused rows.

- `GET /console/village/upload` — the form, the template to fill, the village's recent jobs.
- `POST /console/village/upload` — the sheet (.xlsx/.csv) and the day its rows are checked
  against (default today) become an import job (`store.ingest.jobs.create_job`, the API's
  `POST /api/imports/households`), run by the server's import worker with the village's region
  applied to every row; the answer is the job's box, which htmx polls every second
  (`GET /console/village/upload/{id}`) until the job is done or failed. Done, it shows the
  counts and every refused row by row and column, with what was found and why; the valid rows
  are stored. A file refused at once (not a sheet, empty) is the problem next to the form.
- `GET /console/village/upload/template` — the empty template (`zhida template`'s).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Response, get, post
from litestar.datastructures import State, UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Template

from api.auth import Caller
from api.console.pages.village.shapes import JOB_STATES
from api.console.web import HtmlRequest, ViewerDep, is_htmx, page, page_needs
from api.context import Ctx
from api.deps import CtxDep
from api.params import IdPath, past_day
from api.problems import Problem, ProblemError, found
from api.routes.imports import JobOut, job_out
from sheets.template import write_template
from store.db import read_session
from store.ingest.jobs import create_job, get_job, list_jobs
from store.ingest.worker import ImportWorker

__all__ = ["ROUTES"]

VILLAGE = [page_needs("village")]
RECENT = 10
TEMPLATE_NAME = "户信息表模板.xlsx"


@dataclass
class SheetForm:
    """The upload form: the sheet, and the day its rows are checked against (YYYY-MM-DD)."""

    file: UploadFile
    on: str = ""


def _on(text: str) -> date:
    """The form's day (empty: today), refused by the API's rule when it is not a past day."""
    if not text.strip():
        return past_day(None)
    try:
        return past_day(date.fromisoformat(text.strip()))
    except ValueError:
        said = f"{text[:20]!r}：不是日期；应为 YYYY-MM-DD，且不晚于今天"
        raise ProblemError(422, said, [Problem("on", said)]) from None


def _recent(ctx: Ctx, viewer: Caller) -> list[JobOut]:
    with read_session(ctx.engine) as s:
        jobs = list_jobs(session=s, scope=viewer.scope, limit=RECENT, offset=0)
    return [job_out(j) for j in jobs.items]


@get("/console/village/upload", guards=VILLAGE, sync_to_thread=True)
def upload_page(ctx: CtxDep, viewer: ViewerDep, request: HtmlRequest) -> Template:
    """The upload form and the village's recent import jobs."""
    return page(request, "console/village/upload.html", job=None, jobs=_recent(ctx, viewer),
                job_states=JOB_STATES)  # fmt: skip


@post("/console/village/upload", guards=VILLAGE, sync_to_thread=True, status_code=200)
def upload_sheet(
    ctx: CtxDep, viewer: ViewerDep, request: HtmlRequest, state: State,
    data: Annotated[SheetForm, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> Template:  # fmt: skip
    """Queue the sheet's import; the job's box (htmx), or the page showing it."""
    job = create_job(engine=ctx.engine, scope=viewer.scope, kind="households",
                     file_name=data.file.filename or "", source=data.file.file,
                     on=_on(data.on))  # fmt: skip
    worker = state.get("import_worker")
    if isinstance(worker, ImportWorker):
        worker.wake()
    if is_htmx(request):
        return page(request, "console/village/_job.html", job=job_out(job),
                    job_states=JOB_STATES)  # fmt: skip
    return page(request, "console/village/upload.html", job=job_out(job),
                jobs=_recent(ctx, viewer), job_states=JOB_STATES)  # fmt: skip


@get("/console/village/upload/{job_id:int}", guards=VILLAGE, sync_to_thread=True)
def job_page(ctx: CtxDep, viewer: ViewerDep, request: HtmlRequest, job_id: IdPath) -> Template:
    """One import job: its progress while it runs, then its counts and refused rows."""
    with read_session(ctx.engine) as s:
        job = job_out(found(get_job(session=s, scope=viewer.scope, job_id=job_id),
                            f"导入任务 {job_id} "))  # fmt: skip
    if is_htmx(request):
        return page(request, "console/village/_job.html", job=job, job_states=JOB_STATES)
    return page(request, "console/village/upload.html", job=job, jobs=_recent(ctx, viewer),
                job_states=JOB_STATES)  # fmt: skip


@get("/console/village/upload/template", guards=VILLAGE, sync_to_thread=True)
def template_file(ctx: CtxDep) -> Response[bytes]:
    """The empty household sheet (header, drop-downs, the guide sheet 说明)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "template.xlsx"
        write_template(path, ctx.catalogue.facts, "household")
        body = path.read_bytes()
    return Response(
        body,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(TEMPLATE_NAME)}"},
    )


ROUTES: list[Any] = [upload_page, upload_sheet, template_file, job_page]
