"""Working days (工作日) on the State Council's holiday calendar, for 承诺时限.

A day is a working day unless it is a statutory holiday (放假), and a weekend day is one when it
is an adjusted working day (调休上班). The calendar comes from the `chinesecalendar` package
(module `chinese_calendar`, which knows 2004–2026 in version 1.11), and from the override file
`policies/holidays.yaml` for the years it does not know yet: the State Council's General Office
publishes the next year's 《部分节假日安排的通知》 around November, and a county adds it there
before the package is updated. A year in the file replaces the package's for that year.

A date in a year neither knows raises `CalendarUnknown` (a ZhidaError), never a guess: a
deadline computed on an unknown calendar would be wrong on the first holiday.

`add_workdays(start, n)` is the n-th working day after `start` (start itself not counted);
`workdays_between(a, b)` counts the working days in (a, b], negative when b is before a; so
`workdays_between(d, add_workdays(d, n)) == n` for every n ≥ 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated

import chinese_calendar  # type: ignore[import-untyped]  # no py.typed
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rules.catalogue import HOLIDAYS_FILE, validation_error
from rules.errors import Location, RuleError, ZhidaError
from rules.yaml_safe import load_file

__all__ = [
    "CalendarUnknown",
    "WorkCalendar",
    "add_workdays",
    "check_holidays",
    "is_workday",
    "workdays_between",
]

_ONE = timedelta(days=1)


class CalendarUnknown(ZhidaError):
    """Raised for a date in a year whose holiday schedule neither the package nor the file has."""

    def __init__(self, year: int) -> None:
        self.year = year
        super().__init__(
            f"{year} 年的节假日安排未知：chinesecalendar 不含 {year} 年，"
            f"policies/{HOLIDAYS_FILE} 也没有 (calendar unknown)。"
            f"按国务院办公厅《关于{year}年部分节假日安排的通知》在 policies/{HOLIDAYS_FILE} 的 "
            f"years: 下加 {year}:（放假日 holidays、调休上班日 workdays、来源 source），"
            "或升级 chinesecalendar"
        )


class _Span(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: date = Field(alias="from")
    to: date


class YearSpec(BaseModel):
    """One year's published schedule: the notice it comes from, days off, adjusted workdays."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(min_length=1)
    holidays: list[date | _Span] = Field(min_length=1)
    workdays: list[date] = Field(default_factory=list)


class HolidaysFile(BaseModel):
    """The whole override file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    years: dict[Annotated[int, Field(ge=2000, le=2100)], YearSpec] = Field(default_factory=dict)


@dataclass(frozen=True)
class WorkCalendar:
    """The package's calendar with the override file's years on top."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    years: frozenset[int] = field(default_factory=frozenset)

    @classmethod
    def load(cls, root: Path) -> WorkCalendar:
        """The calendar with `root/holidays.yaml` (the package's alone when there is no file).

        Raises:
            RuleError: the file is wrong (at `file:line:col`).
        """
        path = root / HOLIDAYS_FILE
        if not path.is_file():
            return cls()
        calendar, problems = check_holidays(path)
        if problems:
            raise problems[0]
        assert calendar is not None
        return calendar

    def is_workday(self, day: date) -> bool:
        """Whether `day` is a working day.

        Raises:
            CalendarUnknown: neither the file nor the package knows `day`'s year.
        """
        if day.year in self.years:
            return day in self.workdays or (day.weekday() < 5 and day not in self.holidays)
        return _package_is_workday(day)

    def add_workdays(self, start: date, n: int) -> date:
        """The `n`-th working day after `start` (`start` when n is 0).

        Raises:
            ValueError: n is negative.
            CalendarUnknown: the count runs into a year nobody knows.
        """
        if n < 0:
            raise ValueError(f"n must be ≥ 0, got {n}")
        day = start
        while n:
            day += _ONE
            n -= self.is_workday(day)
        return day

    def workdays_between(self, a: date, b: date) -> int:
        """The working days in (a, b]; negative (−those in (b, a]) when b is before a.

        Raises:
            CalendarUnknown: the span reaches a year nobody knows.
        """
        if b < a:
            return -self.workdays_between(b, a)
        count, day = 0, a
        while day < b:
            day += _ONE
            count += self.is_workday(day)
        return count


@lru_cache(maxsize=16384)  # about 45 years of days: counting a span asks for every day in it
def _package_is_workday(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        raise CalendarUnknown(day.year) from None


def check_holidays(path: Path) -> tuple[WorkCalendar | None, list[RuleError]]:
    """Load and check an override file: the calendar, or every problem at `file:line:col`."""
    try:
        loaded = load_file(path)
        spec = HolidaysFile.model_validate(loaded.data or {})
    except RuleError as exc:
        return None, [exc]
    except ValidationError as exc:
        return None, [validation_error(exc, loaded)]
    holidays: set[date] = set()
    workdays: set[date] = set()
    problems: list[RuleError] = []
    for year, spec_year in spec.years.items():
        listed = [
            ("holidays", i, d) for i, item in enumerate(spec_year.holidays) for d in _days(item)
        ]
        listed += [("workdays", i, d) for i, d in enumerate(spec_year.workdays)]
        off = {d for kind, _, d in listed if kind == "holidays"}
        for kind, i, day in listed:
            where = loaded.where(("years", year, kind, i))
            if day.year != year:
                problems.append(
                    _wrong(where, day, f"不在 {year} 年内", f"写在 years: {day.year}: 下")
                )
            elif kind == "workdays" and day in off:
                problems.append(_wrong(where, day, "既是放假日又是调休上班日", "只写在其中一处"))
        holidays |= off
        workdays |= set(spec_year.workdays)
    calendar = WorkCalendar(frozenset(holidays), frozenset(workdays), frozenset(spec.years))
    return (None, problems) if problems else (calendar, [])


def _wrong(where: Location, day: date, what: str, hint: str) -> RuleError:
    return RuleError(where, f"日期 {day} {what}", hint)


def _days(item: date | _Span) -> list[date]:
    """The days of one `holidays:` item (a date, or every day of a span)."""
    if isinstance(item, date):
        return [item]
    return [item.from_ + timedelta(days=k) for k in range((item.to - item.from_).days + 1)]


_PACKAGE = WorkCalendar()


def is_workday(day: date, *, calendar: WorkCalendar = _PACKAGE) -> bool:
    """Whether `day` is a working day (see `WorkCalendar.is_workday`)."""
    return calendar.is_workday(day)


def add_workdays(start: date, n: int, *, calendar: WorkCalendar = _PACKAGE) -> date:
    """The `n`-th working day after `start` (see `WorkCalendar.add_workdays`)."""
    return calendar.add_workdays(start, n)


def workdays_between(a: date, b: date, *, calendar: WorkCalendar = _PACKAGE) -> int:
    """The working days in (a, b] (see `WorkCalendar.workdays_between`)."""
    return calendar.workdays_between(a, b)
