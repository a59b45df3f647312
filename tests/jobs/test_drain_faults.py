"""Faults of one delivery, of DNS, of the settings and of the secret key do not stop or poison
the drain: each is recorded as that delivery's try and retried when it may pass (real receiver
and SMTP server on loopback)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from jobs.channels import Channels, DrainSettings
from jobs.drain import drain
from jobs.mail import MailSettings
from store.db import read_session, write_session
from store.delivery.outbox import aware, claim, record, replay
from store.delivery.registration import BadSubscription, register
from store.delivery.secrets import SecretBox, secret_box
from store.tables.delivery import Delivery, DeliveryAttempt, Subscription
from store.tables.entitlements import OutboxMessage
from tests.jobs.delivery_kit import (
    Clock,
    Receiver,
    add_enterprises,
    queue_notices,
    serving,
    subscribe_webhook,
)
from tests.jobs.mailbox import Inbox, SenderRefused, mail_server


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHIDA_WEBHOOK_ALLOW", "127.0.0.0/8")
    monkeypatch.setenv("ZHIDA_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ZHIDA_SECRET_KEY", raising=False)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving(Receiver()) as running:
        yield running


def _deliveries(engine: Engine) -> dict[str, Delivery]:
    """Channel → its delivery (one per channel in these tests)."""
    with read_session(engine) as session:
        rows = list(session.execute(select(Delivery)).scalars())
        session.expunge_all()
    return {d.channel: d for d in rows}


def _attempts(engine: Engine) -> list[tuple[str, str]]:
    with read_session(engine) as session:
        rows = session.execute(
            select(DeliveryAttempt.channel, DeliveryAttempt.outcome).order_by(DeliveryAttempt.id)  # type: ignore[arg-type]
        ).all()
    return [(c, o) for c, o in rows]


def test_an_absurd_retry_after_does_not_stop_the_batch_nor_resend_the_mail(
    engine: Engine, env: None, receiver: Receiver, smtp: tuple[Inbox, MailSettings]
) -> None:
    inbox, mail = smtp
    receiver.script = lambda _p, _i, _n: (429, {"Retry-After": "99999999999999999999"}, 0.0)
    ((firm, code),) = add_enterprises(engine, 1)
    subscribe_webhook(engine, receiver, code, "a")
    register(engine, kind="enterprise", key=code, channel="email", target="caiwu@firm.example")
    queue_notices(engine, [("enterprise", firm)])
    clock = Clock()
    channels = Channels(DrainSettings(timeout_s=2, lease_s=60), box=secret_box(), mail=lambda: mail)
    try:
        for _ in range(2):  # a second pass after the lease would have expired
            drain(engine, channels=channels, clock=clock, rng=random.Random(1))
            clock.advance(timedelta(minutes=5))
    finally:
        channels.close()
    assert len(inbox.messages) == 1
    found = _deliveries(engine)
    assert found["email"].state == "sent"
    assert found["webhook"].state == "pending" and "429" in (found["webhook"].last_error or "")
    assert found["webhook"].next_attempt_at is not None
    assert sorted(_attempts(engine)) == [("email", "sent"), ("webhook", "retry")]


def test_a_host_that_does_not_resolve_is_retried_not_dead(
    engine: Engine, env: None, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    ((firm, code),) = add_enterprises(engine, 1)
    hook = register(engine, kind="enterprise", key=code, channel="webhook",
                    target=receiver.url("a"))  # fmt: skip
    with write_session(engine) as session:  # the name stopped resolving since registration
        row = session.get(Subscription, hook.subscription.id)
        assert row is not None
        row.target = "http://no-such-host.invalid/hook"
    queue_notices(engine, [("enterprise", firm)])
    channels = Channels(DrainSettings(timeout_s=2), box=secret_box())
    try:
        drain(engine, channels=channels, clock=Clock())
    finally:
        channels.close()
    delivery = _deliveries(engine)["webhook"]
    assert delivery.state == "pending" and delivery.next_attempt_at is not None
    assert "无法解析" in (delivery.last_error or "")
    assert _attempts(engine) == [("webhook", "retry")]


def test_a_drain_from_another_directory_finds_the_key_beside_the_database(
    engine: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZHIDA_WEBHOOK_ALLOW", "127.0.0.0/8")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("ZHIDA_SECRET_KEY", raising=False)
    if database_url.startswith("sqlite"):
        monkeypatch.delenv("ZHIDA_DATA_DIR", raising=False)  # the key goes beside zhida.db
        key = tmp_path / "secret.key"
    else:
        monkeypatch.setenv("ZHIDA_DATA_DIR", str(tmp_path / "keys"))
        key = tmp_path / "keys" / "secret.key"
    here, there = tmp_path / "admin", tmp_path / "cron"
    here.mkdir(), there.mkdir()
    ((firm, code),) = add_enterprises(engine, 1)
    with serving(Receiver()) as receiver:
        monkeypatch.chdir(here)
        subscribe_webhook(engine, receiver, code, "a")
        assert key.exists()
        monkeypatch.chdir(there)  # the drain runs from elsewhere (cron, a service manager)
        queue_notices(engine, [("enterprise", firm)])
        channels = Channels(DrainSettings(timeout_s=2), box=secret_box())
        try:
            drain(engine, channels=channels, clock=Clock())
        finally:
            channels.close()
    assert _deliveries(engine)["webhook"].state == "sent"
    assert receiver.forged == 0 and len(receiver.processed) == 1
    assert not (there / "data").exists() and not (here / "data").exists()


def test_a_missing_key_at_send_time_is_retried_and_never_replaced(
    engine: Engine, env: None, receiver: Receiver, tmp_path: Path
) -> None:
    ((firm, code),) = add_enterprises(engine, 1)
    subscribe_webhook(engine, receiver, code, "a")
    key = tmp_path / "secret.key"
    kept = key.read_bytes()
    key.unlink()  # e.g. a restore that forgot the key file
    queue_notices(engine, [("enterprise", firm)])
    clock = Clock()
    channels = Channels(DrainSettings(timeout_s=2), box=secret_box())
    try:
        drain(engine, channels=channels, clock=clock)
        delivery = _deliveries(engine)["webhook"]
        assert delivery.state == "pending" and "secret.key" in (delivery.last_error or "")
        assert not key.exists()  # the drain made no new key
        key.write_bytes(kept)
        clock.advance(timedelta(hours=1))
        drain(engine, channels=channels, clock=clock)
    finally:
        channels.close()
    assert _deliveries(engine)["webhook"].state == "sent" and receiver.forged == 0


def test_replay_reaches_a_subscription_added_after_every_delivery_went_gone(
    engine: Engine, env: None, receiver: Receiver
) -> None:
    receiver.script = lambda path, _i, _n: (410, {}, 0.0) if path == "/hook/old" else (204, {}, 0.0)
    ((firm, code),) = add_enterprises(engine, 1)
    for name in ("old", "new"):
        if name == "new":  # subscribed after the notice became undeliverable
            (notice,) = queue_notices(engine, [("enterprise", firm)])
            channels = Channels(DrainSettings(timeout_s=2), box=secret_box())
            drain(engine, channels=channels, clock=Clock())
            with read_session(engine) as session:
                found = session.get(OutboxMessage, notice)
                assert found is not None and found.state == "undeliverable"
        subscribe_webhook(engine, receiver, code, name)
    with write_session(engine) as session:
        assert replay(session=session, outbox_id=notice, now=Clock()(), actor="test") == 1
    try:
        drain(engine, channels=channels, clock=Clock())
    finally:
        channels.close()
    with read_session(engine) as session:
        found = session.get(OutboxMessage, notice)
        assert found is not None and found.state == "sent"
    assert [h[0] for h in receiver.hits] == ["/hook/old", "/hook/new"]


def test_a_late_drainer_does_not_release_the_lease_a_newer_drainer_holds(
    engine: Engine, env: None, receiver: Receiver
) -> None:
    ((firm, code),) = add_enterprises(engine, 1)
    subscribe_webhook(engine, receiver, code, "a")
    (notice,) = queue_notices(engine, [("enterprise", firm)])
    clock, lease = Clock(), timedelta(seconds=60)
    channels = Channels(DrainSettings(timeout_s=2), box=secret_box())
    try:
        late = claim(engine=engine, now=clock(), batch=10, lease=lease)
        results = [channels.send(n, s, clock()) for n in late.notices for s in n.sends]
        clock.advance(timedelta(minutes=2))  # the late drainer stalled past its lease
        newer = claim(engine=engine, now=clock(), batch=10, lease=lease)
        assert newer.ids == [notice]
        record(engine=engine, batch=late, results=results, now=clock())
        with read_session(engine) as session:
            row = session.get(OutboxMessage, notice)
            assert row is not None and row.locked_until is not None  # still the newer one's
            assert aware(row.locked_until) == clock() + lease
        record(engine=engine, batch=newer, results=[], now=clock())
    finally:
        channels.close()
    with read_session(engine) as session:
        row = session.get(OutboxMessage, notice)
        assert row is not None and row.locked_until is None and row.state == "sent"
    assert receiver.seen == {f"msg_{notice}": 1}


def test_every_try_of_one_mail_delivery_carries_the_same_message_id(
    engine: Engine, env: None, smtp: tuple[Inbox, MailSettings]
) -> None:
    inbox, mail = smtp
    ((firm, code),) = add_enterprises(engine, 1)
    sub = register(engine, kind="enterprise", key=code, channel="email",
                   target="caiwu@firm.example").subscription  # fmt: skip
    (notice,) = queue_notices(engine, [("enterprise", firm)])
    clock = Clock()
    channels = Channels(DrainSettings(), box=secret_box(), mail=lambda: mail)
    try:
        batch = claim(engine=engine, now=clock(), batch=10, lease=timedelta(seconds=60))
        ((claimed, send),) = [(n, s) for n in batch.notices for s in n.sends]
        for _ in range(2):  # a drainer killed before `record`: the next one sends it again
            assert channels.send(claimed, send, clock()).ok
    finally:
        channels.close()
    ids = {m["Message-ID"] for _, m in inbox.messages}
    assert len(inbox.messages) == 2 and ids == {f"<msg_{notice}.{sub.id}@zhida.example>"}


def test_an_address_the_smtp_server_would_refuse_forever_is_refused_at_registration(
    engine: Engine, env: None
) -> None:
    ((_, code),) = add_enterprises(engine, 1)
    for address in ("a,b@firm.example", "a@b@firm.example", "张三@firm.example"):
        with pytest.raises(BadSubscription, match="不是电子邮件地址"):
            register(engine, kind="enterprise", key=code, channel="email", target=address)
    register(engine, kind="enterprise", key=code, channel="email", target="o'neil+x@xn--fiq.cn")


def test_a_refused_sender_is_a_configuration_fault_retried_not_dead(
    engine: Engine, env: None
) -> None:
    ((firm, code),) = add_enterprises(engine, 1)
    register(engine, kind="enterprise", key=code, channel="email", target="caiwu@firm.example")
    queue_notices(engine, [("enterprise", firm)])
    with mail_server(SenderRefused()) as (inbox, mail):
        channels = Channels(DrainSettings(), box=secret_box(), mail=lambda: mail)
        try:
            drain(engine, channels=channels, clock=Clock())
        finally:
            channels.close()
    delivery = _deliveries(engine)["email"]
    assert delivery.state == "pending" and "553" in (delivery.last_error or "")
    assert not inbox.messages


class _Drip(BaseHTTPRequestHandler):
    """Answers one byte every 0.2 s (about 8 s for the whole answer)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        try:
            for byte in b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n":
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:
            pass  # the sender gave up

    def log_message(self, *_: object) -> None:
        pass


