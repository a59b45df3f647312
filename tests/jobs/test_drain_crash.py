"""Nothing lost, nothing acted on twice: the drain killed at random moments (RELIABILITY D1),
and several drainers at once on one queue (S3).

The crash test queues 10,000 notices for 100 subscribed enterprises in SQLite, runs
`zhida notices drain` as a subprocess, SIGKILLs it at random points
of its progress three times, restarting it each time, then lets a last `drain --once` finish
after the leases ran out. The receiver verifies
every request and dedupes by webhook-id. Every notice must arrive (10,000 distinct ids), every
resend must carry the id and body of a notice already received, and the store must say `sent`
for each. The counts are printed (run with -s to see them). It runs on SQLite only, to keep the
suite's time (≈ 30 s): on PostgreSQL the same claim-lease-record path is exercised by the
concurrent drainers below, and a hand run of the same procedure there (10,000 notices, 3 kills)
is reported in docs/delivery.md.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from jobs.channels import Channels, DrainSettings
from jobs.drain import drain
from store.db import read_session
from store.delivery.secrets import secret_box
from store.tables.delivery import Delivery, DeliveryAttempt
from store.tables.entitlements import OutboxMessage
from store.testing import fresh_sqlite
from tests.jobs.delivery_kit import (
    Receiver,
    add_enterprises,
    queue_notices,
    serving,
    subscribe_webhook,
)

ROOT = Path(__file__).resolve().parents[2]
SUBJECTS, KILLS, NOTICES = 100, 3, 10_000


@pytest.fixture
def allowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHIDA_WEBHOOK_ALLOW", "127.0.0.0/8")
    monkeypatch.setenv("ZHIDA_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ZHIDA_SECRET_KEY", raising=False)


def _subscribed(engine: Engine, receiver: Receiver, count: int) -> list[tuple[str, int]]:
    subjects = []
    for sid, code in add_enterprises(engine, count):
        subscribe_webhook(engine, receiver, code, code)
        subjects.append(("enterprise", sid))
    return subjects


def _states(engine: Engine) -> dict[str, int]:
    with read_session(engine) as session:
        rows = session.execute(
            select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)  # type: ignore[arg-type]
        ).all()
    return {state: n for state, n in rows}


def _drainer(tmp_path: Path, url: str, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "ZHIDA_DATA_DIR": str(tmp_path),
           "ZHIDA_DRAIN_LEASE_S": "1", "ZHIDA_DRAIN_POLL_S": "0.1"}  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-c", "from cli import main; main()", "notices", "drain", *args],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def test_a_drainer_killed_three_times_loses_nothing_and_resends_only_known_ids(
    tmp_path: Path, sqlite_template: Path, allowed: None
) -> None:
    rng, notices = random.Random(20261130), NOTICES
    database_url = f"sqlite:///{tmp_path / 'crash.db'}"
    engine = fresh_sqlite(tmp_path / "crash.db", sqlite_template)
    with serving(Receiver()) as receiver:
        subjects = _subscribed(engine, receiver, SUBJECTS)
        ids = queue_notices(engine, subjects, notices // SUBJECTS)
        kills = 0
        while kills < KILLS:
            before = len(receiver.hits)
            child = _drainer(tmp_path, database_url, "--batch", "200")
            target = before + rng.randint(
                notices // 40, notices // 8
            )  # a random point of its progress
            deadline = time.monotonic() + 30
            while len(receiver.hits) < target and child.poll() is None:
                assert time.monotonic() < deadline, "the drainer made no progress"
                time.sleep(0.005)
            if child.poll() is not None:
                break  # it finished everything before this kill
            time.sleep(rng.random() * 0.05)
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=10)
            kills += 1
        time.sleep(1.2)  # the killed drainer's leases run out
        last = _drainer(tmp_path, database_url, "--once", "--batch", "500")
        _, said = last.communicate(timeout=120)
        assert last.returncode == 0, said.decode()
    expected = {f"msg_{i}" for i in ids}
    total, distinct = len(receiver.hits), len(receiver.processed)
    duplicates = total - distinct
    print(f"\ncrash test: expected {len(expected):,}, distinct delivered {distinct:,}, "
          f"total received {total:,}, duplicates {duplicates:,} (all of known ids), "
          f"lost {len(expected - receiver.processed):,}, kills {kills}")  # fmt: skip
    assert kills >= 3
    assert duplicates > 0  # a kill fell between a push and its record: the D1 crash point
    assert receiver.processed == expected  # none lost, none invented
    assert receiver.forged == 0 and receiver.changed == 0  # resends: same id, same body
    assert _states(engine) == {"sent": notices}
    with read_session(engine) as session:
        undelivered = session.execute(
            select(func.count()).select_from(Delivery).where(Delivery.state != "sent")  # type: ignore[arg-type]
        ).scalar_one()
        tries = session.execute(select(func.count()).select_from(DeliveryAttempt)).scalar_one()
    engine.dispose()
    assert undelivered == 0
    assert notices <= tries <= total  # every recorded try happened; killed ones went unrecorded


def test_four_drainers_at_once_never_send_a_notice_twice(engine: Engine, allowed: None) -> None:
    """On PostgreSQL the claims skip each other's locked rows; on SQLite the write lock
    serialises them: 800 notices, 4 drainers, each notice received exactly once."""
    with serving(Receiver()) as receiver:
        subjects = _subscribed(engine, receiver, 20)
        ids = queue_notices(engine, subjects, 40)
        settings = DrainSettings(batch=20, lease_s=120, workers=2)
        errors: list[BaseException] = []

        def run() -> None:
            channels = Channels(settings, box=secret_box())
            try:
                drain(engine, channels=channels, once=True)
            except BaseException as exc:  # pragma: no cover - shown by the assert below
                errors.append(exc)
            finally:
                channels.close()

        threads = [threading.Thread(target=run) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    assert errors == []
    assert receiver.processed == {f"msg_{i}" for i in ids}
    assert len(receiver.hits) == len(ids)  # no notice twice
    assert _states(engine) == {"sent": len(ids)}
