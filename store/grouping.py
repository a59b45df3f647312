"""One household's rows → a flat profile → `parse_household`; each problem on its row and column.

`parse_household` reports JSON paths (`members[2].id_number`, `dibao_status`); here they are
mapped back to the sheet: the member's row and the column's header, or the row a household
value came from. A cell that could not be converted is reported once, not again as missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from matcher.errors import ProfileError
from matcher.profiles import Household, parse_household
from rules.facts import FactCatalogue
from store.cells import CellError, convert, is_blank, shown
from store.guards import Limits
from store.template import Column

__all__ = ["Group", "RowError", "validate_group"]

_MEMBER_PATH = re.compile(r"members\[(\d+)\](?:\.(\w+))?")
_MEMBER_IDENTITY = ("name", "id_number", "relation")


@dataclass(frozen=True)
class RowError:
    """One problem in a sheet: the row as the user sees it, the column header, the value, why."""

    row: int | None
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row is not None else "sheet"
        column = f" column {self.column}" if self.column else ""
        value = f" ({self.value})" if self.value else ""
        return f"{where}{column}{value}: {self.reason}"


@dataclass
class Group:
    """The consecutive rows sharing one 户编号."""

    household_id: str
    first_row: int
    index: list[tuple[int, Column]]
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)
    member_rows: list[int] = field(default_factory=list)


@dataclass
class _Collected:
    household: dict[str, tuple[Any, int]] = field(default_factory=dict)
    members: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[tuple[int, str], Any] = field(default_factory=dict)
    problems: list[RowError] = field(default_factory=list)
    reported: set[tuple[int, str]] = field(default_factory=set)
    headers: dict[str, str] = field(default_factory=dict)

    def problem(self, row: int, column: Column | str, reason: str, key: str = "") -> None:
        header = column.header if isinstance(column, Column) else column
        key = column.key if isinstance(column, Column) else key
        if (row, key) in self.reported:
            return
        self.reported.add((row, key))
        value = shown(self.raw.get((row, key), ""), secret=key == "id_number")
        self.problems.append(RowError(row, header, value, reason))


def _household_value(got: _Collected, column: Column, value: Any, row: int) -> None:
    before = got.household.get(column.key)
    if before is None:
        got.household[column.key] = (value, row)
    elif before[0] != value:
        first = shown(got.raw[(before[1], column.key)])
        got.problem(row, column, f"the household has two different values: {first} on row "
                    f"{before[1]} and another here; a household fact has one value")  # fmt: skip


def _row(got: _Collected, group: Group, number: int, cells: list[Any], limits: Limits) -> None:
    member: dict[str, Any] = {}
    is_member = False
    for at, column in group.index:
        raw = cells[at] if at < len(cells) else None
        if column.key == "household_id" or is_blank(raw):
            continue
        got.raw[(number, column.key)] = raw
        member_cell = column.kind == "member" or column.key in _MEMBER_IDENTITY
        is_member = is_member or member_cell
        try:
            value = convert(column, raw, limits.max_cell_chars)
        except CellError as error:
            got.problem(number, column, str(error))
            continue
        if member_cell:
            member[column.key] = value
        else:
            _household_value(got, column, value, number)
    if is_member:
        got.members.append(member)
        group.member_rows.append(number)


def _where(path: str, got: _Collected, group: Group) -> tuple[int, str]:
    found = _MEMBER_PATH.fullmatch(path)
    if found:
        return group.member_rows[int(found[1])], found[2] or "relation"
    if path == "members":
        return (group.member_rows or [group.first_row])[0], "relation"
    key = path.split(".")[0]
    row = got.household[key][1] if key in got.household else group.first_row
    return row, key


def _map_issues(error: ProfileError, got: _Collected, group: Group) -> None:
    for issue in error.issues:
        row, key = _where(issue.path, got, group)
        got.problem(row, got.headers.get(key, key), issue.message, key)


def validate_group(
    group: Group, catalogue: FactCatalogue, on: date, limits: Limits
) -> tuple[Household | None, list[RowError]]:
    """Check one household's rows.

    Args:
        group: the consecutive rows of one 户编号.
        catalogue: the fact catalogue.
        on: the evaluation date (ID numbers born after it are refused).
        limits: the upload caps (cell length).

    Returns:
        The household and no problems, or None and every problem found (row and column each).
    """
    got = _Collected(headers={c.key: c.header for _, c in group.index})
    for number, cells in group.rows:
        _row(got, group, number, cells, limits)
    if not got.members:
        reason = (f"household {group.household_id} has no member rows: no row of it fills "
                  "身份证号, 姓名 or 与户主关系 (an empty household)")  # fmt: skip
        got.problem(group.first_row, got.headers.get("id_number", "身份证号"), reason, "id_number")
        return None, got.problems
    raw: dict[str, Any] = {k: v for k, (v, _) in got.household.items()}
    raw.update(household_id=group.household_id, members=got.members)
    try:
        household = parse_household(raw, catalogue, source=group.household_id, today=on)
    except ProfileError as error:
        _map_issues(error, got, group)
    if got.problems:
        return None, got.problems
    return household, []
