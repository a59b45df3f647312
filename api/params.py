"""Parameter and answer types shared by the routes: bounded ids and pages.

An unbounded integer in a path reaches the database as a number it cannot hold, and a query
would fail with a 500: every `{…_id:int}` path parameter is an `IdPath`, every `limit` a
`Limit` (1–500) and every `offset` an `Offset`. Every list endpoint answers a `Page`,
`{"items": […], "total": n, "limit": l, "offset": o}` (`total`: how many there are in all,
not only on this page); a list computed in memory is cut with `page_of`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Generic, TypeVar

import msgspec
from litestar.params import Parameter

from api.problems import Problem, ProblemError
from rules.clock import future_date_message, today

__all__ = [
    "DAY_FIRST",
    "DAY_LAST",
    "day_or_today",
    "past_day",
    "On",
    "Region",
    "ID_MAX",
    "IdPath",
    "Limit",
    "Offset",
    "Page",
    "page_of",
]

ID_MAX = 2**31 - 1  # the largest id a row of ours can have (an INTEGER primary key on both)

Region = Annotated[
    str | None,
    Parameter(
        description="区划代码前缀（1–12 位数字；默认调用者的辖区）",
        pattern=r"^[0-9]{1,12}$", max_length=12,
    ),
]  # fmt: skip
On = Annotated[date | None, Parameter(description="日期 YYYY-MM-DD（默认今天，Asia/Shanghai）")]
IdPath = Annotated[int, Parameter(ge=1, le=ID_MAX, description="编号（1 至 2147483647）")]
Limit = Annotated[int, Parameter(ge=1, le=500, description="每页条数（1–500）")]
Offset = Annotated[int, Parameter(ge=0, le=ID_MAX, description="跳过的条数")]

T = TypeVar("T")


class Page(msgspec.Struct, Generic[T]):
    """A page of a list: its items, how many there are in all, and the page asked for."""

    items: list[T]
    total: int
    limit: int
    offset: int


def page_of(items: Sequence[T], limit: int, offset: int) -> Page[T]:
    """The page of `items` (all of a list, computed in memory) from `offset`, `limit` long."""
    return Page(list(items[offset : offset + limit]), len(items), limit, offset)


DAY_FIRST, DAY_LAST = date(1900, 1, 1), date(2199, 12, 31)  # the days zhida counts with


def day_or_today(on: date | None, where: str = "on", *, body: bool = False) -> date:
    """A date (default today, Asia/Shanghai), or a problem naming it when it lies outside
    1900–2199 (a year-1 date would overflow the day arithmetic of a report): a query
    parameter's is a 400 at `query.<where>`, a body field's a 422 at `<where>`."""
    if on is None:
        return today()
    if not DAY_FIRST <= on <= DAY_LAST:
        said = f"{on.isoformat()}：应为 {DAY_FIRST.year}–{DAY_LAST.year} 年之间的日期"
        path, status = (where, 422) if body else (f"query.{where}", 400)
        raise ProblemError(status, f"{where}：{said}", [Problem(path, said)])
    return on


def past_day(on: date | None, where: str = "on") -> date:
    """A body's date of something done (a step, an upload): 1900–2199, never after today
    (default today, Asia/Shanghai); else a 422 at `<where>`."""
    day = day_or_today(on, where, body=True)
    if day > today():
        said = future_date_message(day, where)
        raise ProblemError(422, said, [Problem(where, said)])
    return day