def test_a_receiver_that_drips_its_answer_times_out_on_the_whole_try(
    engine: Engine, env: None
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Drip)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ((firm, code),) = add_enterprises(engine, 1)
    register(engine, kind="enterprise", key=code, channel="webhook",
             target=f"http://127.0.0.1:{server.server_address[1]}/hook")  # fmt: skip
    queue_notices(engine, [("enterprise", firm)])
    channels = Channels(DrainSettings(timeout_s=1), box=secret_box())
    try:
        drain(engine, channels=channels, clock=Clock())
    finally:
        channels.close()
        server.shutdown()
        server.server_close()
    delivery = _deliveries(engine)["webhook"]
    assert delivery.state == "pending" and "超时" in (delivery.last_error or "")


def test_processes_racing_to_make_the_key_file_all_get_the_same_whole_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from store.delivery.secrets import KEY_FILE

    monkeypatch.delenv("ZHIDA_SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    for round_ in range(5):
        monkeypatch.setenv("ZHIDA_DATA_DIR", str(tmp_path / str(round_)))
        start, boxes = threading.Barrier(8), []

        def make(start: threading.Barrier = start, boxes: list[SecretBox] = boxes) -> None:
            start.wait()
            boxes.append(secret_box(create=True))

        threads = [threading.Thread(target=make) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        token = boxes[0].seal("whsec_x")
        assert all(box.open(token) == "whsec_x" for box in boxes)  # one key for all
        assert len((tmp_path / str(round_) / KEY_FILE).read_bytes().strip()) == 44
        assert [p.name for p in (tmp_path / str(round_)).iterdir()] == [KEY_FILE]  # no temp left


def test_an_unexpected_error_in_one_sender_is_recorded_as_its_try_and_the_rest_go_out(
    engine: Engine, env: None, receiver: Receiver
) -> None:
    def broken() -> MailSettings:
        raise KeyError("ZHIDA_SMTP_HOST")  # a fault no sender anticipates

    ((firm, code),) = add_enterprises(engine, 1)
    subscribe_webhook(engine, receiver, code, "a")
    register(engine, kind="enterprise", key=code, channel="email", target="caiwu@firm.example")
    queue_notices(engine, [("enterprise", firm)])
    clock = Clock()
    channels = Channels(DrainSettings(timeout_s=2, lease_s=60), box=secret_box(), mail=broken)
    try:
        for _ in range(2):
            drain(engine, channels=channels, clock=clock)
            clock.advance(timedelta(minutes=2))  # past the lease: mail tried again
    finally:
        channels.close()
    found = _deliveries(engine)
    assert found["webhook"].state == "sent" and len(receiver.hits) == 1
    assert found["email"].state == "pending" and "KeyError" in (found["email"].last_error or "")
