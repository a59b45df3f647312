"""The dependencies every handler may ask for by name: `ctx: CtxDep` (the service) and
`caller: CallerDep` (who is calling)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide

from api.auth import Caller
from api.context import Ctx
from api.problems import ProblemError

__all__ = ["DEPENDENCIES", "CallerDep", "CtxDep"]

# How a handler asks for them: Litestar 2.23+ wants injected parameters marked (an inferred
# dependency warns, and stops working in 3.0).
CtxDep = NamedDependency[Ctx]
CallerDep = NamedDependency[Caller]


def _ctx(state: State) -> Ctx:
    ctx: Ctx = state.ctx
    return ctx


def _caller(request: Request[Any, Any, Any]) -> Caller:
    user = request.scope.get("user")
    if not isinstance(user, Caller):  # an open path asked for a caller: a fault of the route
        raise ProblemError(401, "需要登录：请先 POST /api/auth/login 取得令牌")
    return user


DEPENDENCIES = {
    "ctx": Provide(_ctx, sync_to_thread=False),
    "caller": Provide(_caller, sync_to_thread=False),
}
