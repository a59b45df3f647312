"""Chaos: a receiver failing at random — 500s, timeouts, 429 with and without Retry-After — and
a clock stepped to each next due time. Every notice ends `sent` or `dead`, and every wait
between two tries of a delivery lies inside the schedule's jittered step (or is the receiver's
Retry-After) (RELIABILITY D3)."""

from __future__ import annotations

import random
import re
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from jobs.channels import Channels, DrainSettings
from jobs.drain import drain
from store.db import read_session
from store.delivery.outbox import aware
from store.delivery.retry import JITTER, SCHEDULE
from store.delivery.secrets import secret_box
from store.tables.delivery import Delivery, DeliveryAttempt
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

NOTICES, SUBJECTS = 100, 10


def chaos(path: str, msg: str, n: int) -> Answer:
    """A fixed random answer for each (notice, try): ≈ 55 % fail."""
    roll = random.Random(f"{path}{msg}:{n}").random()
    if roll < 0.35:
        return 500, {}, 0.0
    if roll < 0.40:
        return 200, {}, 0.3  # past the 0.1 s timeout
    if roll < 0.48:
        return 429, {"Retry-After": str(int(roll * 10_000) % 900)}, 0.0
    if roll < 0.55:
        return 429, {}, 0.0
    return 200, {}, 0.0


def _earliest_due(engine: Engine) -> object:
    with read_session(engine) as session:
        return session.execute(
            select(func.min(Delivery.next_attempt_at)).where(Delivery.state == "pending")  # type: ignore[arg-type]
        ).scalar()


def test_random_failures_end_sent_or_dead_with_every_wait_on_schedule(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZHIDA_WEBHOOK_ALLOW", "127.0.0.0/8")
    monkeypatch.setenv("ZHIDA_DATA_DIR", str(tmp_path))
    clock, rng = Clock(), random.Random(11)
    channels = Channels(DrainSettings(timeout_s=0.1, workers=8), box=secret_box())
    with serving(Receiver(script=chaos)) as receiver:
        subjects = []
        for sid, code in add_enterprises(engine, SUBJECTS):
            subscribe_webhook(engine, receiver, code, code)
            subjects.append(("enterprise", sid))
        queue_notices(engine, subjects, NOTICES // SUBJECTS)
        for _ in range(len(SCHEDULE) * 20):
            drain(engine, channels=channels, clock=clock, rng=rng)
            due = _earliest_due(engine)
            if due is None:
                break
            clock.now = max(clock.now, aware(due))  # type: ignore[arg-type]
    channels.close()
    with read_session(engine) as session:
        states = dict(
            session.execute(
                select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)  # type: ignore[arg-type]
            ).all()
        )
        tries = (
            session.execute(select(DeliveryAttempt).order_by(DeliveryAttempt.id)).scalars().all()
        )  # type: ignore[arg-type]
        session.expunge_all()
    assert set(states) <= {"sent", "dead"} and sum(states.values()) == NOTICES
    assert states.get("dead", 0) > 0 and states.get("sent", 0) > 0  # both ends were reached
    by_delivery: dict[int, list[DeliveryAttempt]] = defaultdict(list)
    for t in tries:
        by_delivery[t.delivery_id].append(t)
    waits = 0
    for attempts in by_delivery.values():
        assert [a.number for a in attempts] == list(range(1, len(attempts) + 1))
        assert attempts[-1].outcome in ("sent", "dead")
        assert attempts[-1].outcome == "sent" or len(attempts) == len(SCHEDULE)
        for before, after in zip(attempts, attempts[1:], strict=False):
            wait = aware(after.at) - aware(before.at)
            step = SCHEDULE[before.number]
            asked = re.search(r"Retry-After (\d+)", before.error or "")
            low = step * (1 - JITTER)
            high = max(step, timedelta(seconds=int(asked.group(1)))) if asked else step
            assert low <= wait <= high + timedelta(milliseconds=1), (before.number, wait, asked)
            if asked:
                assert wait >= timedelta(seconds=int(asked.group(1)))
            waits += 1
    assert waits > NOTICES  # many retries were checked
    timeouts = sum(1 for t in tries if "超时" in (t.error or ""))
    assert timeouts > 0
