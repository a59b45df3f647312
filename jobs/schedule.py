"""The scheduler: APScheduler 3.x, its job store in our database, one per store (jobs.lock).

    scheduler = make_scheduler(engine, root=Path("policies"))   # jobs registered, not started
    scheduler.start()                                           # BlockingScheduler: until SIGTERM

Every job is registered with an explicit id and `replace_existing=True` (a restart updates it,
never duplicates it), `coalesce=True` (after downtime a missed job runs once, not once per missed
tick), `max_instances=1` (a run longer than its interval is not overlapped), a long
`misfire_grace_time` (a sweep missed by minutes still runs), the time zone Asia/Shanghai, and
plain-data arguments — the values DELIVERY.md measured. The nightly sweep runs at 02:00; due
deadlines fire hourly (`fire_deadlines`, at minute 5); claim steps' deadlines (承诺时限) are
reminded and escalated hourly (`claim_deadlines`, at minute 10); the API's idempotency keys
older than 24 hours are pruned nightly (`prune_idempotency_keys`, 03:30); the outbox drain every 5 s
(`ZHIDA_DRAIN_EVERY_S`); retries of failed deliveries are the drain's too: a failed delivery is
simply due again later. Each job names its trigger (`cron` or `interval`) and the trigger's
fields; `interval` jobs get a short misfire grace (a missed tick is worth nothing once the next
one comes).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from apscheduler.events import EVENT_SCHEDULER_SHUTDOWN, SchedulerEvent
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import Engine

from jobs.lock import SchedulerLock
from jobs.tasks import TIMEZONE

__all__ = ["JOBS", "JOB_DEFAULTS", "JOB_TABLE", "JobSpec", "make_scheduler"]

JOB_TABLE = "apscheduler_jobs"
JOB_DEFAULTS: dict[str, Any] = {
    "coalesce": True,
    "max_instances": 1,
    "misfire_grace_time": 6 * 3600,  # seconds: a nightly job missed by hours still runs
}
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobSpec:
    """One scheduled job: a stable id, an importable function, its trigger, what it says."""

    id: str
    func: str  # "module:function"
    cron: dict[str, str | int]  # the trigger's fields (cron: hour, minute; interval: seconds)
    says: str
    kwargs: Callable[[Path], dict[str, str]] = field(default=lambda root: {})
    trigger: Literal["cron", "interval"] = "cron"
    options: dict[str, Any] = field(default_factory=dict)  # overrides of JOB_DEFAULTS
    every_env: str | None = None  # an interval job: this setting, when set, gives its seconds

    def fields(self) -> dict[str, str | int]:
        """The trigger's fields, with the interval from `every_env` when that is set."""
        text = os.environ.get(self.every_env, "").strip() if self.every_env else ""
        if text.isdigit() and int(text) > 0:
            return {**self.cron, "seconds": int(text)}
        return dict(self.cron)


JOBS: tuple[JobSpec, ...] = (
    JobSpec(
        id="nightly_sweep",
        func="jobs.tasks:nightly_sweep",
        cron={"hour": 2, "minute": 0},
        says="每天 02:00 普查：全部已存档案对照政策目录",
        kwargs=lambda root: {"root": str(root)},
    ),
    JobSpec(
        id="fire_deadlines",
        func="jobs.tasks:fire_deadlines",
        cron={"minute": 5},
        says="每小时第 5 分钟：到期的期限（如次月起停发后续待遇）转为事件，重新评估",
        kwargs=lambda root: {"root": str(root)},
    ),
    JobSpec(
        id="claim_deadlines",
        func="jobs.tasks:claim_deadlines",
        cron={"minute": 10},
        says="每小时第 10 分钟：申领各环节的承诺时限，到期前提醒经办单位，逾期报县督查",
        kwargs=lambda root: {"root": str(root)},
    ),
    JobSpec(
        id="prune_idempotency_keys",
        func="jobs.tasks:prune_idempotency_keys",
        cron={"hour": 3, "minute": 30},
        says="每天 03:30 清理 24 小时以前的幂等键（Idempotency-Key）及其保存的应答",
    ),
    JobSpec(
        id="outbox_drain",
        func="jobs.tasks:drain_outbox",
        cron={"seconds": 5},
        says="每 5 秒投递待发通知（含到期的重试）",
        trigger="interval",
        options={"misfire_grace_time": 30},
        every_env="ZHIDA_DRAIN_EVERY_S",
    ),
)


def make_scheduler(
    engine: Engine, *, root: Path, kind: Literal["blocking", "background"] = "blocking"
) -> BaseScheduler:
    """A scheduler on `engine`'s job store with every job of `JOBS` registered, holding the lock.

    The lock is taken here, before anything touches the job store, and given back when the
    scheduler shuts down.

    Raises:
        SchedulerRunning: another scheduler holds this database's lock.
    """
    lock = SchedulerLock(engine)
    lock.acquire()
    try:
        store = SQLAlchemyJobStore(engine=engine, tablename=JOB_TABLE)
        factory = BlockingScheduler if kind == "blocking" else BackgroundScheduler
        scheduler = factory(
            jobstores={"default": store}, job_defaults=JOB_DEFAULTS, timezone=TIMEZONE
        )

        def on_shutdown(_: SchedulerEvent) -> None:
            lock.release()

        scheduler.add_listener(on_shutdown, EVENT_SCHEDULER_SHUTDOWN)
        for job in JOBS:
            scheduler.add_job(
                job.func,
                trigger=job.trigger,
                id=job.id,
                name=job.says,
                replace_existing=True,
                kwargs=job.kwargs(root),
                **job.options,
                **job.fields(),
            )
    except BaseException:
        lock.release()
        raise
    return scheduler
