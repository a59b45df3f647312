"""Who is calling: argon2 passwords, short-lived JWT bearer tokens, the caller's scope.

`POST /api/auth/login` takes `{"username", "password", "role"?}` and answers a token signed
with HS256 that carries the user's name (`sub`) and the one role they act in, with its region,
department and the enterprise it acts for (`extras`). A person with several roles logs in once
per role. Every later request sends `Authorization: Bearer <token>`; the token is checked, the
user must still be active, and the handler gets a `Caller`, whose `scope` every store query
filters by (`store.scope`).

Login is rate-limited per client address (`ZHIDA_LOGIN_PER_MINUTE`, then 429; the count is
per process, and `X-Forwarded-For` is not trusted). A wrong name and a wrong password get the
same answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import msgspec
from litestar import Request, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import JSONBody
from litestar.security.jwt import JWTAuth, Token
from sqlalchemy import Engine

from api.context import Ctx
from api.problems import PROBLEMS, ProblemError
from api.settings import ApiSettings
from rules.workflow import Actor
from store.accounts import log_in
from store.db import read_session
from store.scope import Scope
from store.users import ROLES, get_user

__all__ = [
    "Caller", "LoginBody", "Me", "TokenOut",
    "jwt_auth", "login_route", "me", "needs", "still_holds",
]  # fmt: skip


@dataclass(frozen=True)
class Caller:
    """The person behind a request, in the one role their token was issued for."""

    name: str
    role: str
    region: str
    department: str | None = None
    subject_key: str | None = None

    @property
    def scope(self) -> Scope:
        return Scope(
            user=self.name, role=self.role, region=self.region,
            department=self.department, subject_key=self.subject_key,
        )  # fmt: skip

    @property
    def actor(self) -> Actor:
        """The workflow actor (`store.users.actor_of`'s, from the token)."""
        who = self.subject_key if self.role == "enterprise" and self.subject_key else self.name
        return Actor(user=who, role=self.role, region=self.region, department=self.department)


class LoginBody(msgspec.Struct, forbid_unknown_fields=True):
    """A login: user name, password, and the role to act in (needed when the user has several)."""

    username: str = msgspec.field()
    password: str = msgspec.field()
    role: str | None = None


class TokenOut(msgspec.Struct):
    """A bearer token and what it lets its holder do."""

    token: str
    token_type: str
    expires_at: datetime
    username: str
    role: str
    region: str
    department: str | None
    subject_key: str | None


def still_holds(engine: Engine, name: str, role: str, region: str, department: Any) -> bool:
    """Whether the token's user is still active and still holds the role it was issued for,
    with the same region and department (a revoked or moved role ends its tokens at once)."""
    with read_session(engine) as session:
        user = get_user(session=session, name=name)
    if user is None or user.disabled_at is not None:
        return False
    held = user.role(role)
    return (
        held is not None and (held.region_code or "") == region and (held.department == department)
    )


async def _caller(token: Token, connection: ASGIConnection[Any, Any, Any, Any]) -> Caller | None:
    extras = token.extras
    role, region = extras.get("role"), extras.get("region")
    if not isinstance(role, str) or not isinstance(region, str):
        return None
    ctx: Ctx = connection.app.state.ctx
    department = extras.get("department")
    if not await anyio.to_thread.run_sync(
        still_holds, ctx.engine, token.sub, role, region, department
    ):
        return None
    return Caller(
        name=token.sub, role=role, region=region,
        department=department, subject_key=extras.get("subject_key"),
    )  # fmt: skip


RULE_PATHS = ("^/api/match$", "^/api/policies", "^/api/facts$", "^/api/catalogue$")
OPEN_PATHS = ("^/api/auth/login$", "^/api/health$", "^/schema", "^/static/", "^/$", "^/console")


def jwt_auth(settings: ApiSettings) -> JWTAuth[Caller, Token]:
    """The bearer-token authentication of the API (the rule service's paths are open when
    `ZHIDA_RULES_PUBLIC` is 1)."""
    exclude = [*OPEN_PATHS, *(RULE_PATHS if settings.rules_public else ())]
    return JWTAuth[Caller, Token](
        retrieve_user_handler=_caller,
        token_secret=settings.token_secret,
        exclude=exclude,
        default_token_expiration=timedelta(minutes=settings.token_minutes),
        description="POST /api/auth/login 取得的令牌",
    )


def needs(*roles: str) -> Any:
    """A guard: only these roles may use the handler (others get 403)."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        caller = connection.user
        if not isinstance(caller, Caller) or caller.role not in roles:
            allowed = "、".join(roles)
            raise PermissionDeniedException(f"无权办理：这个接口只对这些角色开放：{allowed}")

    return guard


def _login(ctx: Ctx, body: LoginBody) -> Any:
    return log_in(ctx.engine, name=body.username, password=body.password, role=body.role)


def login_route(settings: ApiSettings, auth: JWTAuth[Caller, Token]) -> Any:
    """`POST /api/auth/login`, rate-limited per client address."""
    limit = RateLimitConfig(rate_limit=("minute", settings.login_per_minute))

    @post(
        "/api/auth/login",
        tags=["登录"],
        summary="登录，取得令牌",
        middleware=[limit.middleware],
        status_code=200,
        sync_to_thread=True,
        responses=PROBLEMS,
        security=[],
    )
    def login(data: JSONBody[LoginBody], request: Request[Any, Any, Any]) -> TokenOut:
        ctx: Ctx = request.app.state.ctx
        if len(data.username) > 64 or len(data.password) > 128 or "\x00" in data.username:
            raise ProblemError(401, "用户名或密码不对")  # (PostgreSQL cannot even compare a NUL)
        done = _login(ctx, data)
        if done is None:
            raise ProblemError(401, "用户名或密码不对")
        r = done.role
        extras = {
            "role": r.role, "region": r.region_code or "",
            "department": r.department, "subject_key": r.subject_key,
        }  # fmt: skip
        expires = datetime.now(UTC) + timedelta(minutes=settings.token_minutes)
        token = auth.create_token(identifier=done.user.name, token_extras=extras)
        return TokenOut(
            token=token, token_type="Bearer", expires_at=expires, username=done.user.name,
            role=r.role, region=r.region_code or "", department=r.department,
            subject_key=r.subject_key,
        )  # fmt: skip

    return login


class Me(msgspec.Struct):
    """The caller: name, the role their token is for, its region, department and enterprise."""

    username: str
    role: str
    role_label: str
    region: str
    department: str | None
    subject_key: str | None


@get("/api/me", tags=["登录"], summary="当前用户与其角色、辖区", sync_to_thread=False,
     responses=PROBLEMS)  # fmt: skip
def me(caller: NamedDependency[Caller]) -> Me:
    spec = ROLES.get(caller.role)
    return Me(
        username=caller.name, role=caller.role, role_label=spec.label if spec else caller.role,
        region=caller.region, department=caller.department, subject_key=caller.subject_key,
    )  # fmt: skip
