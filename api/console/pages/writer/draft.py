"""A draft, from upload to publish (`/console/writer/draft…`), over the API's own functions.

1. `POST …/draft/check` (multipart: a file, or the text pasted) — `lint_draft` and
   `run_draft_tests`, as `POST /api/writer/lint` and `/test`: each finding at `file:line:col`
   beside its line of the source, each case passed or what differed. A draft without lint
   errors is kept in the session (`api.console.pages.writer.held`); the page carries its key.
2. `POST …/draft/impact` — `store.drafts.draft_impact` inside the writer's region, as
   `POST /api/writer/impact`: who gains, loses, is raised or lowered, by township and village,
   as tables and charts.
3. `POST …/draft/publish` — `store.drafts.publish_draft` then `Ctx.replace_catalogue`, as
   `POST /api/writer/publish`: refused (each error and failing case named) unless lint and
   the cases pass; written atomically into the served folder and audited as the writer.

Each step answers an htmx fragment swapped under the form that sent it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import msgspec
from litestar import get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Template

from api.auth import Caller
from api.console.pages.writer.held import Held, held, keep
from api.console.pages.writer.views import impact_rows, source_lines
from api.console.web import HtmlRequest, ViewerDep, page, page_needs, problem_view
from api.context import Ctx
from api.deps import CtxDep
from api.params import day_or_today
from api.problems import Problem, ProblemError
from api.routes.writer.schemas import MAX_DRAFT, PublishOut
from matcher.explain.drafts import DRAFT_NAME, DraftRefused, lint_draft, run_draft_tests
from rules.clock import today
from rules.errors import ZhidaError
from store.drafts import OutsideRegion, draft_impact, publish_draft

__all__ = ["check_draft", "draft_page", "impact_preview", "publish"]

WRITER = page_needs("policy_writer")
FORM = Body(media_type=RequestEncodingType.URL_ENCODED)
_NAME_SAYS = (
    "应以字母或数字开头，只含字母、数字、点、横线和下划线，以 .yaml 或 .yml 结尾，不超过 60 个字符"
)
_REGION_SAYS = "应为 1–12 位数字的区划代码（如乡镇的 9 位代码），或不填（整个辖区）"


@dataclass
class DraftUpload:
    """The upload form: a file, or its text pasted; the file name findings are named by."""

    file: UploadFile | None = None
    text: str = ""
    name: str = ""


@dataclass
class ImpactForm:
    """A checked draft's key, the evaluation date (default today) and a narrower region."""

    draft: str = ""
    on: str = ""
    region: str = ""


@dataclass
class PublishForm:
    """A checked draft's key."""

    draft: str = ""


