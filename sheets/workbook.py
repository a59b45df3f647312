"""Writing batch results: a summary, one sheet per department, 待补充 (missing facts) and errors.

`write_results` streams: each subject's results are written as they come, so a county's
sweep never sits in memory. Sheets (xlsx, streamed by `sheets.xlsx`) or files (csv):

- `汇总` — per policy: eligible / undetermined / ineligible subjects, the total amount, the
  eligible ones whose amount is 金额待核定; then the counts of the upload;
- one sheet per department — its eligible entitlements, with the head's FULL ID number (the one
  place a full ID is written: the department must pay the right person);
- `待补充` — one row per household or member and fact still needed (一次性告知), with the
  fact's Chinese label, ID numbers masked (`sheets.result_rows`);
- `错误` — every refused row and warning, sorted by row: row, column, value (IDs masked),
  reason, 错误 or 警告.

Every xlsx sheet has its header row frozen and an auto-filter over its rows.

With a `.csv` output path the summary goes to that file and every other sheet to a sibling
`<stem>-<sheet>.csv` (UTF-8 with BOM). Text cells that a spreadsheet would run as a formula
(starting with = + - @ tab CR NUL) get a leading `'` (RELIABILITY X1); numbers stay numbers.
"""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from matcher.explain.report import delivery_label, period_label, unit_label
from matcher.profiles.masking import mask_ids_in_text
from matcher.vector.batch import MatchedChunk
from rules.catalogue import Catalogue
from rules.numbers import fen_text
from sheets.grouping import RowError
from sheets.result_rows import DEPARTMENT_HEADERS, Layout, layout_for
from sheets.template import Subject
from sheets.xlsx import XlsxBook, column_letter

__all__ = ["ERRORS_SHEET", "ResultSummary", "safe_cell", "sheet_name", "write_results"]

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
    "金额待核定",
]
_DEPARTMENT = DEPARTMENT_HEADERS["household"]  # the one sheet with full ID numbers (PII scan)
_ERRORS = ["行", "列", "值", "原因", "级别"]
ERRORS_SHEET = "错误"


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
    pending: Counter[str] = field(default_factory=Counter)  # eligible, amount not yet known
    missing_rows: int = 0
    paths: list[Path] = field(default_factory=list)


