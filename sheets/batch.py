"""`zhida batch`: read a household or enterprise sheet, match every valid one, write the results.

Reading, matching and writing are chained as streams, chunk by chunk (read and validate a
chunk → match it with the vectorised engine → append its rows to the writers): memory stays
bounded by a chunk, whatever the number of rows (xlsx input aside: calamine decodes a sheet
whole). The time of each stage is measured and reported.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from matcher.vector.batch import BatchMatcher, MatchedChunk, match_enterprises
from rules.catalogue import Catalogue
from sheets.enterprises import EnterpriseSheet, EnterpriseStats
from sheets.grouping import RowError
from sheets.guards import Limits, SheetError
from sheets.households import HouseholdSheet, ReadStats
from sheets.sources import open_rows
from sheets.template import Subject, find_column, identity_columns
from sheets.workbook import ResultSummary, write_results

__all__ = ["BatchReport", "Timings", "run_batch"]

OUTPUT_SUFFIXES = (".xlsx", ".csv")


@dataclass
class Timings:
    """Seconds spent in each stage of a batch (wall clock)."""

    read: float = 0.0  # opening, decoding, grouping and validating rows
    match: float = 0.0  # the vectorised engine and the results it hands to the writers
    write: float = 0.0  # the result rows, the summary and saving the files
    total: float = 0.0


@dataclass
class BatchReport:
    """What a batch read, refused and wrote, and how long each stage took."""

    stats: ReadStats | EnterpriseStats
    result: ResultSummary
    errors: list[RowError] = field(default_factory=list)
    timings: Timings = field(default_factory=Timings)
    subject: Subject = "household"
    warnings: list[RowError] = field(default_factory=list)

    @property
    def eligible(self) -> int:
        """Eligible entitlements (subject × policy) written to the department sheets."""
        return sum(self.result.eligible.values())

    @property
    def pending(self) -> int:
        """Eligible entitlements whose amount is not yet known (金额待核定)."""
        return sum(self.result.pending.values())

    @property
    def undetermined(self) -> int:
        """Undetermined entitlements (待补充)."""
        return sum(self.result.undetermined.values())

    def counts(self) -> list[tuple[str, int]]:
        """Matched and refused subjects and rows, as the summary sheet lists them."""
        return footer(self.stats)


def run_batch(
    source: Path,
    out: Path,
    catalogue: Catalogue,
    *,
    on: date,
    limits: Limits | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    subject: Subject | None = None,
) -> BatchReport:
    """Match every household (or enterprise) of a sheet and write the results.

    Args:
        source: the household or enterprise sheet (.xlsx, .csv or .parquet, template layout).
        out: the result file (.xlsx, or .csv with sibling files).
        catalogue: the policy catalogue.
        on: the evaluation date.
        limits: upload caps (row cap, xlsx size and ratio).
        progress: called with (rows read, total rows or None) as the batch advances.
        subject: "household" or "enterprise"; None: told by the header row (a sheet with
            统一社会信用代码 and without 身份证号 is an enterprise sheet).

    Returns:
        Counts, the per-policy summary, the refused rows and the warnings.

    Raises:
        SheetError: when the whole sheet is refused (unreadable, a zip bomb, no header).
    """
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise SheetError(f"{out.name}：结果文件须为 .xlsx 或 .csv")
    timings = Timings()
    start = time.perf_counter()
    limits = limits or Limits()
    rows = open_rows(source, limits)  # refuse a bad file before the result file is started
    kind: Subject = subject or subject_of(rows.header)
    sheet: HouseholdSheet | EnterpriseSheet
    if kind == "enterprise":
        sheet = EnterpriseSheet(source, catalogue.facts, on=on, limits=limits, rows=rows)
    else:
        sheet = HouseholdSheet(source, catalogue.facts, on=on, limits=limits, rows=rows)
    sheet.open()
    if progress is not None:
        sheet.progress = lambda done: progress(done, sheet.total_rows)
    match = _matcher(catalogue, on, kind)
    timings.read = time.perf_counter() - start

    def chunks() -> Iterator[MatchedChunk]:
        valid: Iterator[list[Any]] = iter(sheet)
        while True:
            began = time.perf_counter()
            chunk = next(valid, None)
            read = time.perf_counter()
            timings.read += read - began
            if chunk is None:
                return
            matched = match(chunk)
            timings.match += time.perf_counter() - read
            yield matched

    with _fewer_collections():
        result = write_results(out, chunks(), catalogue, sheet.errors, on=on,
                               warnings=sheet.warnings, subject=kind,
                               footer=lambda: footer(sheet.stats))  # fmt: skip
    timings.total = time.perf_counter() - start
    timings.write = timings.total - timings.read - timings.match
    return BatchReport(sheet.stats, result, sheet.errors, timings, kind, sheet.warnings)


def subject_of(header: list[Any]) -> Subject:
    """ "enterprise" when a header row names 统一社会信用代码 and not 身份证号, else "household"."""
    enterprise = identity_columns("enterprise")
    household = identity_columns("household")
    named = {c.key for cell in header for c in [find_column(cell, enterprise)] if c is not None}
    personal = {c.key for cell in header for c in [find_column(cell, household)] if c is not None}
    return "enterprise" if "credit_code" in named and "id_number" not in personal else "household"


def footer(stats: ReadStats | EnterpriseStats) -> list[tuple[str, int]]:
    """The counts a summary and the console show: matched and refused subjects and rows."""
    if isinstance(stats, EnterpriseStats):
        return [("已匹配企业数", stats.enterprises), ("被拒行数", stats.refused_rows),
                ("读取行数", stats.rows)]  # fmt: skip
    return [("已匹配户数", stats.households), ("已匹配行数", stats.rows - stats.refused_rows),
            ("被拒户数", stats.refused_households), ("被拒行数", stats.refused_rows),
            ("读取行数", stats.rows)]  # fmt: skip


def _matcher(catalogue: Catalogue, on: date, kind: Subject) -> Callable[[list[Any]], MatchedChunk]:
    if kind == "enterprise":
        return lambda chunk: match_enterprises(catalogue, [v.enterprise for v in chunk], on)
    engine = BatchMatcher(catalogue, on)
    return lambda chunk: engine.match([v.household for v in chunk])


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Run the garbage collector less often while a batch runs (restored afterwards).

    A batch allocates millions of short-lived objects (rows, cells, models, results) that
    reference counting frees; with the default thresholds the collector ran full scans of
    the heap over and over for nothing (≈ 8 % of a batch's time).
    """
    before = gc.get_threshold()
    gc.freeze()  # what exists now (modules, the catalogue) is never rescanned
    gc.set_threshold(20_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
