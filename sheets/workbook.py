"""Writing batch results: a summary, one sheet per department, 待补充 (missing facts) and errors.

`write_results` streams: each household's results are written as they come, so a county's
sweep never sits in memory. Sheets (xlsx, openpyxl write-only) or files (csv):

- `汇总` — per policy: eligible / undetermined / ineligible households and the total amount;
- one sheet per department — its eligible entitlements, with the head's FULL ID number (the one
  place a full ID is written: the department must pay the right person);
- `待补充` — per household, every fact still needed (一次性告知), ID numbers masked;
- `errors` — every refused row: row, column, value (IDs masked), reason.

With a `.csv` output path the summary goes to that file and every other sheet to a sibling
`<stem>-<sheet>.csv` (UTF-8 with BOM). Text cells that a spreadsheet would run as a formula
(starting with = + - @ tab CR NUL) get a leading `'` (RELIABILITY X1); numbers stay numbers.
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from matcher.interpreter.match import PolicyResult
from matcher.profiles.masking import mask_id, mask_ids_in_text
from matcher.profiles.parse import Household, Member
from matcher.vector.batch import MatchedChunk
from rules.catalogue import Catalogue
from rules.numbers import fen_text
from sheets.grouping import RowError
from sheets.template import columns_for

__all__ = ["ResultSummary", "safe_cell", "sheet_name", "write_results"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\0")
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_SUMMARY = [
    "政策编号",
    "政策名称",
    "部门",
    "办理方式",
    "符合",
    "待补充",
    "不符合",
    "金额合计",
    "单位",
    "周期",
]
_DEPARTMENT = ["户编号", "村（居）代码", "户主姓名", "户主身份证号", "政策编号", "政策名称", "金额",
               "单位", "周期", "办理方式", "一件事"]  # fmt: skip
_MISSING = ["户编号", "村（居）代码", "户主姓名", "户主身份证号", "待补充信息", "字段名", "含义",
            "来源部门", "涉及政策"]  # fmt: skip
_ERRORS = ["行", "列", "值", "原因"]


def safe_cell(value: Any) -> Any:
    """A cell value safe to export: formula-like text gets a leading `'`; numbers unchanged."""
    if not isinstance(value, str):
        return value
    if value.startswith(_FORMULA_START):
        value = "'" + value
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)


def sheet_name(text: str, taken: set[str]) -> str:
    """A valid, unused sheet name: no []:*?/\\, at most 31 characters."""
    base = _SHEET_FORBIDDEN.sub("_", text).strip("'") or "sheet"
    name, n = base[:31], 1
    while name in taken:
        n += 1
        name = f"{base[: 31 - len(str(n)) - 1]}~{n}"
    taken.add(name)
    return name


@dataclass
class ResultSummary:
    """What was written: households, entitlements by status, the files."""

    households: int = 0
    eligible: Counter[str] = field(default_factory=Counter)
    undetermined: Counter[str] = field(default_factory=Counter)
    ineligible: Counter[str] = field(default_factory=Counter)
    amounts: defaultdict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    missing_rows: int = 0
    paths: list[Path] = field(default_factory=list)


class _Sheets:
    """Named tables written to one xlsx (write-only) or to sibling csv files."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.csv = path.suffix.lower() == ".csv"
        self.book = None if self.csv else Workbook(write_only=True)
        self.sinks: dict[str, Any] = {}
        self.handles: list[Any] = []
        self.names: set[str] = set()
        self.paths: list[Path] = []

    def add(self, key: str, title: str, header: list[str]) -> None:
        name = sheet_name(title, self.names)
        if self.book is not None:
            self.sinks[key] = self.book.create_sheet(name)
        else:
            target = (
                self.path if not self.sinks else self.path.with_name(f"{self.path.stem}-{name}.csv")
            )
            handle = target.open("w", encoding="utf-8-sig", newline="")
            self.handles.append(handle)
            self.paths.append(target)
            self.sinks[key] = csv.writer(handle)
        self.append(key, header)

    def append(self, key: str, row: Sequence[Any]) -> None:
        cells = [safe_cell(v) for v in row]
        sink = self.sinks[key]
        if self.book is not None:
            sink.append([self._money(sink, c) if isinstance(c, Decimal) else c for c in cells])
        else:
            sink.writerow([fen_text(c) if isinstance(c, Decimal) else c for c in cells])

    @staticmethod
    def _money(sheet: Any, amount: Decimal) -> Cell:
        """An amount as a number cell shown with two places (the fen)."""
        cell = WriteOnlyCell(sheet, value=amount)  # type: ignore[arg-type]  # stub omits Decimal
        cell.number_format = "0.00"
        return cell

    def abort(self) -> None:
        """Give up: close every handle and temporary file, leave no partial output."""
        if self.book is not None:
            for sheet in self.book.worksheets:
                with contextlib.suppress(Exception):
                    sheet.close()
                    os.remove(sheet._writer.out)  # type: ignore[attr-defined]  # openpyxl's temp file, unstubbed
        for handle in self.handles:
            handle.close()
        for path in self.paths:
            path.unlink(missing_ok=True)

    def close(self) -> list[Path]:
        if self.book is not None:
            self.book.save(self.path)
            return [self.path]
        for handle in self.handles:
            handle.close()
        return self.paths


