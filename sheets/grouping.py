"""One household's rows → a flat profile → `parse_household`; each problem on its row and column.

`parse_household` reports JSON paths (`members[2].id_number`, `dibao_status`); here they are
mapped back to the sheet: the member's row and the column's header, or the row a household
value came from. A cell that could not be converted is reported once, not again as missing.

A batch validates most households on a fast path (`RowPlan`): cells already of their column's
type (and inside their fact's domain) are taken as they are, each ID number is parsed once,
and the `Household` is built from checked values without validating the models again. The
fast path applies the same checks as `parse_household` (ID numbers with their birth date,
region codes, names, relations, one head, no ID twice, household values that agree, facts
inside their domains); a household it cannot accept in full — any cell that needs converting
or fails, any identifier refused — goes to the slow path, which gives the canonical errors.
So both paths accept the same households, and refusals read the same.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter
from typing import Any

from matcher.profiles.errors import ProfileError
from matcher.profiles.identifiers import (
    IdentifierError,
    normalise_name,
    parse_region_code,
    parse_ric,
)
from matcher.profiles.parse import (
    IDENTITY_KEYS_HOUSEHOLD,
    IDENTITY_KEYS_MEMBER,
    RELATIONS,
    Household,
    Member,
    parse_household,
)
from rules.facts import FactCatalogue
from sheets.cells import CellError, Converter, convert, fast_converter, is_blank, shown
from sheets.guards import Limits
from sheets.template import Column

__all__ = ["Group", "RowError", "RowPlan", "validate_group"]

_MEMBER_PATH = re.compile(r"members\[(\d+)\](?:\.(\w+))?")
_MEMBER_IDENTITY = ("name", "id_number", "relation")
# Names that `normalise_name` returns unchanged: CJK unified ideographs (NFKC-stable), the
# middle dot U+00B7 and ASCII letters; no spaces, dots or controls.
_PLAIN_NAME = re.compile("[\u4e00-\u9fff\u00b7A-Za-z]+")


@dataclass(frozen=True)
class RowError:
    """One problem in a sheet: the row as the user sees it, the column header, the value, why."""

    row: int | None
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        where = f"第 {self.row} 行" if self.row is not None else "整表"
        column = f" {self.column} 列" if self.column else ""
        value = f"（{self.value}）" if self.value else ""
        return f"{where}{column}{value}：{self.reason}"


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
        got.problem(row, column, f"同一户填了两个不同的值：第 {before[1]} 行为 {first}，"
                    "本行为另一个值；户的信息只能有一个值")  # fmt: skip


def _row(
    got: _Collected, group: Group, number: int, cells: list[Any], limits: Limits, on: date
) -> None:
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
            value = convert(column, raw, limits.max_cell_chars, on)
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
    group: Group,
    catalogue: FactCatalogue,
    on: date,
    limits: Limits,
    plan: RowPlan | None = None,
) -> tuple[Household | None, list[RowError]]:
    """Check one household's rows.

    Args:
        group: the consecutive rows of one 户编号.
        catalogue: the fact catalogue.
        on: the evaluation date (ID numbers born after it are refused, and dates after it
            where a fact's domain says `max: today`).
        limits: the upload caps (cell length).
        plan: the fast path for the sheet's columns (`RowPlan(group.index, …)`); without
            one, or when it cannot accept the household, `parse_household` decides.

    Returns:
        The household and no problems, or None and every problem found (row and column each).
    """
    if plan is not None:
        household = plan.household(group)
        if household is not None:
            return household, []
    return slow_validate(group, catalogue, on, limits)


def slow_validate(
    group: Group, catalogue: FactCatalogue, on: date, limits: Limits
) -> tuple[Household | None, list[RowError]]:
    """`validate_group` through `parse_household` only: the reference, and every refusal."""
    got = _Collected(headers={c.key: c.header for _, c in group.index})
    for number, cells in group.rows:
        _row(got, group, number, cells, limits, on)
    if not got.members:
        reason = (f"户 {group.household_id} 没有成员行：它的各行都没有填身份证号、姓名或"
                  "与户主关系（空户）")  # fmt: skip
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


# --- the fast path -----------------------------------------------------------------------


class _Refuse(Exception):
    """The fast path cannot accept this household; the slow path decides and explains."""


class RowPlan:
    """How to read a sheet's rows straight into a `Household` (see the module's docstring).

    Built once per sheet from its header index; `household(group)` returns the household when
    every check passes, or None to send the group to the slow path.
    """

    def __init__(
        self, index: list[tuple[int, Column]], catalogue: FactCatalogue, on: date, limits: Limits
    ) -> None:
        self.on = on
        self.usable = True
        at: dict[bool, list[int]] = {True: [], False: []}
        self.member_cells: list[tuple[str, Converter]] = []
        self.household_cells: list[tuple[str, Converter]] = []
        for i, column in index:
            if column.key == "household_id":
                continue
            member = column.kind == "member" or column.key in _MEMBER_IDENTITY
            at[member].append(i)
            cells = self.member_cells if member else self.household_cells
            cells.append((column.key, fast_converter(column, limits.max_cell_chars, on)))
            if column.kind != "identity" and not _fact_accepted(column, catalogue, member):
                self.usable = False  # parse_household would refuse this column's values
        self.width = max([*at[True], *at[False]], default=-1) + 1
        self.take_member = _getter(at[True])
        self.take_household = _getter(at[False])
        self.regions: dict[str, str] = {}  # raw cell → checked code (valid ones only)

    def household(self, group: Group) -> Household | None:
        """The household of `group` when the fast path accepts it whole, else None."""
        if not self.usable:
            return None
        try:
            return self._household(group)
        except (_Refuse, CellError, IdentifierError):
            group.member_rows.clear()  # the slow path lists them again
            return None

    def _household(self, group: Group) -> Household:
        household: dict[str, Any] = {}
        members: list[dict[str, Any]] = []
        width = self.width
        member_cells, take_member = self.member_cells, self.take_member
        household_cells, take_household = self.household_cells, self.take_household
        for number, cells in group.rows:
            if len(cells) < width:
                cells = [*cells, *([None] * (width - len(cells)))]
            member = {
                key: convert_cell(raw)
                for raw, (key, convert_cell) in zip(take_member(cells), member_cells, strict=True)
                if raw is not None and raw != "" and (raw.__class__ is not str or not raw.isspace())
            }
            filled = [
                (key, convert_cell, raw)
                for raw, (key, convert_cell) in zip(
                    take_household(cells), household_cells, strict=True
                )
                if raw is not None and raw != "" and (raw.__class__ is not str or not raw.isspace())
            ]
            for key, convert_cell, raw in filled:
                value = convert_cell(raw)
                before = household.get(key)
                if before is None:
                    household[key] = value
                elif before != value:
                    raise _Refuse
            if member:
                members.append(member)
                group.member_rows.append(number)
        if not members:
            raise _Refuse
        return self._build(group.household_id, household, members)

    def _build(
        self, household_id: str, household: dict[str, Any], members: list[dict[str, Any]]
    ) -> Household:
        text = household_id.strip() if household_id.isascii() else None
        if text is None:
            text = unicodedata.normalize("NFKC", household_id).strip()
        if not text:
            raise _Refuse
        region = household.get("region_code")
        if region is not None:
            region = self._region(region)
        people: list[Member] = []
        heads = 0
        seen: set[str] = set()
        for m in members:
            number, relation = m.get("id_number"), m.get("relation")
            if number is None or relation is None or relation not in RELATIONS:
                raise _Refuse
            number = parse_ric(number, today=self.on).number
            if number in seen:
                raise _Refuse
            seen.add(number)
            heads += relation == "head"
            name = m.get("name")
            if name is not None and not _PLAIN_NAME.fullmatch(name):
                name = normalise_name(normalise_name(name))  # parse, then the model's validator
            facts = {k: v for k, v in m.items() if k not in IDENTITY_KEYS_MEMBER}
            people.append(
                Member.model_construct(id_number=number, name=name, relation=relation, facts=facts)
            )
        if heads != 1:
            raise _Refuse
        facts = {k: v for k, v in household.items() if k not in IDENTITY_KEYS_HOUSEHOLD}
        return Household.model_construct(
            household_id=text, region_code=region, members=people, facts=facts
        )

    def _region(self, raw: object) -> str:
        if not isinstance(raw, str):
            raise _Refuse
        code = self.regions.get(raw)
        if code is None:
            code = parse_region_code(raw, lengths=(12,))
            if len(self.regions) < 100_000:
                self.regions[raw] = code
        return code


def _getter(at: list[int]) -> Callable[[list[Any]], Sequence[Any]]:
    """The cells at `at` of a row, as a tuple (`itemgetter` with any number of indices)."""
    if len(at) > 1:
        return itemgetter(*at)
    return lambda cells: tuple(cells[i] for i in at)


def _fact_accepted(column: Column, catalogue: FactCatalogue, member: bool) -> bool:
    """Whether `parse_household` takes a fact under this column (a typed value of its type)."""
    fact = catalogue.get(column.key)
    level = "member" if member else "household"
    return fact is not None and not fact.derived and fact.level == level
