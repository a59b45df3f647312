"""What day it is where the county is: every default date of zhida (CLI options, the scheduler's
jobs, the event path's refusal of future dates) is today in Asia/Shanghai, whatever the
machine's time zone.

A machine on UTC is still on yesterday from 00:00 to 08:00 Shanghai time; were the CLI to use
the machine's date, a `zhida profile set` without `--on` would be dated the day before the
02:00 nightly sweep and refused as "before the history". One function, here in the lowest layer
so that store, jobs and cli all use the same one.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

__all__ = ["TIMEZONE", "future_date_message", "today"]

TIMEZONE = "Asia/Shanghai"


def today(now: datetime | None = None) -> date:
    """Today in Asia/Shanghai.

    Args:
        now: an aware moment to read the date of (default: the clock, now).

    Returns:
        The date in Asia/Shanghai at `now`.
    """
    zone = ZoneInfo(TIMEZONE)
    return (now.astimezone(zone) if now is not None else datetime.now(zone)).date()


def future_date_message(on: date, option: str = "--on", *, now: date | None = None) -> str:
    """The message refusing a change dated after today (it would be sent now, and hold the
    entitlement history at that date, so every sweep before it would be refused).

    Args:
        on: the date given.
        option: the option that gave it.
        now: today (default `today()`).

    Returns:
        One line in Chinese naming the option, the date given and today.
    """
    day = now or today()
    return (
        f"{option} {on}：晚于今天 {day}（{TIMEZONE}），不能记未来的变更（a date in the future）；"
        f"应为 {day} 或之前的日期"
    )
