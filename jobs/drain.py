"""The outbox drain: claim due notices, send them on every subscribed channel, record each try.

    report = drain(engine, channels=Channels(settings, box=secret_box()), once=True)

One pass is: `store.delivery.outbox.claim` (a short write transaction: due rows, a lease, the
fan-out to subscriptions), then the tries, sent `settings.workers` at a time outside any
transaction, then `record` (one write transaction: every attempt, the new states, leases
released). A drainer killed between the tries and the record leaves leases that expire after
`settings.lease_s`; the next drainer sends those notices again with the same `webhook-id`
(RELIABILITY D1). Keep the lease above batch × timeout ÷ workers, or a slow batch's notices
can be claimed again by a second drainer before the first records them (which costs a
duplicate push, never a lost one).

The clock is injectable (`clock`): due times, leases and attempt times all come from it, so
tests step through a three-day retry schedule without sleeping. The wall clock is used only for
what receivers check (`webhook-timestamp`).

With `once=True` the drain returns when nothing is due; otherwise it waits `settings.poll_s`
between empty passes until `stop` is set (or the process is stopped).
"""

from __future__ import annotations

import logging
import random
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine

from jobs.channels import Channels
from store.delivery.outbox import Claimed, Result, Send, claim, record
from store.delivery.retry import SCHEDULE
from store.tables.types import utcnow

__all__ = ["Clock", "DrainReport", "drain", "drain_pass"]

Clock = Callable[[], datetime]
log = logging.getLogger(__name__)


@dataclass
class DrainReport:
    """What a drain did: notices claimed, tries by outcome."""

    claimed: int = 0
    tries: Counter[str] = field(default_factory=Counter)  # sent | failed | gone | skipped

    def add(self, results: list[Result], claimed: int) -> None:
        """Count one pass."""
        self.claimed += claimed
        for r in results:
            key = (
                "sent" if r.ok else "gone" if r.gone else "skipped" if not r.attempted else "failed"
            )
            self.tries[key] += 1


def drain_pass(
    engine: Engine,
    *,
    channels: Channels,
    pool: ThreadPoolExecutor,
    clock: Clock = utcnow,
    rng: random.Random | None = None,
    schedule: tuple[timedelta, ...] = SCHEDULE,
) -> tuple[int, list[Result]]:
    """One claim, its tries, their record; returns (notices claimed, results)."""
    settings = channels.settings
    batch = claim(
        engine=engine, now=clock(), batch=settings.batch, lease=timedelta(seconds=settings.lease_s)
    )
    if not batch.ids:
        return 0, []
    jobs: list[tuple[Claimed, Send]] = [(n, s) for n in batch.notices for s in n.sends]
    futures = [(s, pool.submit(lambda n, s: channels.send(n, s, clock()), n, s)) for n, s in jobs]
    results = [_result(send, clock, future) for send, future in futures]
    record(engine=engine, batch=batch, results=results, now=clock(), rng=rng, schedule=schedule)
    return len(batch.ids), results


def _result(send: Send, clock: Clock, future: Future[Result]) -> Result:
    """A try's Result; a sender that raised anyway (`Channels.send` should not) is a failed,
    retryable try, so the batch's other results are still recorded."""
    try:
        return future.result()
    except Exception as exc:  # record the rest whatever one send did
        log.error("drain: delivery %d raised %s", send.delivery_id, type(exc).__name__)
        return Result(send, clock(), ok=False, error=f"内部错误（{type(exc).__name__}）"[:300])


def drain(
    engine: Engine,
    *,
    channels: Channels,
    once: bool = True,
    clock: Clock = utcnow,
    stop: threading.Event | None = None,
    rng: random.Random | None = None,
    schedule: tuple[timedelta, ...] = SCHEDULE,
) -> DrainReport:
    """Drain the outbox: until nothing is due (`once`), or until `stop` is set.

    Args:
        engine: the database.
        channels: the senders (and the settings: batch, lease, workers, poll).
        once: return when a pass finds nothing due.
        clock: now, for due times, leases and attempt times.
        stop: set it to end a drain that is not `once` (checked between passes).
        rng: the jitter's random source.
        schedule: the retry schedule (`store.delivery.retry.SCHEDULE`).

    Returns:
        What was done.
    """
    report, stop = DrainReport(), stop or threading.Event()
    with ThreadPoolExecutor(max_workers=channels.settings.workers) as pool:
        while not stop.is_set():
            claimed, results = drain_pass(
                engine, channels=channels, pool=pool, clock=clock, rng=rng, schedule=schedule
            )
            report.add(results, claimed)
            if claimed:
                log.info("drain: %d notices claimed, %d tries", claimed, len(results))
                continue
            if once:
                break
            stop.wait(channels.settings.poll_s)
    return report
