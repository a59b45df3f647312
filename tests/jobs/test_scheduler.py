"""The scheduler: its jobs and their options, one scheduler per job store, a clean stop, and the
nightly sweep it runs — on SQLite and PostgreSQL, with APScheduler's real job store."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select, text

from jobs.lock import SchedulerRunning
from jobs.schedule import JOB_TABLE, JOBS, make_scheduler
from jobs.tasks import nightly_sweep
from store.db import read_session
from store.seeding import seed_households
from store.tables.entitlements import Entitlement
from synth.households import Population, generate_households

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"


def _stored_jobs(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {JOB_TABLE}")).scalar_one())


def test_jobs_are_registered_once_with_the_measured_options(engine: Engine) -> None:
    """Stable ids, importable functions, 02:00 Asia/Shanghai for the sweep and every 5 s for the
    drain, coalesce, one instance, a grace, plain-data arguments; registering again replaces
    the jobs rather than adding them."""
    for _ in range(2):
        scheduler = make_scheduler(engine, root=POLICIES, kind="background")
        scheduler.start(paused=True)
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {j.id for j in JOBS} == {
            "nightly_sweep", "fire_deadlines", "claim_deadlines", "prune_idempotency_keys",
            "outbox_drain",
        }  # fmt: skip
        sweep, drain = jobs["nightly_sweep"], jobs["outbox_drain"]
        assert sweep.func_ref == "jobs.tasks:nightly_sweep"
        assert drain.func_ref == "jobs.tasks:drain_outbox"
        deadlines = jobs["fire_deadlines"]
        assert deadlines.func_ref == "jobs.tasks:fire_deadlines"
        assert deadlines.kwargs == {"root": str(POLICIES)} and deadlines.misfire_grace_time >= 3600
        claims = jobs["claim_deadlines"]
        assert claims.func_ref == "jobs.tasks:claim_deadlines"
        assert claims.kwargs == {"root": str(POLICIES)} and claims.misfire_grace_time >= 3600
        minute = {f.name: str(f) for f in claims.trigger.fields}["minute"]
        assert minute == "10" and claims.trigger.timezone == ZoneInfo("Asia/Shanghai")
        for job in (sweep, drain, deadlines, claims):
            assert (job.coalesce, job.max_instances) == (True, 1) and job.args == ()
        assert sweep.misfire_grace_time >= 3600 and 0 < drain.misfire_grace_time <= 60
        assert sweep.kwargs == {"root": str(POLICIES)} and drain.kwargs == {}
        fields = {f.name: str(f) for f in sweep.trigger.fields}
        assert (fields["hour"], fields["minute"]) == ("2", "0")
        assert sweep.trigger.timezone == ZoneInfo("Asia/Shanghai")
        assert drain.trigger.interval == timedelta(seconds=5)
        scheduler.shutdown()
        assert _stored_jobs(engine) == len(JOBS)


def test_the_drain_interval_is_a_setting(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHIDA_DRAIN_EVERY_S", "2")
    scheduler = make_scheduler(engine, root=POLICIES, kind="background")
    scheduler.start(paused=True)
    assert scheduler.get_job("outbox_drain").trigger.interval == timedelta(seconds=2)
    scheduler.shutdown()


def test_the_job_store_holds_no_id_number(engine: Engine) -> None:
    """J4: the pickled jobs carry plain arguments only: no 18-character ID number in them."""
    scheduler = make_scheduler(engine, root=POLICIES, kind="background")
    scheduler.start(paused=True)
    scheduler.shutdown()
    with engine.connect() as conn:
        states = conn.execute(text(f"SELECT job_state FROM {JOB_TABLE}")).scalars().all()
    assert len(states) == len(JOBS)
    for state in states:
        raw = bytes(state)
        assert re.search(rb"\d{17}[\dX]", raw) is None
        assert b"id_number" not in raw and b"household_no" not in raw


def test_a_second_scheduler_on_the_same_store_refuses_until_the_first_stops(
    engine: Engine,
) -> None:
    first = make_scheduler(engine, root=POLICIES, kind="background")
    with pytest.raises(SchedulerRunning, match="另一个调度器已在运行"):
        make_scheduler(engine, root=POLICIES, kind="background")
    first.start(paused=True)
    first.shutdown()
    again = make_scheduler(engine, root=POLICIES, kind="background")  # the lock was given back
    again.start(paused=True)
    again.shutdown()


def test_the_nightly_sweep_job_sweeps_and_skips_a_date_before_the_last(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pop = Population(households=200, chunk_size=200, dibao_share=0.2)
    seed_households(engine=engine, chunks=generate_households(pop))
    monkeypatch.setenv("DATABASE_URL", database_url)
    report = nightly_sweep(str(POLICIES), on="2025-03-01")
    assert report is not None and report.counts["households"] == 200
    with read_session(engine) as session:
        stored = session.execute(select(func.count()).select_from(Entitlement)).scalar_one()
    assert stored > 0
    assert nightly_sweep(str(POLICIES), on="2025-02-01") is None  # the history only moves forward


def _zhida(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.Popen(
        [sys.executable, "-c", "from cli import app; app()", *args],
        cwd=ROOT,
        env={**env, "ZHIDA_DATA_DIR": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_zhida_scheduler_runs_alone_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    first = _zhida(tmp_path, "scheduler")
    assert first.stdout is not None
    started = "".join(first.stdout.readline() for _ in range(1 + len(JOBS)))
    assert "调度器已启动" in started, started
    for job in ("nightly_sweep", "fire_deadlines", "claim_deadlines", "prune_idempotency_keys",
                "outbox_drain"):  # fmt: skip
        assert job in started, started
    second = _zhida(tmp_path, "scheduler")
    _, refused = second.communicate(timeout=60)
    assert second.returncode == 2 and "另一个调度器已在运行" in refused
    assert "Traceback" not in refused
    time.sleep(0.5)
    first.send_signal(signal.SIGTERM)
    rest, said = first.communicate(timeout=30)
    assert first.returncode == 0, said
    assert "调度器已停止" in rest and "SIGTERM" in said


def test_a_job_missed_while_the_scheduler_was_down_runs_once_when_it_comes_back(
    engine: Engine, tmp_path: Path
) -> None:
    """An every-2.5-s job, 5.5 s of downtime (two runs missed): back up, it runs once at once
    (coalesce), not once per missed run; the job and its schedule survived in the job store.
    The next regular run is 2 s after the restart, well after the check (at most 1.7 s)."""
    runs = tmp_path / "runs.txt"
    before = make_scheduler(engine, root=POLICIES, kind="background")
    before.start(paused=True)
    before.add_job(
        "tests.jobs.marks:mark", trigger="interval", seconds=2.5, id="tick",
        kwargs={"path": str(runs)}, replace_existing=True,
    )  # fmt: skip
    before.shutdown()
    time.sleep(5.5)
    after = make_scheduler(engine, root=POLICIES, kind="background")
    after.start()
    deadline = time.monotonic() + 1.5
    while not runs.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # the missed runs, had they not been coalesced, would all be here by now
    after.shutdown(wait=True)
    assert runs.read_text(encoding="utf-8").splitlines() == ["ran"]
