"""Idempotency-Key (RELIABILITY D2): a key is claimed before the work, the first answer is
replayed, another request under the key is a 422 and a request racing the first is a 409."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from store.db import open_engine, read_session
from store.idempotency import (
    KeyInUse,
    KeyReused,
    Saved,
    claim_key,
    prune_keys,
    request_hash,
    save_answer,
)
from store.tables.types import utcnow
from tests.api.server import Seeded, Server, start_server

ON = "2025-03-03"


def test_a_key_is_claimed_once_then_its_answer_replayed(engine: Engine) -> None:
    """The first claim owns the key, a second waits (409) until the answer is saved, then gets
    it; another request under the key is refused; another user's same key is theirs."""
    first = request_hash("POST", "/api/claims/1/confirm", {"on": ON, "version": None})
    same = request_hash("post", "/api/claims/1/confirm", {"version": None, "on": ON})
    assert same == first  # method case and key order do not matter
    args: dict[str, Any] = {"user": "cun", "key": "k-1", "operation": "claims.confirm"}
    assert claim_key(engine, request=first, **args) is None
    with pytest.raises(KeyInUse):
        claim_key(engine, request=first, **args)
    save_answer(engine, user="cun", key="k-1", status=403, body={"json": '{"status":403}'})
    assert claim_key(engine, request=first, **args) == Saved(403, {"json": '{"status":403}'})
    other = request_hash("POST", "/api/claims/2/confirm", {"on": ON, "version": None})
    with pytest.raises(KeyReused, match="Idempotency-Key"):
        claim_key(engine, request=other, **args)
    assert claim_key(engine, request=first, **{**args, "user": "cun2"}) is None


def test_keys_older_than_a_day_are_pruned_and_younger_ones_kept(engine: Engine) -> None:
    """prune_keys deletes only keys created more than 24 hours ago."""
    claim_key(engine, user="a", key="old", operation="x", request="h")
    with engine.begin() as conn:
        conn.execute(text("UPDATE idempotency_key SET created_at = :t"),
                     {"t": utcnow() - timedelta(hours=25)})  # fmt: skip
    claim_key(engine, user="a", key="new", operation="x", request="h")
    assert prune_keys(engine, keep=timedelta(hours=1)) == 1  # never less than 24 h
    with read_session(engine) as s:
        assert s.execute(text("SELECT count(*) FROM idempotency_key")).scalar_one() == 1


def _prepared(server: Server, user: str, pick: int) -> dict[str, Any]:
    with server.client(user) as c:
        page = c.get("/api/claims", params={"state": "prepared", "limit": 500}).json()
    assert page["items"], page
    return dict(page["items"][pick])


def _steps(server: Server, claim_id: int, action: str) -> int:
    engine = open_engine(server.db_url)
    try:
        with read_session(engine) as s:
            return int(s.execute(
                text("SELECT count(*) FROM claim_step WHERE claim_id = :c AND action = :a"),
                {"c": claim_id, "a": action},
            ).scalar_one())  # fmt: skip
    finally:
        engine.dispose()


def test_two_sequential_confirms_with_one_key_take_one_step(api: Server) -> None:
    """The retry is the first answer replayed, byte for byte, with Idempotent-Replayed."""
    claim = _prepared(api, "cun", -1)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    with api.client("cun") as c:
        first = c.post(f"/api/claims/{claim['id']}/confirm", json={"on": ON}, headers=key)
        again = c.post(f"/api/claims/{claim['id']}/confirm", json={"on": ON}, headers=key)
    assert first.status_code == again.status_code == 200, first.text
    assert first.content == again.content
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.json()["claim"]["state"] == "confirmed"
    assert _steps(api, claim["id"], "confirm") == 1


def test_a_refusal_is_saved_and_replayed_too(api: Server) -> None:
    """A 404 answered under a key is the answer every retry gets (Stripe saves errors)."""
    other = _prepared(api, "cun2", -1)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    with api.client("cun") as c:
        first = c.post(f"/api/claims/{other['id']}/confirm", json={"on": ON}, headers=key)
        again = c.post(f"/api/claims/{other['id']}/confirm", json={"on": ON}, headers=key)
    assert first.status_code == again.status_code == 404
    assert first.content == again.content and again.headers["Idempotent-Replayed"] == "true"
    assert _steps(api, other["id"], "confirm") == 0


def test_same_key_another_body_is_422_naming_the_header(api: Server) -> None:
    """A key reused for another request is refused, naming Idempotency-Key; nothing moves."""
    claim = _prepared(api, "cun", -2)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    with api.client("cun") as c:
        first = c.post(f"/api/claims/{claim['id']}/confirm", json={"on": ON}, headers=key)
        other = c.post(f"/api/claims/{claim['id']}/confirm", json={"on": "2025-03-04"},
                       headers=key)  # fmt: skip
    assert first.status_code == 200, first.text
    assert other.status_code == 422
    assert other.json()["errors"][0]["path"] == "header.Idempotency-Key"
    assert "Idempotency-Key" in other.json()["detail"]
    assert _steps(api, claim["id"], "confirm") == 1


@pytest.mark.parametrize("key", ["x" * 256, ""], ids=["256 characters", "empty"])
def test_a_key_out_of_bounds_is_400_naming_the_header(api: Server, key: str) -> None:
    """Keys are 1–255 characters; anything else is refused before any work."""
    claim = _prepared(api, "cun", 0)
    with api.client("cun") as c:
        answer = c.post(f"/api/claims/{claim['id']}/confirm", json={"on": ON},
                        headers={"Idempotency-Key": key})  # fmt: skip
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["path"] == "header.Idempotency-Key"
    assert _steps(api, claim["id"], "confirm") == 0


def test_twenty_parallel_confirms_with_one_key_take_one_step(
    seeded: Seeded, tmp_path: Path
) -> None:
    """20 threads confirm one claim with one key on a real server: exactly one confirm step;
    every other answer is the first replayed or a 409 (the first still running)."""
    server = start_server(seeded, tmp_path)
    try:
        claim = _prepared(server, "cun", 0)
        token = server.login("cun")
        key = str(uuid.uuid4())
        answers: list[httpx.Response] = []
        gate = threading.Barrier(20)

        def confirm() -> None:
            with httpx.Client(base_url=server.base_url, timeout=60) as c:
                gate.wait()
                answers.append(c.post(
                    f"/api/claims/{claim['id']}/confirm", json={"on": ON},
                    headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
                ))  # fmt: skip

        threads = [threading.Thread(target=confirm) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(answers) == 20
        assert _steps(server, claim["id"], "confirm") == 1
        done = [a for a in answers if a.status_code == 200]
        fresh = [a for a in done if "Idempotent-Replayed" not in a.headers]
        assert len(fresh) == 1, [a.status_code for a in answers]
        assert all(a.content == fresh[0].content for a in done)
        assert all(a.status_code in (200, 409) for a in answers)
        assert all(a.headers.get("Idempotent-Replayed") == "true" for a in done if a not in fresh)
        with httpx.Client(base_url=server.base_url, timeout=60) as c:  # once all have answered
            again = c.post(
                f"/api/claims/{claim['id']}/confirm",
                json={"on": ON},
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
            )
        assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
        assert again.content == fresh[0].content
        assert _steps(server, claim["id"], "confirm") == 1
    finally:
        server.stop()