class _Sheets:
    """Named tables written to one xlsx (`sheets.xlsx`) or to sibling csv files."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.csv = path.suffix.lower() == ".csv"
        self.book = None if self.csv else XlsxBook(path)
        self.sinks: dict[str, Any] = {}
        self.handles: list[Any] = []
        self.names: set[str] = set()
        self.paths: list[Path] = []
        self.rows: Counter[str] = Counter()
        self.widths: dict[str, int] = {}

    def add(self, key: str, title: str, header: list[str]) -> None:
        name = sheet_name(title, self.names)
        if self.book is not None:
            widths = [max(10, 2 * len(text) + 2) for text in header]
            self.sinks[key] = self.book.sheet(name, widths)  # the header row frozen
            self.widths[key] = len(header)
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
        self.rows[key] += 1
        if self.book is not None:
            sink.append(cells)  # a Decimal is a number shown to the fen ("0.00")
        else:
            sink.writerow([fen_text(c) if isinstance(c, Decimal) else c for c in cells])

    def abort(self) -> None:
        """Give up: close every handle and temporary file, leave no partial output."""
        if self.book is not None:
            self.book.abort()
        for handle in self.handles:
            handle.close()
        for path in self.paths:
            path.unlink(missing_ok=True)

    def close(self) -> list[Path]:
        if self.book is not None:
            for key, sheet in self.sinks.items():
                last = column_letter(self.widths[key])
                sheet.filter = f"A1:{last}{max(self.rows[key], 1)}"
            self.book.save()
            return [self.path]
        for handle in self.handles:
            handle.close()
        return self.paths


def write_results(
    path: Path,
    chunks: Iterable[MatchedChunk],
    catalogue: Catalogue,
    errors: Sequence[RowError],
    *,
    on: date,
    warnings: Sequence[RowError] = (),
    subject: Subject = "household",
    footer: Callable[[], list[tuple[str, int]]] | None = None,
) -> ResultSummary:
    """Write the result workbook (or csv files) of a batch.

    Args:
        path: the .xlsx file, or a .csv file (then one sibling csv per other sheet).
        chunks: the matched chunks (`matcher.vector.batch.BatchMatcher.match`): EVERY matched
            subject with its results that are not ineligible, and the chunk's counts per
            policy (the summary adds them up). Consumed once, in a stream.
        catalogue: the policy catalogue (policies, departments, fact labels and meanings).
        errors: the refused rows; read after `chunks` is exhausted, so the list a reader
            fills while it is consumed may be passed. Written sorted by row.
        on: the evaluation date (shown in the summary).
        warnings: notes that refused nothing (an ignored column), on the 错误 sheet as 警告.
        subject: "household" or "enterprise": which policies and which row layout.
        footer: called once the chunks are consumed: the counts the summary ends with
            (matched and refused households and rows), as (label, count).

    Returns:
        Counts per policy and the paths written.
    """
    specs = [p.spec for p in catalogue.policies.values() if p.spec.subject == subject]
    policies = sorted(specs, key=lambda s: s.id)
    departments = sorted({s.department for s in policies})
    layout = layout_for(subject, catalogue, on)
    sheets = _Sheets(path)
    sheets.add("summary", "汇总", _SUMMARY)
    for d in departments:
        sheets.add(d, d, layout.department)
    sheets.add("missing", "待补充", layout.missing)
    sheets.add("errors", ERRORS_SHEET, _ERRORS)
    try:
        summary = _write_all(sheets, chunks, layout, (errors, warnings), policies, footer)
    except BaseException:
        sheets.abort()
        raise
    summary.paths = sheets.close()
    return summary


def _write_all(
    sheets: _Sheets,
    chunks: Iterable[MatchedChunk],
    layout: Layout,
    notes: tuple[Sequence[RowError], Sequence[RowError]],
    policies: list[Any],
    footer: Callable[[], list[tuple[str, int]]] | None,
) -> ResultSummary:
    summary = ResultSummary()
    for chunk in chunks:
        summary.households += len(chunk.outcomes)
        for pid, (yes, maybe, no) in chunk.counts.items():
            summary.eligible[pid] += yes
            summary.undetermined[pid] += maybe
            summary.ineligible[pid] += no
        for subject, results in chunk.outcomes:
            for r in results:
                if r.status == "eligible":
                    if r.amount is None and r.unit is not None:
                        summary.pending[r.policy_id] += 1
                    summary.amounts[r.policy_id] += r.amount or Decimal(0)
                    sheets.append(r.department, layout.entitlement(subject, r))
            for row in layout.asks(subject, results):
                sheets.append("missing", row)
                summary.missing_rows += 1
    errors, warnings = notes
    _write_errors(sheets, errors, warnings)
    for s in policies:
        yes, maybe = summary.eligible[s.id], summary.undetermined[s.id]
        unit, period = (s.benefit.unit, s.benefit.period) if s.benefit else (None, None)
        no = summary.ineligible[s.id]
        total = summary.amounts[s.id]  # a sum of amounts to the fen: exact
        row = [s.id, s.title, s.department, delivery_label(s.delivery), yes, maybe, no, total,
               unit_label(unit), period_label(period), summary.pending[s.id]]  # fmt: skip
        sheets.append("summary", row)
    sheets.append("summary", [])
    sheets.append("summary", ["评估日期", layout.on.isoformat()])
    for label, count in footer() if footer is not None else []:
        sheets.append("summary", [label, count])
    sheets.append("summary", ["待补充表（行）", summary.missing_rows])
    sheets.append("summary", ["错误（条）", len(errors)])
    sheets.append("summary", ["警告（条）", len(warnings)])
    return summary


def _write_errors(
    sheets: _Sheets, errors: Sequence[RowError], warnings: Sequence[RowError]
) -> None:
    """Errors and warnings in one list, sorted by row (sheet-wide notes first)."""
    found = [(e, "错误") for e in errors] + [(w, "警告") for w in warnings]
    found.sort(key=lambda pair: pair[0].row or 0)
    for e, level in found:
        reason = mask_ids_in_text(e.reason)
        sheets.append("errors", [e.row, e.column, mask_ids_in_text(e.value), reason, level])
