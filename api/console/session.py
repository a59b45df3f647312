"""Logging in and out of the console, and the start page of each role.

The login form posts the user's name, password and (for a person with several roles) the role
to act in; `store.accounts.log_in` checks them exactly as the API's login does, and the session
then holds who they are. Logging out clears the session on the server. Failed logins are one
message whichever of the two was wrong, and are rate-limited per address as the API's are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from litestar import get, post
from litestar.enums import RequestEncodingType
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template

from api.console.web import HOME, NEW_SESSION, SESSION_KEY, HtmlRequest, page, role_label, viewer_of
from api.context import Ctx
from api.settings import ApiSettings
from rules.errors import ZhidaError
from store.accounts import log_in
from store.db import read_session
from store.users import get_user

__all__ = ["home", "login_routes", "logout", "root"]


@dataclass
class LoginForm:
    """The login form's fields."""

    username: str = ""
    password: str = ""
    role: str = ""
    next: str = ""


def _safe_next(target: str) -> str | None:
    """`next` if it is a console path on this server (never another site)."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/console") or "\\" in target:
        return None
    return target


def login_routes(settings: ApiSettings) -> list[Any]:
    """The login page and its form, rate-limited like `POST /api/auth/login`."""
    limit = RateLimitConfig(rate_limit=("minute", settings.login_per_minute))

    @get("/console/login", sync_to_thread=False, include_in_schema=False)
    def login_page(request: HtmlRequest, next: FromQuery[str] = "") -> Template:
        return page(request, "console/login.html", form=LoginForm(next=next), message=None,
                    insecure=_insecure(request, settings))  # fmt: skip

    @post(
        "/console/login",
        sync_to_thread=True,
        include_in_schema=False,
        middleware=[limit.middleware],
        status_code=200,
    )
    def login_form(
        request: HtmlRequest,
        data: Annotated[LoginForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Any:
        ctx: Ctx = request.app.state.ctx
        form = LoginForm(username=data.username.strip(), role=data.role, next=data.next)
        message = "用户名或密码不对"
        roles: list[tuple[str, str]] = []
        if (
            0 < len(form.username) <= 64
            and len(data.password) <= 128
            and "\x00" not in (form.username + data.password)
        ):
            try:
                done = log_in(ctx.engine, name=form.username, password=data.password,
                              role=form.role or None)  # fmt: skip
            except ZhidaError as exc:  # the password was right; the role is missing or not held
                done, message = None, str(exc)
                roles = _roles_of(ctx, form.username)
            if done is not None:
                r = done.role
                request.scope[NEW_SESSION] = True  # type: ignore[literal-required]
                request.set_session({SESSION_KEY: {
                    "name": done.user.name, "role": r.role, "region": r.region_code or "",
                    "department": r.department, "subject_key": r.subject_key,
                }})  # fmt: skip
                return Redirect(_safe_next(form.next) or HOME.get(r.role, "/console/"))
        return page(request, "console/login.html", status=401 if not roles else 200,
                    form=form, message=message, roles=roles,
                    insecure=_insecure(request, settings))  # fmt: skip

    return [login_page, login_form]


def _insecure(request: HtmlRequest, settings: ApiSettings) -> bool:
    """Whether the browser came over plain HTTP while the cookies are HTTPS-only: it would
    drop the session cookie, and the login would seem to do nothing — the page says why."""
    return settings.cookie_secure and request.url.scheme != "https"


def _roles_of(ctx: Ctx, name: str) -> list[tuple[str, str]]:
    """The roles (code, label) a user holds, offered once their password was right."""
    with read_session(ctx.engine) as session:
        user = get_user(session=session, name=name)
    return [(r.role, role_label(r.role)) for r in user.roles] if user else []


@post("/console/logout", sync_to_thread=False, include_in_schema=False, status_code=303)
def logout(request: HtmlRequest) -> Redirect:
    """End the session (on the server too) and go back to the login page."""
    request.clear_session()
    return Redirect("/console/login", status_code=303)


@get("/console", sync_to_thread=True, include_in_schema=False)
def home(request: HtmlRequest) -> Redirect:
    """The viewer's start page (the login page when nobody is logged in)."""
    caller = viewer_of(request)
    return Redirect(HOME.get(caller.role, "/console/login") if caller else "/console/login")


@get("/", sync_to_thread=False, include_in_schema=False)
def root() -> Redirect:
    """The address `zhida serve` prints opens the console."""
    return Redirect("/console")
