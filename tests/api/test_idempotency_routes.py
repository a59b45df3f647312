"""Idempotency-Key beyond the claims: the imports' uploads, the subscriptions' add, rotate and
ping, and the writer's publish. Each: the same key twice → one effect and the first answer
replayed byte for byte with `Idempotent-Replayed`; another request under the key → 422 naming
`header.Idempotency-Key`."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from store.db import open_engine
from tests.api.server import ROOT, Seeded, Server, start_server
from tests.api.test_imports import sheet, upload

PUBLIC = "https://93.184.216.34/zhida-idem"  # an address literal: no DNS needed, and public
WATER = (ROOT / "household" / "dibao" / "water.yaml").read_text(encoding="utf-8")
DEARER = WATER.replace("{2022-01-01: 2.6}", "{2022-01-01: 3.0}").replace(
    "amount: 13}", "amount: 15}"
)


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def _replayed(first: httpx.Response, again: httpx.Response, status: int) -> None:
    """`again` is `first` replayed: same status and bytes, marked as a replay."""
    assert first.status_code == again.status_code == status, first.text
    assert first.content == again.content
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"


def _refused(answer: httpx.Response) -> None:
    """Another request under a used key: 422 naming the header."""
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["path"] == "header.Idempotency-Key"


def _scalar(server: Server, sql: str, **params: Any) -> Any:
    engine = open_engine(server.db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).one()
    finally:
        engine.dispose()


@pytest.mark.parametrize(("user", "kind"), [("cun", "households"), ("xian", "enterprises")])
def test_a_retried_upload_queues_one_job(api: Server, user: str, kind: str) -> None:
    """The retry answers the first job (its Location too); another file under the key is 422."""
    name, key, body = f"idem-{uuid.uuid4().hex[:12]}.csv", _key(), sheet([])
    with api.client(user) as c:
        c.headers.update(key)
        first = upload(c, body, name=name, kind=kind)
        again = upload(c, body, name=name, kind=kind)
        other = upload(c, body + b"\r\n", name=name, kind=kind)
        jobs = c.get("/api/imports", params={"limit": 500}).json()["items"]
    _replayed(first, again, 202)
    assert again.headers["location"] == first.headers["location"] == first.json()["location"]
    assert [j["id"] for j in jobs if j["file_name"] == name] == [first.json()["id"]]
    _refused(other)


def test_a_retried_subscription_is_added_once_and_shows_its_secret_again(api: Server) -> None:
    """One subscription for two keyed POSTs; the replay carries the same secret (Stripe)."""
    key = _key()
    target = {"channel": "webhook", "target": f"{PUBLIC}/{uuid.uuid4().hex[:8]}"}
    with api.client("qiye") as c:
        first = c.post("/api/subscriptions", json=target, headers=key)
        again = c.post("/api/subscriptions", json=target, headers=key)
        other = c.post("/api/subscriptions", json={**target, "target": PUBLIC}, headers=key)
        listed = c.get("/api/subscriptions").json()
    _replayed(first, again, 201)
    assert first.json()["secret"].startswith("whsec_")
    rows = [r[0] for r in _rows(api, "SELECT response FROM idempotency_key")]
    assert rows and not any("whsec_" in str(r) for r in rows)  # saved sealed, never in clear
    mine = [s["id"] for s in listed["items"] if s["target"] == target["target"]]
    assert mine == [first.json()["id"]] and listed["total"] == len(listed["items"])
    _refused(other)


def _rows(api: Server, sql: str) -> list[Any]:
    engine = open_engine(api.db_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)).all())
    finally:
        engine.dispose()


def _subscription(c: httpx.Client) -> int:
    made = c.post("/api/subscriptions", json={"channel": "webhook", "target": PUBLIC})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def test_a_retried_rotation_rotates_once(api: Server) -> None:
    """Two keyed rotations are one: the secret rotated out is the one before the first."""
    key = _key()
    with api.client("qiye_b") as c:  # not qiye: test_notices counts qiye's notices
        sub, spare = _subscription(c), _subscription(c)
        (before,) = _scalar(api, "SELECT secret FROM subscription WHERE id = :s", s=sub)
        first = c.post(f"/api/subscriptions/{sub}/rotate", headers=key)
        again = c.post(f"/api/subscriptions/{sub}/rotate", headers=key)
        other = c.post(f"/api/subscriptions/{spare}/rotate", headers=key)
    _replayed(first, again, 200)
    sql = "SELECT previous_secret FROM subscription WHERE id = :s"
    assert _scalar(api, sql, s=sub) == (before,)  # a second rotation would have moved it on
    _refused(other)


def test_a_retried_ping_queues_one_push(api: Server) -> None:
    """Two keyed pings queue one outbox row for the subscription."""
    key = _key()
    with api.client("qiye_b") as c:  # not qiye: its pings would show in qiye's inbox
        sub, spare = _subscription(c), _subscription(c)
        first = c.post(f"/api/subscriptions/{sub}/ping", headers=key)
        again = c.post(f"/api/subscriptions/{sub}/ping", headers=key)
        other = c.post(f"/api/subscriptions/{spare}/ping", headers=key)
    _replayed(first, again, 202)
    sql = ("SELECT count(*) FROM delivery d JOIN outbox o ON o.id = d.outbox_id "
           "WHERE d.subscription_id = :s AND o.kind = 'ping'")  # fmt: skip
    assert _scalar(api, sql, s=sub) == (1,)
    _refused(other)


def test_a_retried_publish_publishes_once(seeded: Seeded, tmp_path: Path) -> None:
    """Two keyed publishes of one draft: one new version, audited once; the replay says
    `new_version` true as the first did (a second publish would say false)."""
    policies = tmp_path / "policies"
    shutil.copytree(ROOT, policies)
    server = start_server(seeded, tmp_path / "srv", env={"ZHIDA_POLICIES": str(policies)})
    draft, key = {"text": DEARER, "name": "water.yaml"}, _key()
    try:
        with server.client("zhengce") as c:
            first = c.post("/api/writer/publish", json=draft, headers=key)
            again = c.post("/api/writer/publish", json=draft, headers=key)
            other = c.post("/api/writer/publish", json={**draft, "text": WATER}, headers=key)
        _replayed(first, again, 200)
        assert first.json()["new_version"] is True
        sql = ("SELECT count(*) FROM audit WHERE action = 'catalogue.publish' "
               "AND catalogue_hash = :v")  # fmt: skip
        assert _scalar(server, sql, v=first.json()["version"]) == (1,)
        _refused(other)
    finally:
        server.stop()


def test_a_refused_publish_is_replayed_with_its_lint_problems(api: Server) -> None:
    """A publish refused under a key answers, and replays, the writer's own problem (each
    error at `water.yaml:line:col`), not a generic one."""
    broken = {"text": WATER.replace("dibao_status ==", "dibao_statu =="), "name": "water.yaml"}
    key = _key()
    with api.client("zhengce") as c:
        first = c.post("/api/writer/publish", json=broken, headers=key)
        again = c.post("/api/writer/publish", json=broken, headers=key)
    _replayed(first, again, 422)
    assert first.json()["errors"][0]["path"].startswith("water.yaml:")


@pytest.mark.parametrize(
    ("user", "path", "params"),
    [
        ("xian", "/api/notices", {}),
        ("xiang", "/api/households", {}),
        (None, "/api/policies", {}),
        (None, "/api/facts", {}),
        ("ducha", "/api/supervision/overdue", {"on": "2025-06-01"}),
        ("ducha", "/api/supervision/unclaimed", {"on": "2025-06-01"}),
    ],
)
def test_a_list_answers_a_page_whose_total_counts_every_item(
    api: Server, user: str | None, path: str, params: dict[str, str]
) -> None:
    """Every list is {items, total, limit, offset}; `total` counts all, not the page."""
    client = api.client(user) if user else httpx.Client(base_url=api.base_url)
    with client as c:
        full = c.get(path, params={**params, "limit": 500}).json()
        second = c.get(path, params={**params, "limit": 1, "offset": 1}).json()
    assert set(full) == {"items", "total", "limit", "offset"}
    assert full["total"] == len(full["items"]), path
    assert second == {"items": full["items"][1:2], "total": full["total"], "limit": 1,
                      "offset": 1}  # fmt: skip
    if "supervision" not in path:  # (what supervision finds depends on the other tests' claims)
        assert full["total"] >= 2, path
