"""The drain against a scripted Standard Webhooks receiver on loopback, with a clock that moves
only when told: the retry schedule and its jitter, Retry-After, 410, 3xx, timeouts, resets, a
refused address, dead letters and their replay (RELIABILITY D1, D3, D5)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from cli import app
from jobs.channels import Channels, DrainSettings
from jobs.drain import drain
from store.db import read_session, write_session
from store.delivery.outbox import aware
from store.delivery.registration import BadSubscription, register
from store.delivery.retry import JITTER, SCHEDULE
from store.delivery.secrets import secret_box
from store.tables.delivery import Delivery, DeliveryAttempt, Subscription
from store.tables.entitlements import OutboxMessage
from tests.jobs.delivery_kit import (
    Answer,
    Clock,
    Receiver,
    add_enterprises,
    queue_notices,
    serving,
    subscribe_webhook,
)

runner = CliRunner()


@dataclass
class World:
    """A database with enterprises, a receiver, a clock and the senders."""

    engine: Engine
    receiver: Receiver
    clock: Clock
    channels: Channels
    enterprises: list[tuple[int, str]]

    def subscribe(self, index: int, name: str) -> int:
        """Subscribe enterprise `index` to the receiver's path `/hook/<name>`; its id."""
        done = subscribe_webhook(self.engine, self.receiver, self.enterprises[index][1], name)
        return int(done.subscription.id or 0)

    def drain(self) -> None:
        drain(self.engine, channels=self.channels, clock=self.clock, rng=random.Random(7))

    def delivery(self, outbox_id: int) -> Delivery:
        with read_session(self.engine) as session:
            found = session.execute(
                select(Delivery).where(Delivery.outbox_id == outbox_id)  # type: ignore[arg-type]
            ).scalar_one()
            if found.next_attempt_at is not None:
                found.next_attempt_at = aware(found.next_attempt_at)
            session.expunge_all()
            return found

    def notice(self, outbox_id: int) -> OutboxMessage:
        with read_session(self.engine) as session:
            found = session.get(OutboxMessage, outbox_id)
            assert found is not None
            if found.next_attempt_at is not None:
                found.next_attempt_at = aware(found.next_attempt_at)
            session.expunge_all()
            return found

    def attempts(self, outbox_id: int) -> list[DeliveryAttempt]:
        with read_session(self.engine) as session:
            found = list(
                session.execute(
                    select(DeliveryAttempt)
                    .where(DeliveryAttempt.outbox_id == outbox_id)  # type: ignore[arg-type]
                    .order_by(DeliveryAttempt.id)  # type: ignore[arg-type]
                ).scalars()
            )
            session.expunge_all()
            return found


