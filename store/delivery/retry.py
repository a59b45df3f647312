"""When a failed delivery is tried again: the Standard Webhooks schedule, with jitter.

The spec's example schedule is the delay before each try: immediately, then 5 s, 5 min,
30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h after the previous failure — ten tries over about
three days. After the tenth failure the delivery is `dead`.

Jitter spreads retries so that receivers coming back from an outage are not hit by every
sender at once. We use AWS's *full jitter* ("Exponential Backoff and Jitter"), as the delivery
issue asks: the delay after failure n is drawn uniformly from [0, d], d the schedule's step, so
a try is never later than the schedule says. Full jitter can make one delivery's three days of
patience shorter; it is what spreads a burst of failures best. `JITTER` (the random share of the
step, 1 = full) is one constant, should a county prefer [d/2, d]. A receiver's `Retry-After`
raises the delay to at least what it asked, capped at `MAX_RETRY_AFTER` (a day), so a throttled
receiver is never retried sooner than it asked.
"""

from __future__ import annotations

import random
from datetime import timedelta

__all__ = ["JITTER", "MAX_RETRY_AFTER", "SCHEDULE", "delay_after", "tries"]

SCHEDULE: tuple[timedelta, ...] = tuple(
    timedelta(seconds=s) for s in (0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
)
JITTER = 1.0  # full jitter: uniform in [0, d]
MAX_RETRY_AFTER = timedelta(days=1)


def tries(schedule: tuple[timedelta, ...] = SCHEDULE) -> int:
    """How many tries a delivery gets before it is dead."""
    return len(schedule)


def delay_after(
    failures: int,
    *,
    retry_after: timedelta | None = None,
    rng: random.Random | None = None,
    jitter: float = JITTER,
    schedule: tuple[timedelta, ...] = SCHEDULE,
) -> timedelta | None:
    """The wait before the next try after `failures` failed tries, or None: no try is left.

    Args:
        failures: failed tries so far (≥ 1).
        retry_after: what the receiver asked for (`Retry-After`), if it did.
        rng: the random source (seeded in tests).
        jitter: the share of the step that is random (see the module docstring).
        schedule: the delays before each try.

    Returns:
        The wait, within [(1 − jitter)·d, d] or at least `retry_after` (capped at a day).
    """
    if failures >= len(schedule):
        return None
    step = schedule[failures].total_seconds()
    drawn = step * (1 - jitter * (rng or random).random())
    wait = timedelta(seconds=drawn)
    if retry_after is not None:
        wait = max(wait, min(retry_after, MAX_RETRY_AFTER))
    return wait
