"""The policy writer's endpoints (role `policy_writer`; others get 403).

A draft is sent as JSON, `{"text": "<the YAML file>", "name": "water.yaml"}`, at most 256 KB,
and read only through the project's safe YAML loader. Lint and test answer 200 with the report
(`ok` false when something is wrong); impact reads the stored caseload inside the writer's
region; publish is refused with a 422 naming each lint error (`water.yaml:21:11`) and each
failing case, else writes the draft into the served catalogue folder, stores and audits the
version (`catalogue.publish`, by the writer) and swaps the served catalogue
(`store.drafts.publish_draft`, `api.context.Ctx.replace_catalogue`). Publish takes an
`Idempotency-Key` (`api.idempotency`): a retry replays the first answer, never publishes twice;
lint, test and impact change nothing and take none.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, post
from litestar.params import JSONBody

from api.auth import Caller, needs
from api.context import Ctx
from api.deps import CallerDep, CtxDep
from api.idempotency import IdempotencyHeader, idempotent
from api.params import day_or_today
from api.problems import PROBLEMS, Problem, problem_response
from api.routes.writer.schemas import DraftIn, DraftReportOut, ImpactIn, ImpactOut, PublishOut
from matcher.explain.drafts import DraftRefused, lint_draft, run_draft_tests
from store.drafts import draft_impact, publish_draft

__all__ = ["impact", "lint", "publish", "test_cases"]

TAGS = ["政策编写"]
WRITER = needs("policy_writer")


def _as(data: Any, shape: type[Any]) -> Any:
    return msgspec.convert(data, shape, strict=False)


def _refused(request: Request[Any, Any, Any], exc: DraftRefused) -> Response[Any]:
    problems = [Problem(where, message) for where, message in exc.problems]
    return problem_response(request, 422, exc.detail, problems)


HANDLERS: dict[type[Exception] | int, Any] = {DraftRefused: _refused}


@post("/api/writer/lint", tags=TAGS, summary="检查草稿（lint）：位置、问题、建议", status_code=200,
      guards=[WRITER], sync_to_thread=True, responses=PROBLEMS,
      exception_handlers=HANDLERS)  # fmt: skip
def lint(data: JSONBody[DraftIn], ctx: CtxDep) -> DraftReportOut:
    """`zhida lint` of a draft against the served catalogue: every error and warning."""
    return _as(lint_draft(ctx.root, data.text, data.name).as_data(), DraftReportOut)  # type: ignore[no-any-return]


@post("/api/writer/test", tags=TAGS, summary="运行草稿的测试用例", status_code=200,
      guards=[WRITER], sync_to_thread=True, responses=PROBLEMS,
      exception_handlers=HANDLERS)  # fmt: skip
def test_cases(data: JSONBody[DraftIn], ctx: CtxDep) -> DraftReportOut:
    """`zhida test` of a draft: its errors, then each case passed or what differed."""
    return _as(run_draft_tests(ctx.root, data.text, data.name).as_data(), DraftReportOut)  # type: ignore[no-any-return]


@post("/api/writer/impact", tags=TAGS, summary="影响评估：草稿在已存档案上的新增、减少与金额变化",
      status_code=200, guards=[WRITER], sync_to_thread=True, responses=PROBLEMS,
      exception_handlers=HANDLERS)  # fmt: skip
def impact(data: JSONBody[ImpactIn], ctx: CtxDep, caller: CallerDep) -> ImpactOut:
    """`zhida impact` as data, by township and village, inside the writer's region; writes
    nothing."""
    answer = draft_impact(
        engine=ctx.engine, root=ctx.root, current=ctx.catalogue, text=data.text, name=data.name,
        on=day_or_today(data.on, body=True), scope=caller.scope, region=data.region,
    )  # fmt: skip
    return _as(answer, ImpactOut)  # type: ignore[no-any-return]


@post("/api/writer/publish", tags=TAGS, summary="发布草稿（须无错误且用例全部通过）",
      status_code=200, guards=[WRITER], sync_to_thread=True, responses=PROBLEMS,
      exception_handlers=HANDLERS)  # fmt: skip
def publish(
    data: JSONBody[DraftIn], ctx: CtxDep, caller: CallerDep, request: Request[Any, Any, Any],
    idempotency_key: IdempotencyHeader = None,
) -> Response[PublishOut]:  # fmt: skip
    """Publish a draft into the served catalogue (audited); the next match uses it."""
    return idempotent(request, caller, ctx, idempotency_key, "writer.publish", data,
                      lambda: _publish(ctx, caller, data))  # fmt: skip


def _publish(ctx: Ctx, caller: Caller, data: DraftIn) -> PublishOut:
    done = publish_draft(engine=ctx.engine, root=ctx.root, text=data.text, name=data.name,
                         actor=caller.name)  # fmt: skip
    ctx.replace_catalogue()
    return _as(done, PublishOut)  # type: ignore[no-any-return]
