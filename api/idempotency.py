"""`Idempotency-Key` on a state-changing request: the thin HTTP half of `store.idempotency`.

    @post("/api/claims/{claim_id:int}/confirm", ...)
    def confirm(..., idempotency_key: IdempotencyHeader = None) -> Response[StepOut]:
        return idempotent(request, caller, ctx, idempotency_key, "claims.confirm",
                          fingerprint, lambda: do_the_step())

Every state-changing POST uses it: the claims' steps, batch and payments, the imports'
uploads, the subscriptions' add, rotate and ping, and the writer's publish (lint, test and
impact change nothing and take no key).

Without a key the work runs and answers as usual. With one: a key longer than 255 characters
(or empty) is a 400 naming the header; the key is claimed before the work (`claim_key`); the
first answer — its status and its JSON body, errors included, exactly as sent — is saved and
replayed for every retry of the same request with the header `Idempotent-Replayed: true`;
another request under the key is a 422 naming the header; a retry arriving while the first
is still running is a 409. Any area can use it: pass the operation's name, what identifies
the request (the parsed body; an upload's file hash) and the work as a function; `headers`
derives the answer's headers (a `Location`) from the work's result, saved and replayed with it.
An error raised by the work is answered (and saved) by the route's own exception handlers
before the application's, as it would be without a key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import msgspec
from litestar import Request, Response
from litestar.params import HeaderParameter

from api.auth import Caller
from api.context import Ctx
from api.problems import PROBLEM_JSON, Problem, ProblemError, handlers
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
# operations whose answer shows a secret once: saved encrypted (store.idempotency)
SECRET_ANSWERS = frozenset({"subscriptions.add", "subscriptions.rotate"})
IdempotencyHeader = Annotated[
    str | None,
    HeaderParameter(
        name=HEADER, required=False,
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
    """The problem answer the route's exception handlers (then the application's) give."""
    table = {**handlers(), **request.route_handler.resolve_exception_handlers()}
    for kind in type(exc).__mro__:
        if kind in table:
            answer: Response[Any] = table[kind](request, exc)
            return answer
    raise exc  # not an Exception: let it through


def _answer(
    body: bytes, status: int, headers: dict[str, str] | None = None, replayed: bool = False
) -> Response[Any]:
    media = PROBLEM_JSON if status >= 400 else "application/json"
    sent = {**(headers or {}), **({REPLAYED: "true"} if replayed else {})}
    return Response(content=body, status_code=status, media_type=media, headers=sent or None)


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
    headers: Callable[[Any], dict[str, str]] | None = None,
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
        headers: the headers of a successful answer, from the work's result (saved, replayed).

    Returns:
        The answer: the work's, or the first request's replayed.

    Raises:
        ProblemError: 400 for a malformed key, 409 while the first request runs, 422 for a
            key used for another request (without a key, whatever `work` raises).
    """
    if key is None:
        done = work()
        return _answer(msgspec.json.encode(done), status, headers(done) if headers else None)
    hashed = request_hash(request.method, request.url.path, msgspec.to_builtins(fingerprint))
    try:
        saved = claim_key(ctx.engine, user=caller.name, key=_checked(key), operation=operation,
                          request=hashed)  # fmt: skip
    except KeyInUse as exc:
        raise ProblemError(409, str(exc), [Problem(_WHERE, str(exc))]) from None
    except KeyReused as exc:
        raise ProblemError(422, str(exc), [Problem(_WHERE, str(exc))]) from None
    if saved is not None:
        sent = saved.body.get("headers") or None
        return _answer(str(saved.body["json"]).encode(), saved.status, sent, replayed=True)
    sent = None
    try:
        done = work()
        body, code = msgspec.json.encode(done), status
        sent = headers(done) if headers else None
    except Exception as exc:  # saved like a success: a retry gets the same answer (Stripe)
        failed = _failed(request, exc)
        body, code = msgspec.json.encode(failed.content), failed.status_code or 500
    save_answer(ctx.engine, user=caller.name, key=key, status=code,
                body={"json": body.decode(), "headers": sent or {}},
                sealed=operation in SECRET_ANSWERS)  # fmt: skip
    return _answer(body, code, sent)