@pytest.fixture
def world(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("ZHIDA_WEBHOOK_ALLOW", "127.0.0.0/8")
    monkeypatch.setenv("ZHIDA_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ZHIDA_SECRET_KEY", raising=False)
    settings = DrainSettings(timeout_s=0.5, batch=50, lease_s=60, workers=4)
    channels = Channels(settings, box=secret_box())
    with serving(Receiver()) as receiver:
        yield World(engine, receiver, Clock(), channels, add_enterprises(engine, 3))
    channels.close()


def _script(*answers: Answer) -> object:
    """Answer the n-th request with answers[n-1] (the last one from then on)."""
    return lambda _path, _id, n: answers[min(n, len(answers)) - 1]


def _bounds(failures: int) -> tuple[timedelta, timedelta]:
    step = SCHEDULE[failures]
    return step * (1 - JITTER), step


def test_three_500s_then_200_is_delivered_on_the_fourth_try_each_wait_on_schedule(
    world: World,
) -> None:
    world.receiver.script = _script((500, {}, 0), (500, {}, 0), (500, {}, 0), (200, {}, 0))  # type: ignore[assignment]
    world.subscribe(0, "a")
    (notice,) = queue_notices(world.engine, [("enterprise", world.enterprises[0][0])])
    for failures in (1, 2, 3):
        at = world.clock()
        world.drain()
        due = world.delivery(notice).next_attempt_at
        assert due is not None
        low, high = _bounds(failures)
        assert low <= due - at <= high, (failures, due - at)
        world.clock.now = due - timedelta(milliseconds=1)
        world.drain()  # not due yet: nothing is sent
        assert len(world.receiver.hits) == failures
        world.clock.now = due
    world.drain()
    assert world.notice(notice).state == "sent" and world.notice(notice).attempts == 4
    tries = world.attempts(notice)
    assert [(t.number, t.status_code, t.outcome) for t in tries] == [
        (1, 500, "retry"),
        (2, 500, "retry"),
        (3, 500, "retry"),
        (4, 200, "sent"),
    ]
    assert world.receiver.seen == {f"msg_{notice}": 4}  # one id, every try


def test_410_disables_the_subscription_and_nothing_more_goes_to_it(world: World) -> None:
    world.receiver.script = lambda path, _id, _n: (
        (410, {}, 0) if path == "/hook/gone" else (200, {}, 0)
    )  # type: ignore[assignment]
    gone, kept = world.subscribe(0, "gone"), world.subscribe(0, "kept")
    first, second = queue_notices(world.engine, [("enterprise", world.enterprises[0][0])], 2)
    world.drain()
    with read_session(world.engine) as session:
        sub = session.get(Subscription, gone)
        assert sub is not None and sub.state == "disabled" and "410" in (sub.reason or "")
        assert session.get(Subscription, kept).state == "active"  # type: ignore[union-attr]
    assert world.notice(first).state == "sent" and world.notice(second).state == "sent"
    hits_on_gone = [h for h in world.receiver.hits if h[0] == "/hook/gone"]
    (third,) = queue_notices(world.engine, [("enterprise", world.enterprises[0][0])])
    world.clock.advance(timedelta(days=2))
    world.drain()
    assert [h for h in world.receiver.hits if h[0] == "/hook/gone"] == hits_on_gone
    assert world.notice(third).state == "sent"
    assert len(hits_on_gone) <= 2  # the two notices of the first pass, at most, then never again


def test_503_with_retry_after_120_waits_at_least_120_seconds(world: World) -> None:
    world.receiver.script = _script((503, {"Retry-After": "120"}, 0), (200, {}, 0))  # type: ignore[assignment]
    world.subscribe(0, "a")
    (notice,) = queue_notices(world.engine, [("enterprise", world.enterprises[0][0])])
    at = world.clock()
    world.drain()
    due = world.delivery(notice).next_attempt_at
    assert due is not None and due - at >= timedelta(seconds=120)
    assert "Retry-After 120" in (world.notice(notice).last_error or "")
    world.clock.advance(timedelta(seconds=119))
    world.drain()
    assert len(world.receiver.hits) == 1
    world.clock.now = due
    world.drain()
    assert world.notice(notice).state == "sent"


def test_always_500_ends_dead_is_listed_and_replayed_by_hand(
    world: World, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.receiver.script = _script((500, {}, 0))  # type: ignore[assignment]
    world.subscribe(1, "a")
    (notice,) = queue_notices(world.engine, [("enterprise", world.enterprises[1][0])])
    for _ in range(len(SCHEDULE)):
        world.drain()
        world.clock.advance(timedelta(hours=25))
    assert world.notice(notice).state == "dead"
    assert len(world.receiver.hits) == len(SCHEDULE) == world.notice(notice).attempts
    assert world.attempts(notice)[-1].outcome == "dead"
    monkeypatch.setenv("DATABASE_URL", database_url)
    listed = runner.invoke(app, ["notices", "list", "--state", "dead"])
    assert listed.exit_code == 0, listed.output
    assert str(notice) in listed.output and "500" in listed.output
    replayed = runner.invoke(app, ["notices", "replay", str(notice)])
    assert replayed.exit_code == 0, replayed.output
    assert world.notice(notice).state == "pending"
    world.receiver.script = _script((200, {}, 0))  # type: ignore[assignment]
    world.clock.now = max(world.clock.now, world.notice(notice).next_attempt_at or world.clock.now)
    world.drain()
    assert world.notice(notice).state == "sent"
    shown = runner.invoke(app, ["notices", "show", str(notice)])
    assert shown.exit_code == 0 and shown.output.count("500") >= len(SCHEDULE)
    again = runner.invoke(app, ["notices", "replay", str(notice)])
    assert again.exit_code == 2 and "只能重发" in again.output


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        ((200, {}, 2.0), "超时"),  # sleeps past the 0.5 s timeout
        ((302, {"Location": "/hook/elsewhere"}, 0), "302 重定向（未跟随"),
        ((-1, {}, 0), "连接失败"),  # hangs up without an answer
        ((429, {}, 0), "429 限流"),
    ],
)
def test_timeouts_redirects_and_resets_are_failures_retried_later(
    world: World, answer: Answer, said: str
) -> None:
    world.receiver.script = _script(answer)  # type: ignore[assignment]
    world.subscribe(0, "a")
    world.receiver.secrets["/hook/elsewhere"] = world.receiver.secrets["/hook/a"]
    (notice,) = queue_notices(world.engine, [("enterprise", world.enterprises[0][0])])
    world.drain()
    (tried,) = world.attempts(notice)
    assert tried.outcome == "retry" and said in (tried.error or ""), tried.error
    assert world.delivery(notice).state == "pending"
    assert [h[0] for h in world.receiver.hits] == ["/hook/a"]  # the redirect was not followed


def test_the_metadata_address_is_refused_at_registration_and_at_send(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(BadSubscription, match="169.254.169.254.*链路本地"):
        register(
            world.engine,
            kind="enterprise",
            key=world.enterprises[0][1],
            channel="webhook",
            target="http://169.254.169.254/latest/meta-data/",
        )
    world.subscribe(0, "a")  # allowed when registered; then its name "moves" inside
    with write_session(world.engine) as session:
        sub = session.execute(select(Subscription)).scalar_one()
        sub.target = "http://169.254.169.254/latest/meta-data/"
    (notice,) = queue_notices(world.engine, [("enterprise", world.enterprises[0][0])])
    world.drain()
    assert world.notice(notice).state == "dead"
    (tried,) = world.attempts(notice)
    assert "拒绝推送" in (tried.error or "") and "169.254.169.254" in (tried.error or "")
    assert world.receiver.hits == []


def test_a_notice_nobody_hears_is_undeliverable_not_retried(world: World) -> None:
    (notice,) = queue_notices(world.engine, [("enterprise", world.enterprises[2][0])])
    world.drain()
    assert world.notice(notice).state == "undeliverable"
    assert "no_channel" in (world.notice(notice).last_error or "")


def test_the_scheduled_job_drains_with_the_environments_settings(
    world: World, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jobs.tasks import drain_outbox

    world.subscribe(0, "a")
    (notice,) = queue_notices(world.engine, [("enterprise", world.enterprises[0][0])])
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert drain_outbox() == 1
    assert world.notice(notice).state == "sent" and world.receiver.seen == {f"msg_{notice}": 1}
    assert drain_outbox() == 0  # nothing due any more
