"""What every console page is built with: who is looking, the page response, its messages.

    @get("/console/queue", guards=[page_needs("township", "county", "department")])
    def queue_page(ctx: CtxDep, viewer: ViewerDep, request: HtmlRequest) -> Template:
        ...
        return page(request, "console/review/queue.html", items=items)

A console login is a server-side session (`api.console.session`): the session holds the user's
name and the one role they act in, and each request rebuilds the same `Caller` a bearer token
gives the API — checked the same way (`api.auth.still_holds`: a disabled user or a revoked role
is logged out at once), so `caller.scope` scopes every store query exactly as for the API.

A page's handler calls the store (and the API's own shape functions) and hands the result to a
template; it decides nothing itself. An error is the API's problem (`api.problems.problem_of`)
shown as HTML: a whole page for a page, and for an htmx request a fragment swapped into the
element the request names (`hx-target`), so a form's problems appear next to the form.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

from litestar import MediaType, Request, Response
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Redirect, Template

from api.auth import Caller, still_holds
from api.context import Ctx
from api.problems import Problem, ProblemError, problem_of
from matcher.profiles.masking import mask_ids_in_text
from rules.errors import ZhidaError
from store.users import ROLES

__all__ = [
    "HOME",
    "NAV",
    "SESSION_KEY",
    "NEW_SESSION",
    "HtmlRequest",
    "NotLoggedIn",
    "ProblemView",
    "ViewerDep",
    "is_htmx",
    "page",
    "page_needs",
    "problem_page",
    "problem_view",
    "role_label",
    "viewer_of",
]

HtmlRequest = Request[Any, Any, Any]
SESSION_KEY = "who"
NEW_SESSION = "zhida.new_session"  # a login sets it in the scope: the session gets a new ID

# Where each role starts, and the pages its menu offers (path, label).
HOME = {
    "village": "/console/village",
    "township": "/console/queue",
    "county": "/console/queue",
    "department": "/console/queue",
    "enterprise": "/console/enterprise",
    "policy_writer": "/console/writer",
    "supervisor": "/console/supervision",
}
NAV: dict[str, tuple[tuple[str, str], ...]] = {
    "village": (
        ("/console/village", "本村户"),
        ("/console/village/upload", "上传户表"),
        ("/console/village/claims", "代办申领"),
    ),
    "township": (("/console/queue", "待办申领"),),
    "county": (("/console/queue", "待办申领"),),
    "department": (("/console/queue", "待办申领"), ("/console/department/files", "导出与发放")),
    "enterprise": (
        ("/console/enterprise", "政策通知"),
        ("/console/enterprise/settings", "接收设置"),
    ),
    "policy_writer": (("/console/writer", "政策目录"), ("/console/writer/draft", "上传草稿")),
    "supervisor": (
        ("/console/supervision", "覆盖情况"),
        ("/console/supervision/unclaimed", "应享未享"),
        ("/console/supervision/overdue", "超时事项"),
        ("/console/supervision/outcomes", "办理成效"),
    ),
}


class NotLoggedIn(HTTPException):
    """No console login (or it ended): the page sends the browser to the login page."""

    status_code = 401


def viewer_of(request: ASGIConnection[Any, Any, Any, Any]) -> Caller | None:
    """The caller behind the console session, or None (not logged in, or no longer allowed)."""
    who = request.session.get(SESSION_KEY) if "session" in request.scope else None
    if not isinstance(who, dict):
        return None
    try:
        caller = Caller(
            name=str(who["name"]), role=str(who["role"]), region=str(who["region"]),
            department=who.get("department"), subject_key=who.get("subject_key"),
        )  # fmt: skip
    except KeyError:
        return None
    ctx: Ctx = request.app.state.ctx
    if not still_holds(ctx.engine, caller.name, caller.role, caller.region, caller.department):
        return None
    return caller


def _viewer(request: HtmlRequest) -> Caller:
    caller = viewer_of(request)
    if caller is None:
        raise NotLoggedIn("请先登录")
    return caller


ViewerDep = NamedDependency[Caller]
VIEWER_DEPENDENCY = _viewer  # registered as `viewer` on the console's router (api.console)


def page_needs(*roles: str) -> Any:
    """A guard: only these roles may open the page (others see a 403 page naming who may)."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        caller = viewer_of(connection)
        if caller is None:
            raise NotLoggedIn("请先登录")
        if caller.role not in roles:
            allowed = "、".join(ROLES[r].label if r in ROLES else r for r in roles)
            raise PermissionDeniedException(f"无权查看：这个页面只对这些角色开放：{allowed}")

    return guard


