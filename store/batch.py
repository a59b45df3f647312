"""`zhida batch`: read a household sheet, match every valid household, write the result workbook.

Reading, matching and writing are chained as streams, chunk by chunk: memory stays bounded by
a chunk, whatever the number of rows (xlsx input aside: calamine decodes a sheet whole).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from matcher.batch import Outcome, match_chunk
from rules.catalogue import Catalogue
from store.grouping import RowError
from store.guards import Limits, SheetError
from store.sheets import HouseholdSheet, ReadStats
from store.workbook import ResultSummary, write_results

__all__ = ["BatchReport", "run_batch"]

OUTPUT_SUFFIXES = (".xlsx", ".csv")


@dataclass
class BatchReport:
    """What a batch read, refused and wrote."""

    stats: ReadStats
    result: ResultSummary
    errors: list[RowError] = field(default_factory=list)

    @property
    def eligible(self) -> int:
        """Eligible entitlements (household × policy) written to the department sheets."""
        return sum(self.result.eligible.values())


def run_batch(
    source: Path,
    out: Path,
    catalogue: Catalogue,
    *,
    on: date,
    limits: Limits | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> BatchReport:
    """Match every household of a sheet and write the results.

    Args:
        source: the household sheet (.xlsx, .csv or .parquet, template layout).
        out: the result file (.xlsx, or .csv with sibling files).
        catalogue: the policy catalogue.
        on: the evaluation date.
        limits: upload caps (row cap, xlsx size and ratio).
        progress: called with (rows read, total rows or None) as the batch advances.

    Returns:
        Counts, the per-policy summary, the refused rows.

    Raises:
        SheetError: when the whole sheet is refused (unreadable, a zip bomb, no header).
    """
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise SheetError(f"{out.name}: the result must be .xlsx or .csv")
    sheet = HouseholdSheet(source, catalogue.facts, on=on, limits=limits)
    sheet.open()  # refuse a bad file before the result file is started
    if progress is not None:
        sheet.progress = lambda rows: progress(rows, sheet.total_rows)

    def outcomes() -> Iterator[Outcome]:
        for chunk in sheet:
            yield from match_chunk(catalogue, [v.household for v in chunk], on)

    result = write_results(out, outcomes(), catalogue, sheet.errors, on=on)
    return BatchReport(sheet.stats, result, sheet.errors)
