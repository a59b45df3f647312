"""The Litestar application: `create_app(settings, engine)`.

    app = create_app(read_settings(root), open_engine(), on_startup=[...], on_shutdown=[...])

Handlers are thin: each area's routes (`api.routes.*`) call the store and matcher functions the
CLI uses, with request and response shapes of their own (msgspec structs, never table models).
Bearer tokens (`api.auth`) guard everything but the login, the health check, the schema and
(by default) the rule service. OpenAPI 3.1 is at `/schema` (`/schema/openapi.json`, Swagger UI at
`/schema/swagger`), its JavaScript served from `/static` (county intranets reach no CDN).
Errors are problem details (`api.problems`). The console's pages (`api.console`) are served
by the same application, under `/console`, with a session login and CSRF protection. The
scheduler, when the service runs one, is started and stopped by the `on_startup` /
`on_shutdown` hooks the caller passes (`zhida serve`), so this package never imports `jobs`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from litestar import Litestar, get
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, Contact
from litestar.static_files import create_static_files_router
from sqlalchemy import Engine

from api.auth import OPEN_PATHS, RULE_PATHS, jwt_auth, login_route, me
from api.console import console
from api.context import Ctx
from api.deps import DEPENDENCIES
from api.hosts import HostCheck
from api.problems import PROBLEMS, handlers
from api.routes import claims, imports, notices, rules, subjects, supervision, writer
from api.settings import ApiSettings

__all__ = ["STATIC", "create_app"]

STATIC = Path(__file__).parent / "static"
_SWAGGER = "/static/swagger-ui"


@get(
    "/api/health",
    tags=["服务"],
    summary="服务是否在运行",
    sync_to_thread=False,
    security=[],
    responses=PROBLEMS,
)
def health() -> dict[str, str]:
    return {"status": "ok"}


def _openapi() -> OpenAPIConfig:
    swagger = SwaggerRenderPlugin(
        js_url=f"{_SWAGGER}/swagger-ui-bundle.js",
        css_url=f"{_SWAGGER}/swagger-ui.css",
        standalone_preset_js_url=f"{_SWAGGER}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{_SWAGGER}/favicon-32x32.png'>",
        path="/swagger",
    )
    return OpenAPIConfig(
        title="直达 zhida API",
        version="1",
        description="免申即享、惠企政策直达：规则匹配、户与企业资料、申领办理、通知、政策编写与督查。",
        contact=Contact(name="zhida"),
        path="/schema",
        render_plugins=[swagger],
        components=Components(),
        use_handler_docstrings=True,
    )


def create_app(
    settings: ApiSettings,
    engine: Engine,
    *,
    on_startup: Sequence[Callable[[], Any]] = (),
    on_shutdown: Sequence[Callable[[], Any]] = (),
    debug: bool = False,
) -> Litestar:
    """The application serving `settings.root`'s catalogue from `engine`'s database.

    Raises:
        RuleError: the catalogue does not load.
    """
    ctx = Ctx.load(engine, settings)
    auth = jwt_auth(settings)
    pages = console(settings)
    route_handlers: list[Any] = [
        health,
        login_route(settings, auth),
        me,
        create_static_files_router(path="/static", directories=[STATIC], include_in_schema=False),
        *pages.routes,
    ]
    for area in (rules, subjects, imports, claims, notices, writer, supervision):
        route_handlers.extend(area.ROUTES)
    open_paths = (*OPEN_PATHS, *(RULE_PATHS if settings.rules_public else ()))
    cors = CORSConfig(allow_origins=list(settings.cors_origins)) if settings.cors_origins else None
    app = Litestar(
        route_handlers=route_handlers,
        dependencies=DEPENDENCIES,
        exception_handlers=pages.handlers(handlers()),
        on_app_init=[auth.on_app_init],
        on_startup=[*on_startup, *imports.ON_STARTUP],
        on_shutdown=[*imports.ON_SHUTDOWN, *on_shutdown],
        openapi_config=_openapi(),
        middleware=[HostCheck(allowed=settings.allowed_hosts), pages.session.middleware],
        csrf_config=pages.csrf_config,
        template_config=pages.template_config,
        stores=pages.stores,
        cors_config=cors,
        request_max_body_size=settings.max_body_bytes,
        state=State({"ctx": ctx}),
        debug=debug,
        logging_config=None,  # the CLI's logging (--log-level, IDs masked), not Litestar's INFO
    )
    _open_in_schema(app, open_paths)
    return app


def _open_in_schema(app: Litestar, patterns: Sequence[str]) -> None:
    """Say in the schema that the open paths need no token: JWTAuth puts its bearer scheme on
    the whole API, and a handler's own `security=[]` does not take it off."""
    for path, item in (app.openapi_schema.paths or {}).items():
        if any(re.match(p, path) for p in patterns):
            for op in (item.get, item.put, item.post, item.delete, item.patch):
                if op is not None:
                    op.security = []