def is_htmx(request: HtmlRequest) -> bool:
    """Whether htmx sent the request and wants a fragment (not when it restores a page from
    history after Back: then it wants the whole page)."""
    return (
        request.headers.get("hx-request") == "true"
        and request.headers.get("hx-history-restore-request") != "true"
    )


def role_label(role: str) -> str:
    spec = ROLES.get(role)
    return spec.label if spec else role


def page(request: HtmlRequest, template: str, *, status: int = 200, **context: Any) -> Template:
    """The page (or, for htmx, the fragment) `template` with `context`, and what every page
    shows: the viewer, their menu, today."""
    caller = viewer_of(request) if "session" in request.scope else None
    context.setdefault("viewer", caller)
    context.setdefault("viewer_role", role_label(caller.role) if caller else "")
    context.setdefault("nav", NAV.get(caller.role, ()) if caller else ())
    context.setdefault("today", date.today())
    context.setdefault("path", request.url.path)
    return Template(
        template_name=template, context=context, status_code=status, media_type=MediaType.HTML
    )


@dataclass(frozen=True)
class ProblemView:
    """A problem as a page shows it: the status, one sentence, and what each place is wrong."""

    status: int
    title: str
    detail: str
    errors: Sequence[Problem] = ()

    def at(self, path: str) -> list[str]:
        """The messages about `path` (a form field's name, `rows[3].名称`)."""
        return [e.message for e in self.errors if e.path == path]

    @property
    def paths(self) -> set[str]:
        return {e.path for e in self.errors}


_TITLES = {400: "请求有误", 401: "需要登录", 403: "无权办理", 404: "找不到", 409: "冲突",
           413: "文件过大", 422: "填写有误", 429: "操作过于频繁", 503: "服务暂不可用"}  # fmt: skip


def problem_view(exc: ZhidaError) -> ProblemView:
    """A domain error (or a handler's ProblemError) as the page shows it, IDs masked."""
    status, detail, errors = problem_of(exc)
    masked = [Problem(e.path, mask_ids_in_text(e.message)) for e in errors]
    return ProblemView(status, _TITLES.get(status, "出错了"), mask_ids_in_text(detail), masked)


def problem_page(request: HtmlRequest, body: Mapping[str, Any], status: int) -> Response[Any]:
    """The API's problem-details `body` as the console shows it: a login redirect for 401, a
    fragment for htmx (swapped where the request's target is), a page otherwise."""
    if status == 401:
        target = "/console/login?next=" + quote(request.url.path)
        if is_htmx(request):
            return Response("", status_code=200, headers={"HX-Redirect": target})
        return Redirect(target)
    errors = [
        Problem(str(e.get("path", "")), str(e.get("message", ""))) for e in body.get("errors", [])
    ]
    view = ProblemView(
        status, str(body.get("title", "出错了")), str(body.get("detail", "")), errors
    )
    name = "console/problem_fragment.html" if is_htmx(request) else "console/problem.html"
    return page(request, name, status=status, problem=view)


def raise_problem(status: int, detail: str, errors: Sequence[Problem] = ()) -> None:
    """Refuse with the API's problem (shown as the console shows problems)."""
    raise ProblemError(status, detail, errors)