@get("/console/writer/draft", guards=[WRITER], sync_to_thread=False)
def draft_page(viewer: ViewerDep, request: HtmlRequest) -> Template:
    """The upload form; the check, impact and publish steps appear under it."""
    return page(request, "console/writer/draft.html", max_kb=MAX_DRAFT // 1024)


def _refuse(field: str, said: str) -> ProblemError:
    return ProblemError(422, said, [Problem(field, said)])


def _read(data: DraftUpload) -> tuple[str, str]:
    """The draft's text and file name from the form (a file chosen wins over pasted text)."""
    upload = data.file if data.file is not None and data.file.filename else None
    raw = upload.file.read(MAX_DRAFT * 4 + 1) if upload else b""
    name = data.name.strip() or (Path(upload.filename).name if upload else "") or "draft.yaml"
    if not DRAFT_NAME.fullmatch(name):
        raise _refuse("name", f"文件名 {name[:64]!r} 不合要求：{_NAME_SAYS}")
    try:
        text = raw.decode("utf-8-sig") if upload else data.text.replace("\r\n", "\n")
    except UnicodeDecodeError:
        said = f"{name} 不是 UTF-8 文本：请把文件另存为 UTF-8 编码后再上传"
        raise _refuse("file", said) from None
    if not text.strip():
        raise _refuse("file", "没有收到草稿：请选择草稿文件，或把草稿内容粘贴到文本框里")
    if len(text) > MAX_DRAFT:
        raise _refuse("file", f"{name} 超过 {MAX_DRAFT // 1024} KB：一个政策文件应小于这个大小")
    return text, name


@post("/console/writer/draft/check", guards=[WRITER], sync_to_thread=True, status_code=200)
def check_draft(
    ctx: CtxDep, viewer: ViewerDep, request: HtmlRequest,
    data: Annotated[DraftUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> Template:  # fmt: skip
    """Lint the draft and run its cases; keep it for the next steps when it has no error."""
    text, name = _read(data)
    lint = lint_draft(ctx.root, text, name).as_data()
    tests = run_draft_tests(ctx.root, text, name).as_data()
    ok = lint["errors"] == 0 and tests["ok"] and tests["ran"]
    kept = keep(request, text, name, ok=ok) if lint["errors"] == 0 else None
    return page(
        request, "console/writer/_check.html", name=name, lint=lint, tests=tests, ok=ok,
        held=kept, lines=source_lines(text, lint, tests), on=today(), form=ImpactForm(),
    )  # fmt: skip


def _day(text: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise _refuse("on", f"{text[:20]!r} 不是日期：应为 YYYY-MM-DD") from None


def _impact(ctx: Ctx, viewer: Caller, draft: Held, form: ImpactForm) -> dict[str, Any]:
    region = form.region.strip()
    if region and not (region.isdigit() and len(region) <= 12):
        raise _refuse("region", f"{region[:20]!r}：{_REGION_SAYS}")
    on = day_or_today(_day(form.on), body=True)
    try:
        return draft_impact(
            engine=ctx.engine, root=ctx.root, current=ctx.catalogue, text=draft.text,
            name=draft.name, on=on, scope=viewer.scope, region=region or None,
        )  # fmt: skip
    except OutsideRegion as exc:
        raise _refuse("region", str(exc)) from None


@post("/console/writer/draft/impact", guards=[WRITER], sync_to_thread=True, status_code=200)
def impact_preview(
    ctx: CtxDep, viewer: ViewerDep, request: HtmlRequest, data: Annotated[ImpactForm, FORM]
) -> Template:
    """Who gains and who loses inside the writer's region, by township and village."""
    draft: Held | None = None
    try:
        draft = held(request, data.draft)
        answer = _impact(ctx, viewer, draft, data)
    except ZhidaError as exc:  # shown inside the step, its form kept, a field's message beside it
        return page(request, "console/writer/_impact.html", status=_status(exc),
                    held=draft, form=data, problem=problem_view(exc), on=today())  # fmt: skip
    return page(
        request, "console/writer/_impact.html", held=draft, form=data, problem=None,
        answer=answer, policies=impact_rows(answer, ctx.catalogue), on=today(),
    )  # fmt: skip


@post("/console/writer/draft/publish", guards=[WRITER], sync_to_thread=True, status_code=200)
def publish(
    ctx: CtxDep, viewer: ViewerDep, request: HtmlRequest, data: Annotated[PublishForm, FORM]
) -> Template:
    """Publish the checked draft into the served catalogue, then serve the new version."""
    draft: Held | None = None
    try:
        draft = held(request, data.draft)
        done = publish_draft(engine=ctx.engine, root=ctx.root, text=draft.text,
                             name=draft.name, actor=viewer.name)  # fmt: skip
    except DraftRefused as exc:  # each lint error and failing case, at its place
        refused = ProblemError(422, exc.detail, [Problem(w, m) for w, m in exc.problems])
        return page(request, "console/writer/_publish.html", status=422, held=draft,
                    problem=problem_view(refused))  # fmt: skip
    except ZhidaError as exc:
        return page(request, "console/writer/_publish.html", status=_status(exc),
                    held=draft, problem=problem_view(exc))  # fmt: skip
    ctx.replace_catalogue()
    shown = msgspec.convert(done, PublishOut, strict=False)
    return page(request, "console/writer/_published.html", done=shown)


def _status(exc: ZhidaError) -> int:
    """The status the API answers `exc` with."""
    return problem_view(exc).status
