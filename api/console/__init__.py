"""The console: server-rendered pages (Jinja templates + htmx), one set per user, in Chinese.

Served by the same application as the API (`api.app.create_app`), over the same store
functions and the same `Caller` scope, so the API's authorization matrix holds for pages too.
What differs is the edge:

- a console login is a server-side session (cookie `zhida_session`, HttpOnly, SameSite=Lax,
  Secure unless serving on loopback — `ZHIDA_COOKIE_SECURE`), not a bearer token;
- every state-changing console request carries a CSRF token (`CSRFConfig`: htmx sends it as
  the `x-csrftoken` header from `<body hx-headers>`, plain forms as `_csrf_token`); the bearer
  API (`/api/…`) is exempt, as a token in a header is not sent by a browser on its own;
- errors are the API's problems shown as HTML (`api.console.web.problem_page`);
- every asset (htmx 2.0.11 from `npm pack htmx.org@2.0.11`, the style sheet; charts are SVG drawn
  on the server) is served from `/static/console`, so a county intranet with no Internet works.

Pages by role: `api.console.pages.*` (village, review, enterprise, writer, supervision).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from litestar import Request, Response
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.exceptions import PermissionDeniedException
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.router import Router
from litestar.stores.memory import MemoryStore
from litestar.template.config import TemplateConfig

from api.console import filters
from api.console.pages import ROUTES as PAGE_ROUTES
from api.console.session import home, login_routes, logout, root
from api.console.web import NEW_SESSION, VIEWER_DEPENDENCY, problem_page
from api.settings import ApiSettings

__all__ = ["CONSOLE_PATHS", "Console", "console"]

TEMPLATES = Path(__file__).parent / "templates"
CONSOLE_PATHS = ("^/console", "^/$")
_CSRF_SAYS = "页面已过期或来源不明（CSRF 令牌校验未通过）：请刷新页面后再提交"
_API_PATHS = ["^/api/", "^/schema", "^/static/"]


@dataclass
class Console:
    """What the application needs to serve the console."""

    routes: list[Any]
    template_config: TemplateConfig[JinjaTemplateEngine]
    csrf_config: CSRFConfig
    session: ServerSideSessionConfig
    stores: dict[str, Any] = field(default_factory=dict)

    def handlers(
        self, api_handlers: dict[type[Exception] | int, Callable[..., Response[Any]]]
    ) -> dict[type[Exception] | int, Callable[..., Response[Any]]]:
        """The API's exception handlers, each answering a console request as a page."""
        return {kind: _for_pages(handler) for kind, handler in api_handlers.items()}


def _for_pages(handler: Callable[..., Response[Any]]) -> Callable[..., Response[Any]]:
    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        answer = handler(request, exc)
        if not request.url.path.startswith("/console"):
            return answer
        body = answer.content if isinstance(answer.content, dict) else {}
        if isinstance(exc, PermissionDeniedException) and "CSRF" in str(exc.detail):
            body = {**body, "detail": _CSRF_SAYS}
        return problem_page(request, body, answer.status_code or 500)

    return handle


class _Backend(ServerSideSessionBackend):
    """Server-side sessions whose ID changes at login, so an ID planted in a browser before
    the login (session fixation) never becomes a logged-in session."""

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        if connection.scope.get(NEW_SESSION) is True:
            fresh = self.generate_session_id()
            connection.scope[NEW_SESSION] = fresh  # type: ignore[literal-required]
            return fresh
        given = connection.scope.get(NEW_SESSION)
        return given if isinstance(given, str) else super().get_session_id(connection)


class _SessionConfig(ServerSideSessionConfig):
    _backend_class = _Backend


def _csrf_secret(settings: ApiSettings) -> str:
    """A key of its own for CSRF tokens, derived from the token secret."""
    key = settings.token_secret.encode()
    return hmac.new(key, b"zhida console csrf", hashlib.sha256).hexdigest()


def console(settings: ApiSettings) -> Console:
    """The console's routes, templates, session and CSRF settings for `settings`."""
    template_config = TemplateConfig(
        directory=TEMPLATES, engine=JinjaTemplateEngine, engine_callback=filters.install
    )
    pages = Router(
        path="/",
        route_handlers=[home, logout, *PAGE_ROUTES],
        dependencies={"viewer": Provide(VIEWER_DEPENDENCY, sync_to_thread=True)},
        include_in_schema=False,
    )
    csrf = CSRFConfig(
        secret=_csrf_secret(settings),
        cookie_name="zhida_csrf",
        cookie_secure=settings.cookie_secure,
        cookie_samesite="strict",
        header_name="x-csrftoken",
        exclude=_API_PATHS,
    )
    session = _SessionConfig(
        key="zhida_session",
        max_age=settings.session_minutes * 60,
        renew_on_access=True,
        secure=settings.cookie_secure,
        samesite="lax",
        exclude=_API_PATHS,
        store="console_sessions",
    )
    return Console(
        routes=[root, *login_routes(settings), pages],
        template_config=template_config,
        csrf_config=csrf,
        session=session,
        stores={"console_sessions": MemoryStore()},
    )
