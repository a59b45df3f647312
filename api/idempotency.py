"""`Idempotency-Key` on a state-changing request: the thin HTTP half of `store.idempotency`.

    @post("/api/claims/{claim_id:int}/confirm", ...)
    def confirm(..., idempotency_key: IdempotencyHeader = None) -> Response[StepOut]:
        return idempotent(request, caller, ctx, idempotency_key, "claims.confirm",
                          fingerprint, lambda: do_the_step())

Without a key the work runs and answers as usual. With one: a key longer than 255 characters
(or empty) is a 400 naming the header; the key is claimed before the work (`claim_key`); the
first answer — its status and its JSON body, errors included, exactly as sent — is saved and
replayed for every retry of the same request with the header `Idempotent-Replayed: true`;
another request under the key is a 422 naming the header; a retry arriving while the first
is still running is a 409. Any area can use it: pass the operation's name, what identifies
the request (the parsed body; an upload's file hash) and the work as a function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.params import Parameter

from api.auth import Caller
from api.context import Ctx
from api.problems import PROBLEM_JSON, Problem, ProblemError, handlers
from rules.errors import ZhidaError
from store.idempotency import (
    HEADER,
    MAX_KEY,
    KeyInUse,
    KeyReused,
    claim_key,
    request_hash,
    save_answer,
)

__all__ = ["REPLAYED", "IdempotencyHeader", "idempotent"]

REPLAYED = "Idempotent-Replayed"
IdempotencyHeader = Annotated[
    str | None,
    Parameter(
        header=HEADER, required=False,
        description="幂等键（1–255 个字符，建议 UUID）：重试同一请求时带同一个键，只办理一次",
    ),
]  # fmt: skip
_WHERE = f"header.{HEADER}"


def _checked(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY:
        said = f"长 {len(key)} 个字符，应为 1–{MAX_KEY} 个字符（建议 UUID）"
        raise ProblemError(400, f"{HEADER} 请求头：{said}", [Problem(_WHERE, said)])
    return key


def _failed(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The problem answer the application's exception handlers give for `exc`."""
    table = handlers()
    for kind in (ZhidaError, HTTPException, Exception):
        if isinstance(exc, kind):
            answer: Response[Any] = table[kind](request, exc)
            return answer
    raise exc  # not an Exception: let it through


def _answer(body: bytes, status: int, replayed: bool = False) -> Response[Any]:
    media = PROBLEM_JSON if status >= 400 else "application/json"
    headers = {REPLAYED: "true"} if replayed else None
    return Response(content=body, status_code=status, media_type=media, headers=headers)


def idempotent(
    request: Request[Any, Any, Any],
    caller: Caller,
    ctx: Ctx,
    key: str | None,
    operation: str,
    fingerprint: Any,
    work: Callable[[], Any],
    *,
    status: int = 200,
) -> Response[Any]:
    """Run `work` once per (caller, key) and request (module docstring).

    Args:
        request: the request (its method and path are part of what the key stands for).
        caller: who asks (a key belongs to one caller).
        ctx: the service (its engine).
        key: the `Idempotency-Key` header, or None.
        operation: what the request does, e.g. `claims.confirm`.
        fingerprint: what identifies the request besides method and path (JSON-able).
        work: the handler's work; its result is encoded as the JSON body.
        status: the status of a successful answer.

    Returns:
        The answer: the work's, or the first request's replayed.

    Raises:
        ProblemError: 400 for a malformed key, 409 while the first request runs, 422 for a
            key used for another request (without a key, whatever `work` raises).
    """
    if key is None:
        return _answer(msgspec.json.encode(work()), status)
    hashed = request_hash(request.method, request.url.path, msgspec.to_builtins(fingerprint))
    try:
        saved = claim_key(ctx.engine, user=caller.name, key=_checked(key), operation=operation,
                          request=hashed)  # fmt: skip
    except KeyInUse as exc:
        raise ProblemError(409, str(exc), [Problem(_WHERE, str(exc))]) from None
    except KeyReused as exc:
        raise ProblemError(422, str(exc), [Problem(_WHERE, str(exc))]) from None
    if saved is not None:
        return _answer(str(saved.body["json"]).encode(), saved.status, replayed=True)
    try:
        body, code = msgspec.json.encode(work()), status
    except Exception as exc:  # saved like a success: a retry gets the same answer (Stripe)
        failed = _failed(request, exc)
        body, code = msgspec.json.encode(failed.content), failed.status_code or 500
    save_answer(ctx.engine, user=caller.name, key=key, status=code,
                body={"json": body.decode()})  # fmt: skip
    return _answer(body, code)
