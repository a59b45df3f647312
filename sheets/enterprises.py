"""Reading an enterprise sheet: one row per enterprise, each row checked on its own.

The enterprise template (`sheets.template`, `zhida template enterprises.xlsx`) has one row per
enterprise: 统一社会信用代码, 企业名称, 所在地区代码, then the enterprise facts. Every cell is
converted for its column (`sheets.cells.convert`: numbers exact and dates inside their fact's
domain, a date whose `max` is `today` not after the sheet's `on` date) and the row is checked by
`matcher.profiles.parse.parse_enterprise`; each problem becomes a `RowError` (row as the user sees
it, column header, value, reason), exactly as the household reader reports them, and the row
is refused while the others go on. A credit code may appear once per upload.

    sheet = EnterpriseSheet(Path("enterprises.xlsx"), catalogue.facts)
    for chunk in sheet:          # lists of ValidEnterprise
        ...
    sheet.errors                 # complete once the iteration is over
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from matcher.profiles.errors import ProfileError
from matcher.profiles.parse import Enterprise, parse_enterprise
from rules.facts import FactCatalogue
from sheets.cells import CellError, convert, is_blank, shown
from sheets.grouping import RowError
from sheets.guards import Limits
from sheets.households import SheetReader
from sheets.seen import SeenKeys, first_of_each, text_key
from sheets.sources import RowSource
from sheets.template import Subject

__all__ = ["EnterpriseSheet", "EnterpriseStats", "ValidEnterprise"]


@dataclass(frozen=True)
class ValidEnterprise:
    """An enterprise that passed every check, with its sheet row."""

    credit_code: str
    enterprise: Enterprise
    row: int


@dataclass
class EnterpriseStats:
    """Counts of one upload: rows read, enterprises accepted, rows refused."""

    rows: int = 0
    enterprises: int = 0
    refused_rows: int = 0


class EnterpriseSheet(SheetReader):
    """The valid enterprises of one sheet, in chunks; its errors and counts once read."""

    kind: Subject = "enterprise"

    def __init__(
        self,
        path: Path,
        catalogue: FactCatalogue,
        *,
        on: date | None = None,
        limits: Limits | None = None,
        chunk: int = 2000,
        progress: Callable[[int], None] | None = None,
        rows: RowSource | None = None,
    ) -> None:
        super().__init__(
            path, catalogue, on=on or date.today(), limits=limits, chunk=chunk,
            progress=progress, rows=rows,
        )  # fmt: skip
        self.stats = EnterpriseStats()
        self._codes = SeenKeys()

    def __iter__(self) -> Iterator[list[ValidEnterprise]]:
        self.open()
        assert self._source is not None
        pending: list[ValidEnterprise] = []
        for number, cells in self._source.rows:
            if all(is_blank(c) for c in cells):
                continue
            if not self._counted(number, self.stats):
                break
            valid = self._validate(number, cells)
            if valid is not None:
                pending.append(valid)
            if len(pending) >= self.chunk:
                yield self._accept(pending)
                pending = []
        if pending:
            yield self._accept(pending)
        if self.progress:
            self.progress(self.stats.rows)

    def _validate(self, number: int, cells: list[Any]) -> ValidEnterprise | None:
        """The row's enterprise, or None with every problem of the row in `errors`."""
        raw: dict[str, Any] = {}
        cell_of: dict[str, Any] = {}
        problems: list[RowError] = []
        for at, column in self._index:
            cell = cells[at] if at < len(cells) else None
            if is_blank(cell):
                continue
            cell_of[column.key] = cell
            try:
                raw[column.key] = convert(column, cell, self.limits.max_cell_chars, self.on)
            except CellError as error:
                problems.append(RowError(number, column.header, shown(cell), str(error)))
        reported = {p.column for p in problems}
        headers = {c.key: c.header for _, c in self._index}
        try:
            enterprise = parse_enterprise(raw, self.catalogue, source=f"row {number}")
        except ProfileError as error:
            for issue in error.issues:
                key = issue.path.split(".")[0]
                header = headers.get(key, "统一社会信用代码" if key == "credit_code" else key)
                if header not in reported:
                    value = shown(cell_of.get(key, ""))
                    problems.append(RowError(number, header, value, issue.message))
        if problems:
            self.errors.extend(problems)
            self.stats.refused_rows += 1
            return None
        return ValidEnterprise(enterprise.credit_code, enterprise, number)

    def _accept(self, pending: list[ValidEnterprise]) -> list[ValidEnterprise]:
        """Refuse a credit code listed on an earlier row of the upload; keep the rest."""
        keys = [text_key(v.credit_code) for v in pending]
        again = self._codes.contains(keys) | ~first_of_each(keys)
        self._codes.add(keys)
        kept = []
        for valid, repeated in zip(pending, again, strict=True):
            if repeated:
                reason = "这个统一社会信用代码已出现在本表前面的行中：一家企业只列一行，请保留一行"
                self.errors.append(
                    RowError(valid.row, "统一社会信用代码", valid.credit_code, reason)
                )
                self.stats.refused_rows += 1
            else:
                kept.append(valid)
        self.stats.enterprises += len(kept)
        return kept
