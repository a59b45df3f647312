"""Reading a village household sheet: stream rows, group them into households, validate each.

One bad row never stops a batch: every problem becomes a `RowError` (the row number as the user
sees it, the column header, the value with ID numbers masked, the reason) and the household it
belongs to is refused as a whole — matching the rest of a household would give the wrong
household size and per-capita income. Valid households come out in chunks. A household's rows
must be consecutive (the sheet sorted by 户编号); an ID number may appear once per upload.

    sheet = HouseholdSheet(Path("households.xlsx"), catalogue.facts, on=date(2025, 3, 1))
    for chunk in sheet:          # lists of ValidHousehold
        ...
    sheet.errors                 # complete once the iteration is over
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from matcher.profiles.parse import Household
from rules.facts import FactCatalogue
from sheets.cells import CellError, fast_converter, is_blank, shown
from sheets.grouping import Group, RowError, RowPlan, validate_group
from sheets.guards import Limits, SheetError
from sheets.seen import SeenKeys, first_of_each, id_key, text_key
from sheets.sources import RowSource, open_rows
from sheets.template import REQUIRED, Column, Subject, columns_for, find_column

UNKNOWN_HEADER = "未知的表头，该列已忽略（可用的表头见模板的 说明 页）"

__all__ = [
    "UNKNOWN_HEADER",
    "HouseholdSheet",
    "ReadStats",
    "RowError",
    "SheetError",
    "ValidHousehold",
    "read_header",
]


@dataclass(frozen=True)
class ValidHousehold:
    """A household that passed every check, with the sheet rows of its members."""

    household_id: str
    household: Household
    rows: tuple[int, ...]


@dataclass
class ReadStats:
    """Counts of one upload."""

    rows: int = 0
    households: int = 0
    refused_households: int = 0
    refused_rows: int = 0


def read_header(
    cells: list[Any], columns: tuple[Column, ...], subject: Subject
) -> tuple[list[tuple[int, Column]], list[RowError]]:
    """The columns of a header row by position, and a warning for each header we do not know.

    Raises:
        SheetError: a column headed twice, or a column `subject` requires is missing.
    """
    index: list[tuple[int, Column]] = []
    notes: list[RowError] = []
    for i, cell in enumerate(cells):
        if is_blank(cell):
            continue
        column = find_column(cell, columns)
        if column is None:
            notes.append(RowError(1, str(cell), "", UNKNOWN_HEADER))
        elif any(c.key == column.key for _, c in index):
            raise SheetError(f"有两列的表头都是 {column.header}（{column.key}）：请只保留一列")
        else:
            index.append((i, column))
    missing = [c.header for c in columns if c.key in REQUIRED[subject]]
    missing = [h for h in missing if all(c.header != h for _, c in index)]
    if missing:
        raise SheetError(
            f"表头（第 1 行）缺少 {'、'.join(missing)} 列：请从模板开始填写"
            f"（zhida template {subject}s.xlsx）"
        )
    return index, notes


class _RowCount(Protocol):
    rows: int


class SheetReader:
    """What a household sheet and an enterprise sheet share: the file and its limits, the
    header read once into an index of columns, the errors and warnings found by row."""

    kind: Subject

    def __init__(
        self,
        path: Path,
        catalogue: FactCatalogue,
        *,
        on: date,
        limits: Limits | None,
        chunk: int,
        progress: Callable[[int], None] | None,
        rows: RowSource | None,
    ) -> None:
        self.path = path
        self.catalogue = catalogue
        self.on = on  # dates whose domain says `max: today` are checked at it
        self.limits = limits or Limits()
        self.chunk = chunk
        self.progress = progress
        self.errors: list[RowError] = []
        self.warnings: list[RowError] = []  # what refused nothing: an ignored column
        self.total_rows: int | None = None
        self._source: RowSource | None = rows  # already opened by the caller, or None
        self._index: list[tuple[int, Column]] = []

    def open(self) -> None:
        """Open the file and read its header now (else the first iteration does).

        Raises:
            SheetError: when the whole sheet is refused.
        """
        if not self._index:  # the header is read once (a valid one names at least one column)
            if self._source is None:
                self._source = open_rows(self.path, self.limits)
            self.total_rows = self._source.total
            columns = columns_for(self.catalogue, self.kind)
            self._index, notes = read_header(self._source.header, columns, self.kind)
            self.warnings.extend(notes)
            self._opened()

    def _opened(self) -> None:
        """What a kind of sheet prepares once its header is known (nothing by default)."""

    def _counted(self, number: int, stats: _RowCount) -> bool:
        """Count row `number` (reporting progress every 10,000), or refuse it and every row
        after it once the row cap is reached (False: stop reading)."""
        if stats.rows >= self.limits.max_rows:
            cap = f"{self.limits.max_rows:,}"
            reason = f"已达行数上限（{cap} 行）：本行及以后各行未读取"
            self.errors.append(RowError(number, "", "", reason))
            return False
        stats.rows += 1
        if self.progress and stats.rows % 10_000 == 0:
            self.progress(stats.rows)
        return True


class HouseholdSheet(SheetReader):
    """The valid households of one sheet, in chunks; its errors and counts once read."""

    kind: Subject = "household"

    def __init__(
        self,
        path: Path,
        catalogue: FactCatalogue,
        *,
        on: date,
        limits: Limits | None = None,
        chunk: int = 2000,
        progress: Callable[[int], None] | None = None,
        rows: RowSource | None = None,
    ) -> None:
        super().__init__(
            path, catalogue, on=on, limits=limits, chunk=chunk, progress=progress, rows=rows
        )
        self.stats = ReadStats()
        self._plan: RowPlan | None = None
        self._households = SeenKeys()
        self._ids = SeenKeys()

    def _opened(self) -> None:
        self._plan = RowPlan(self._index, self.catalogue, self.on, self.limits)

    def __iter__(self) -> Iterator[list[ValidHousehold]]:
        self.open()
        assert self._source is not None
        source, index = self._source, self._index
        pending: list[tuple[Group, ValidHousehold | None, list[RowError]]] = []
        for group in self._groups(source.rows, index):
            pending.append((group, *self._validate(group)))
            if len(pending) >= self.chunk:
                yield self._accept(pending)
                pending = []
        if pending:
            yield self._accept(pending)

    def _groups(
        self, rows: Iterator[tuple[int, list[Any]]], index: list[tuple[int, Column]]
    ) -> Iterator[Group]:
        key_at = next(i for i, c in index if c.key == "household_id")
        key_column = next(c for _, c in index if c.key == "household_id")
        key_convert = fast_converter(key_column, self.limits.max_cell_chars)
        group: Group | None = None
        for number, cells in rows:
            raw = cells[key_at] if key_at < len(cells) else None
            if is_blank(raw) and all(is_blank(c) for c in cells):
                continue
            if not self._counted(number, self.stats):
                break
            household_id = self._household_id(number, raw, key_column, key_convert)
            if household_id is None:
                continue
            if group is None or group.household_id != household_id:
                if group is not None:
                    yield group
                group = Group(household_id, number, index)
            group.rows.append((number, cells))
        if group is not None:
            yield group
        if self.progress:
            self.progress(self.stats.rows)

    def _household_id(
        self, number: int, raw: Any, column: Column, convert: Callable[[Any], Any]
    ) -> str | None:
        if is_blank(raw):
            head = column.header
            reason = f"本行没有{head}：每个成员行都要填所在户的{head}"
            self.errors.append(RowError(number, column.header, "", reason))
            self.stats.refused_rows += 1
            return None
        try:
            return str(convert(raw))
        except CellError as error:
            self.errors.append(RowError(number, column.header, shown(raw), str(error)))
            self.stats.refused_rows += 1
            return None

    def _validate(self, group: Group) -> tuple[ValidHousehold | None, list[RowError]]:
        household, problems = validate_group(
            group, self.catalogue, self.on, self.limits, self._plan
        )
        if household is None:
            return None, problems
        return ValidHousehold(group.household_id, household, tuple(group.member_rows)), []

    def _refuse(self, group: Group, problems: list[RowError]) -> None:
        self.errors.extend(problems)
        self.stats.refused_households += 1
        self.stats.refused_rows += len(group.rows)

    def _accept(
        self, pending: list[tuple[Group, ValidHousehold | None, list[RowError]]]
    ) -> list[ValidHousehold]:
        """Refuse split households and repeated ID numbers (batch checks), keep the rest."""
        keys = [text_key(g.household_id) for g, _, _ in pending]
        split = self._households.contains(keys) | ~first_of_each(keys)
        self._households.add(keys)
        kept: list[tuple[Group, ValidHousehold]] = []
        for (group, valid, problems), again in zip(pending, split, strict=True):
            if again:
                self._refuse(group, [_split(group)])
            elif valid is None:
                self._refuse(group, problems)
            else:
                kept.append((group, valid))
        return self._unique_ids(kept)

    def _unique_ids(self, kept: list[tuple[Group, ValidHousehold]]) -> list[ValidHousehold]:
        numbers = [(i, m.id_number) for i, (_, v) in enumerate(kept) for m in v.household.members]
        keys = [id_key(n) for _, n in numbers]
        repeated = self._ids.contains(keys) | ~first_of_each(keys)
        bad: dict[int, list[RowError]] = {}
        for (i, number), again in zip(numbers, repeated, strict=True):
            if again:
                group, valid = kept[i]
                row = valid.rows[[m.id_number for m in valid.household.members].index(number)]
                reason = "这个身份证号已出现在本表前面的另一户中：一人只能列在一户"
                bad.setdefault(i, []).append(RowError(row, "身份证号", shown(number), reason))
        for i, problems in bad.items():
            self._refuse(kept[i][0], problems)
        accepted = [v for i, (_, v) in enumerate(kept) if i not in bad]
        self._ids.add([id_key(m.id_number) for v in accepted for m in v.household.members])
        self.stats.households += len(accepted)
        return accepted


def _split(group: Group) -> RowError:
    reason = (
        f"户 {group.household_id} 在其他户之后再次出现：同一户的各行须连续排列——"
        "请按户编号排序；这些行未读取"
    )
    return RowError(group.first_row, "户编号", shown(group.household_id), reason)