def _head(household: Household) -> Member:
    return next(m for m in household.members if m.relation == "head")


def _entitlement(household: Household, r: PolicyResult) -> list[Any]:
    head = _head(household)
    return [household.household_id, household.region_code, head.name, head.id_number,
            r.policy_id, r.title, r.amount, r.unit, r.period, r.delivery, r.bundle]  # fmt: skip


def _missing_rows(
    household: Household,
    results: Sequence[PolicyResult],
    catalogue: Catalogue,
    headers: dict[str, str],
) -> list[list[Any]]:
    needed: dict[str, list[str]] = {}
    for r in results:
        for name in r.missing:
            needed.setdefault(name, []).append(r.title)
    head = _head(household)
    rows = []
    for name, titles in sorted(needed.items()):
        fact = catalogue.facts.get(name)
        meaning, source = (fact.meaning, fact.source) if fact else ("", "")
        where = [household.household_id, household.region_code, head.name, mask_id(head.id_number)]
        rows.append([*where, headers.get(name, name), name, meaning, source, "；".join(titles)])
    return rows


def write_results(
    path: Path,
    chunks: Iterable[MatchedChunk],
    catalogue: Catalogue,
    errors: Sequence[RowError],
    *,
    on: date,
) -> ResultSummary:
    """Write the result workbook (or csv files) of a batch.

    Args:
        path: the .xlsx file, or a .csv file (then one sibling csv per other sheet).
        chunks: the matched chunks (`matcher.vector.batch.BatchMatcher.match`): EVERY matched
            household with its results that are not ineligible, and the chunk's counts per
            policy (the summary adds them up). Consumed once, in a stream.
        catalogue: the policy catalogue (policies, departments, fact meanings).
        errors: the refused rows; read after `outcomes` is exhausted, so the list a reader
            fills while it is consumed may be passed.
        on: the evaluation date (shown in the summary).

    Returns:
        Counts per policy and the paths written.
    """
    specs = [p.spec for p in catalogue.policies.values() if p.spec.subject == "household"]
    policies = sorted(specs, key=lambda s: s.id)
    departments = sorted({s.department for s in policies})
    sheets = _Sheets(path)
    sheets.add("summary", "汇总", _SUMMARY)
    for d in departments:
        sheets.add(d, d, _DEPARTMENT)
    sheets.add("missing", "待补充", _MISSING)
    sheets.add("errors", "errors", _ERRORS)
    try:
        summary = _write_all(sheets, chunks, catalogue, errors, policies, on)
    except BaseException:
        sheets.abort()
        raise
    summary.paths = sheets.close()
    return summary


def _write_all(
    sheets: _Sheets,
    chunks: Iterable[MatchedChunk],
    catalogue: Catalogue,
    errors: Sequence[RowError],
    policies: list[Any],
    on: date,
) -> ResultSummary:
    summary = ResultSummary()
    headers = {c.key: c.header for c in columns_for(catalogue.facts, "household")}
    for chunk in chunks:
        summary.households += len(chunk.outcomes)
        for pid, (yes, maybe, no) in chunk.counts.items():
            summary.eligible[pid] += yes
            summary.undetermined[pid] += maybe
            summary.ineligible[pid] += no
        for household, results in chunk.outcomes:
            for r in results:
                if r.status == "eligible":
                    summary.amounts[r.policy_id] += r.amount or Decimal(0)
                    sheets.append(r.department, _entitlement(household, r))
            for row in _missing_rows(household, results, catalogue, headers):
                sheets.append("missing", row)
                summary.missing_rows += 1
    for e in errors:
        sheets.append(
            "errors", [e.row, e.column, mask_ids_in_text(e.value), mask_ids_in_text(e.reason)]
        )
    for s in policies:
        yes, maybe = summary.eligible[s.id], summary.undetermined[s.id]
        unit, period = (s.benefit.unit, s.benefit.period) if s.benefit else (None, None)
        no = summary.ineligible[s.id]
        total = summary.amounts[s.id]  # a sum of amounts to the fen: exact
        row = [s.id, s.title, s.department, s.delivery, yes, maybe, no, total, unit, period]
        sheets.append("summary", row)
    sheets.append("summary", [])
    sheets.append(
        "summary", ["评估日期", on.isoformat(), "户数", summary.households, "错误行", len(errors)]
    )
    return summary
