"""What the delivery tests share: a Standard Webhooks receiver on loopback, a clock to step,
and notices queued straight into the outbox (a realistic payload, no sweep needed).

The receiver verifies EVERY request with the official `standardwebhooks` library under the
secret of its path (`/hook/<name>`), refuses what does not verify (400, counted in `forged`),
and dedupes by `webhook-id`: `seen` holds each id's count, `processed` the ids it acted on once.
A script — `answer(path, webhook_id, n)` → (status, headers, delay seconds) — decides each answer
(a negative status hangs up without answering); `n` is how many times this id reached this path,
counting this one.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import Engine, insert
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from store.db import write_session
from store.delivery.registration import Registered, register
from store.tables.catalogue import CatalogueVersion
from store.tables.entitlements import EntitlementChange, OutboxMessage
from store.tables.profiles import EnterpriseRow

Answer = tuple[int, dict[str, str], float]
Script = Callable[[str, str, int], Answer]


def ok(_path: str, _id: str, _n: int) -> Answer:
    """Always 204."""
    return 204, {}, 0.0


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1 (see the module docstring)."""

    script: Script = ok
    secrets: dict[str, str] = field(default_factory=dict)  # path → secret
    seen: Counter[str] = field(default_factory=Counter)  # webhook-id → requests that verified
    hits: list[tuple[str, str, float]] = field(default_factory=list)  # (path, id, wall time)
    forged: int = 0
    bodies: dict[str, int] = field(default_factory=dict)  # webhook-id → hash of its first body
    changed: int = 0  # resends whose body differed from the first (must stay 0)
    truncated: int = 0  # requests cut short (a sender killed mid-request): not acted on
    per_path: Counter[tuple[str, str]] = field(default_factory=Counter)
    _hooks: dict[str, Webhook] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    def url(self, name: str) -> str:
        """The URL of path `/hook/<name>`."""
        return f"http://127.0.0.1:{self.port}/hook/{name}"

    @property
    def processed(self) -> set[str]:
        """The distinct webhook-ids acted on."""
        return set(self.seen)

    def handle(self, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        secret = self.secrets.get(path)
        try:
            if secret is None:
                raise WebhookVerificationError("no secret for this path")
            hook = self._hooks.get(secret) or self._hooks.setdefault(secret, Webhook(secret))
            hook.verify(body, headers)
        except WebhookVerificationError:
            with self.lock:
                self.forged += 1
            return 400, {}, 0.0
        msg = headers["webhook-id"]
        with self.lock:
            if self.bodies.setdefault(msg, hash(body)) != hash(body):
                self.changed += 1
            self.seen[msg] += 1
            self.per_path[(path, msg)] += 1
            n = self.per_path[(path, msg)]
            self.hits.append((path, msg, time.time()))
        return self.script(path, msg, n)


@contextmanager
def serving(receiver: Receiver) -> Iterator[Receiver]:
    """Run `receiver` on a free loopback port for the block."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            if len(body) < length:  # the sender died mid-request: nothing to act on
                with receiver.lock:
                    receiver.truncated += 1
                self.close_connection = True
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, delay = receiver.handle(self.path, body, headers)
            if delay:
                time.sleep(delay)
            if status < 0:  # hang up without an answer: the sender sees a reset connection
                self.close_connection = True
                return
            try:
                self.send_response(status)
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("content-length", "0")
                self.end_headers()
            except OSError:
                pass  # the sender gave up (timeout) and closed

        def log_message(self, *_: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a sender killed mid-request resets its connection: expected here

    server = Server(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


class Clock:
    """A clock that moves only when told."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


def add_enterprises(engine: Engine, count: int) -> list[tuple[int, str]]:
    """`count` enterprises; returns their (id, credit code)."""
    codes = [f"91520602MA{i:07d}X" for i in range(count)]
    with write_session(engine) as session:
        rows = [
            EnterpriseRow(
                credit_code=c,
                name=f"测试企业{i}",
                region_code="520602100201",
                facts={},
                profile_hash="0" * 64,
            )
            for i, c in enumerate(codes)
        ]
        session.add_all(rows)
        session.flush()
        return [(int(r.id or 0), r.credit_code) for r in rows]


def queue_notices(
    engine: Engine, subjects: list[tuple[str, int]], per_subject: int = 1, **payload: Any
) -> list[int]:
    """Queue `per_subject` notices for each (kind, id) as a sweep would; returns outbox ids."""
    with write_session(engine) as session:
        version = CatalogueVersion(
            content_hash=f"{time.time_ns():064x}"[-64:],
            policy_ids=[],
            files={},
            published_by="test",
        )
        session.add(version)
        session.flush()
        changes, n = [], 0
        for kind, sid in subjects:
            for k in range(per_subject):
                n += 1
                changes.append(
                    {
                        "subject_kind": kind,
                        "subject_id": sid,
                        "policy_id": f"p{k}",
                        "catalogue_version_id": version.id,
                        "on_date": date(2026, 3, 1),
                        "kind": "newly_eligible",
                        "before_status": "ineligible",
                        "after_status": "eligible",
                        "before_amount": None,
                        "after_amount": 300,
                    }
                )
        conn = session.connection()
        conn.execute(insert(EntitlementChange.__table__), changes)  # type: ignore[attr-defined]
        ids = [r.id for r in conn.execute(EntitlementChange.__table__.select())]  # type: ignore[attr-defined]
        rows = [
            {
                "dedup_key": f"test:{version.id}:{c}",
                "change_id": c,
                "subject_kind": ch["subject_kind"],
                "subject_id": ch["subject_id"],
                "policy_id": ch["policy_id"],
                "kind": "newly_eligible",
                "payload": {
                    "type": "entitlement.newly_eligible",
                    "subject": {"kind": ch["subject_kind"], "id": ch["subject_id"]},
                    "policy_id": ch["policy_id"],
                    "catalogue_hash": version.content_hash,
                    "on_date": "2026-03-01",
                    "before": {"status": "ineligible", "amount": None},
                    "after": {"status": "eligible", "amount": "300.00", "missing": []},
                    **payload,
                },
                "state": "pending",
                "attempts": 0,
            }
            for c, ch in zip(ids[-len(changes) :], changes, strict=True)
        ]
        conn.execute(insert(OutboxMessage.__table__), rows)  # type: ignore[attr-defined]
        got = conn.execute(
            OutboxMessage.__table__.select().order_by(OutboxMessage.__table__.c.id)  # type: ignore[attr-defined]
        )
        return [r.id for r in got][-len(rows) :]


def subscribe_webhook(
    engine: Engine, receiver: Receiver, key: str, name: str, *, kind: str = "enterprise"
) -> Registered:
    """Subscribe `key` (a credit code, or the key of `kind`) by webhook to the receiver's
    `/hook/<name>`, and give the receiver the secret it verifies those pushes with."""
    done = register(engine, kind=kind, key=key, channel="webhook", target=receiver.url(name))
    assert done.secret is not None
    receiver.secrets[f"/hook/{name}"] = done.secret
    return done
