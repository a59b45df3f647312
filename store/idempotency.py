"""Idempotency keys for state-changing requests (RELIABILITY D2, Stripe's semantics).

    hashed = request_hash("POST", "/api/claims/12/confirm", {"on": "2025-03-03"})
    saved = claim_key(engine, user="cun01", key=key, operation="claims.confirm",
                      request=hashed)           # None: ours to do; else the saved answer
    if saved is None:
        status, body = work()
        save_answer(engine, user="cun01", key=key, status=status, body=body)

A key belongs to one caller: the row's primary key is the SHA-256 of the user's name and the
key, so two callers choosing the same key never meet. The key is **claimed before the work**,
by an INSERT in a transaction of its own that commits at once (status `IN_PROGRESS`); the
database's primary key decides every race, on SQLite (writers queue behind BEGIN IMMEDIATE)
and PostgreSQL (the second INSERT waits for the first to commit, then fails) alike. The
loser reads the row: still in progress → `KeyInUse` (409); done with the same request hash →
the saved status and body, replayed as they were (errors included); another request under
the same key → `KeyReused` (422, naming the header).

What is not covered: a request that died between its claim and its answer (the server was
killed) leaves its key in progress; retries answer 409 until `prune_keys` removes it (keys
older than 24 hours may be pruned, `KEEP`). The claims area also passes a per-caller step key
to the claim step itself (`step_key`), so a claim never takes the same step twice even then.
`prune_keys` runs nightly (the scheduler's `prune_idempotency_keys` job, 03:30).

An answer that shows a secret once (a webhook's signing secret, when a subscription is added or
rotated) is saved **sealed** (`save_answer(..., sealed=True)`: encrypted with the key that seals
the subscriptions' own secrets, `store.delivery.secrets`), so the table never holds a secret in
clear; a replay opens it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from rules.errors import ZhidaError
from store.db import read_session, write_session
from store.delivery.secrets import secret_box
from store.tables.claims import IdempotencyKey
from store.tables.types import utcnow

__all__ = [
    "IN_PROGRESS",
    "KEEP",
    "MAX_KEY",
    "KeyInUse",
    "KeyReused",
    "Saved",
    "claim_key",
    "prune_keys",
    "request_hash",
    "row_key",
    "save_answer",
    "step_key",
]

_KEY: Table = IdempotencyKey.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
IN_PROGRESS = 0  # the status of a key whose request has not answered yet
MAX_KEY = 255  # Stripe's limit
KEEP = timedelta(hours=24)  # keys younger than this are never pruned
HEADER = "Idempotency-Key"
SEALED = "sealed"  # the key of an answer saved encrypted


class KeyInUse(ZhidaError):
    """The key's first request is still being answered (the API answers 409)."""


class KeyReused(ZhidaError):
    """The key was used for another request (another path or body; the API answers 422)."""


@dataclass(frozen=True)
class Saved:
    """The first answer given under a key: its status and body, replayed as they were."""

    status: int
    body: Any


def row_key(user: str, key: str) -> str:
    """The primary key of a caller's key: SHA-256 (hex) of the user's name and the key."""
    return hashlib.sha256(f"{user}\x00{key}".encode()).hexdigest()


def step_key(user: str, key: str) -> str:
    """The key a claim step stores (`claim_step.idempotency_key`) for a caller's key: one
    caller's key never collides with another's on the same claim."""
    return "api:" + row_key(user, key)[:40]


def request_hash(method: str, path: str, body: Any) -> str:
    """SHA-256 (hex) of a request: its method, path and body as canonical JSON (key order and
    spacing do not matter; an upload passes its file's hash as the body)."""
    text = json.dumps([method.upper(), path, body], sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"), default=str)  # fmt: skip
    return hashlib.sha256(text.encode()).hexdigest()


def claim_key(engine: Engine, *, user: str, key: str, operation: str, request: str) -> Saved | None:
    """Claim `key` for a request before doing its work.

    Args:
        engine: the database.
        user: the caller's user name.
        key: the key the client sent (1–255 characters; the caller checks the length).
        operation: what the request does, e.g. `claims.confirm` (stored for the record).
        request: `request_hash` of the request.

    Returns:
        None when the key is new and now ours (do the work, then `save_answer`), else the
        first request's saved answer to replay.

    Raises:
        KeyInUse: the first request under this key has not answered yet.
        KeyReused: the key was used for a different request.
    """
    pk = row_key(user, key)
    row = {"key": pk, "scope": operation[:64], "actor": user[:64], "request_hash": request,
           "status": IN_PROGRESS, "response": {}, "created_at": utcnow()}  # fmt: skip
    try:
        with write_session(engine) as session:
            session.connection().execute(insert(_KEY), row)
        return None
    except IntegrityError:
        pass
    k = _KEY.c
    with read_session(engine) as session:
        found = session.connection().execute(select(_KEY).where(k.key == pk)).first()
    if found is None:  # pruned between the INSERT and the read: a retry claims it afresh
        raise KeyInUse(f"{HEADER} 请求头：该键正在被处理，请稍后重试")
    if found.request_hash != request:
        raise KeyReused(
            f"{HEADER} 请求头：键 {key[:40]!r} 已用于另一个请求（{found.scope}，或请求体不同）；"
            "同一个键只能重试完全相同的请求，新的请求应换一个新的键"
        )
    if found.status == IN_PROGRESS:
        raise KeyInUse(f"{HEADER} 请求头：使用该键的首次请求仍在处理中；请稍后用同一个键重试")
    return Saved(found.status, _opened(found.response))


def _opened(response: Any) -> Any:
    if isinstance(response, dict) and SEALED in response:
        return json.loads(secret_box().open(response[SEALED]))
    return response


def save_answer(
    engine: Engine, *, user: str, key: str, status: int, body: Any, sealed: bool = False
) -> None:
    """Save the answer to the request that claimed `key` (replayed for every retry); `sealed`:
    encrypted at rest (an answer that shows a secret).

    Raises:
        SecretKeyError: `sealed` and no key to seal with is configured.
    """
    if sealed:
        text = json.dumps(body, ensure_ascii=False, sort_keys=True)
        body = {SEALED: secret_box(create=True).seal(text)}
    k = _KEY.c
    with write_session(engine) as session:
        session.connection().execute(
            update(_KEY).where(k.key == row_key(user, key)).values(status=status, response=body)
        )


def prune_keys(engine: Engine, *, now: datetime | None = None, keep: timedelta = KEEP) -> int:
    """Delete the keys created more than `keep` (at least 24 hours) before `now`.

    Returns:
        How many keys were deleted.
    """
    cutoff = (now or utcnow()) - max(keep, KEEP)
    with write_session(engine) as session:
        done = session.connection().execute(delete(_KEY).where(_KEY.c.created_at < cutoff))
    return int(done.rowcount or 0)
