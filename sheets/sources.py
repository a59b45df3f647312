"""Rows of an uploaded sheet, streamed: xlsx (python-calamine), csv (UTF-8) and parquet (pyarrow).

Every source yields `(row number, cells)` with the row number as the user sees it (the header
is row 1). csv and parquet are read in blocks, so a 10^6-row file keeps bounded memory; an xlsx
sheet is decoded by calamine as a whole (xlsx holds at most 1,048,576 rows) after the zip guard
of `sheets.guards` has passed.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from python_calamine import CalamineWorkbook

from rules.messages import reads_as_gb18030
from sheets.guards import Limits, SheetError, check_xlsx

__all__ = ["SUFFIXES", "RowSource", "open_rows"]

SUFFIXES = (".xlsx", ".csv", ".parquet")
_BATCH = 65_536


@dataclass
class RowSource:
    """A sheet's header cells, its data rows (numbered as the user sees them) and their count."""

    header: list[Any]
    rows: Iterator[tuple[int, list[Any]]]
    total: int | None = None


def _xlsx(path: Path, limits: Limits) -> RowSource:
    check_xlsx(path, limits)
    try:
        book = CalamineWorkbook.from_path(str(path))
        sheet = book.get_sheet_by_index(0)
    except Exception as exc:  # calamine raises its own error kinds for broken files
        raise SheetError(f"{path.name}: cannot read the first sheet: {exc}") from None
    first_row = sheet.start[0] + 1 if sheet.start else 1
    rows = sheet.iter_rows()
    header = next(rows, [])
    numbered = ((first_row + i, list(r)) for i, r in enumerate(rows, start=1))
    return RowSource(list(header), numbered, max(0, sheet.height - 1))


def _csv_rows(path: Path) -> Iterator[list[str]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            yield from csv.reader(handle)
    except UnicodeDecodeError:
        raise SheetError(
            f"{path.name}：不是 UTF-8 编码的文本{_guess_encoding(path)}；"
            "应为 UTF-8：在 Excel 中「另存为」→「CSV UTF-8（逗号分隔）」"
        ) from None
    except csv.Error as exc:
        raise SheetError(f"{path.name}: malformed CSV: {exc}") from None


def _guess_encoding(path: Path) -> str:
    """ "（像是 GBK/GB18030 编码）" when the file reads as GB18030 (Excel on Chinese Windows)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(1 << 16)
    except OSError:
        return ""
    return "（像是 GBK/GB18030 编码）" if reads_as_gb18030(head) else ""


def _csv(path: Path) -> RowSource:
    rows = _csv_rows(path)
    header = next(rows, [])
    return RowSource(list(header), ((i, list(r)) for i, r in enumerate(rows, start=2)))


def _parquet_rows(file: pq.ParquetFile) -> Iterator[list[Any]]:
    for batch in file.iter_batches(batch_size=_BATCH):
        columns = [column.to_pylist() for column in batch.columns]
        yield from (list(row) for row in zip(*columns, strict=True))


def _parquet(path: Path) -> RowSource:
    try:
        file = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid and OSError subclasses
        raise SheetError(f"{path.name}: not a readable parquet file: {exc}") from None
    rows = ((i, r) for i, r in enumerate(_parquet_rows(file), start=2))
    return RowSource(list(file.schema_arrow.names), rows, file.metadata.num_rows)


def open_rows(path: Path, limits: Limits) -> RowSource:
    """Open a sheet by its suffix and stream its rows.

    Args:
        path: an .xlsx, .csv or .parquet file.
        limits: the upload caps (the xlsx guard; the row cap is applied by the caller).

    Returns:
        The header and an iterator over the data rows.

    Raises:
        SheetError: for another suffix, a missing file or a refused xlsx.
    """
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise SheetError(
            f"{path.name}: expected {', '.join(SUFFIXES)}, got {suffix or 'no suffix'}"
        )
    if not path.is_file():
        raise SheetError(f"{path}: no such file")
    if path.stat().st_size > limits.max_file_bytes:
        raise SheetError(f"{path.name}: the file is over the {limits.max_file_bytes} byte cap")
    if suffix == ".xlsx":
        return _xlsx(path, limits)
    return _csv(path) if suffix == ".csv" else _parquet(path)
