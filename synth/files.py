"""`zhida demo-data`: the synthetic population written as template sheets (xlsx, csv, parquet).

Each chunk of `synth.households` is turned into a pyarrow table in the template's column
layout (`sheets.template`): Chinese headers, relation as 户主/配偶/…, household facts on the
head's row only. csv (UTF-8 with BOM, so Excel shows Chinese) and parquet are streamed; xlsx
is written with openpyxl in write-only mode and skipped when the rows would not fit in one
sheet (1,048,575 data rows).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from openpyxl import Workbook

from matcher.vector.frames import Columns, PopulationChunk
from rules.facts import FactCatalogue
from sheets.template import RELATION_LABELS, Column, columns_for
from synth.enterprises import Enterprises, generate_enterprises
from synth.households import Population, generate_households

__all__ = ["XLSX_MAX_ROWS", "DemoFiles", "chunk_table", "write_demo_data"]

XLSX_MAX_ROWS = 1_048_575
_MEAN_SIZE = 2.83  # members per household of synth.households's shapes


@dataclass
class DemoFiles:
    """What `write_demo_data` wrote, and what it skipped and why."""

    written: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    households: int = 0
    members: int = 0
    enterprises: int = 0


def _array(values: Any, unknown: Any) -> pa.Array:
    return pa.array(values, mask=unknown) if unknown is not None else pa.array(values)


def _column(column: Column, cols: Columns, rows: int, at: Any) -> pa.Array:
    """One template column; household values go to the rows `at` (None: one row each)."""
    if column.key not in cols.data:
        return pa.nulls(rows, _TYPES[column.type if column.kind != "identity" else "string"])
    values, unknown = cols.data[column.key], cols.unknown.get(column.key)
    if column.key == "relation":
        values = _relation_labels(values)
    if at is None:
        return _array(values, unknown)
    full = np.zeros(rows, dtype=values.dtype)
    full[at] = values
    hidden = np.ones(rows, dtype=bool)
    hidden[at] = False if unknown is None else unknown
    return _array(full, hidden)


def _relation_labels(codes: Any) -> Any:
    known = np.array(list(RELATION_LABELS))
    order = np.argsort(known)
    return np.array(list(RELATION_LABELS.values()))[order[np.searchsorted(known[order], codes)]]


_TYPES = {"string": pa.string(), "number": pa.float64(), "bool": pa.bool_(), "date": pa.date32()}


def chunk_table(catalogue: FactCatalogue, chunk: PopulationChunk) -> pa.Table:
    """A population chunk as one row per member, in the household template's layout."""
    members, households = chunk.members, chunk.households
    rows = len(members)
    heads = np.flatnonzero(members.data["relation"] == "head")
    arrays, names = [], []
    for column in columns_for(catalogue, "household"):
        household_level = column.kind == "household"
        source = households if household_level else members
        arrays.append(_column(column, source, rows, heads if household_level else None))
        names.append(column.header)
    return pa.Table.from_arrays(arrays, names=names)


def enterprise_table(catalogue: FactCatalogue, cols: Columns) -> pa.Table:
    """Enterprises as one row each, in the enterprise template's layout."""
    columns = columns_for(catalogue, "enterprise")
    arrays = [_column(c, cols, len(cols), None) for c in columns]
    return pa.Table.from_arrays(arrays, names=[c.header for c in columns])


class _Writers:
    """The csv, parquet and (while it fits) xlsx files of one template, fed table by table."""

    def __init__(self, base: Path, first: pa.Table, xlsx: bool) -> None:
        self.base = base
        self.csv_handle = (base.with_suffix(".csv")).open("wb")
        self.csv_handle.write("\ufeff".encode())
        self.csv = pacsv.CSVWriter(self.csv_handle, first.schema)
        self.parquet = pq.ParquetWriter(base.with_suffix(".parquet"), first.schema)
        self.book: Workbook | None = Workbook(write_only=True) if xlsx else None
        if self.book is not None:
            self.sheet = self.book.create_sheet(
                "户成员" if "户编号" in first.column_names else "企业"
            )
            self.sheet.append(first.column_names)
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        self.csv.write_table(table)
        self.parquet.write_table(table)
        self.rows += table.num_rows
        if self.book is None:
            return
        if self.rows > XLSX_MAX_ROWS:
            self.book = None
            return
        columns = [c.to_pylist() for c in table.columns]
        for row in zip(*columns, strict=True):
            self.sheet.append(row)

    def close(self, files: DemoFiles) -> None:
        self.csv.close()
        self.csv_handle.close()
        self.parquet.close()
        files.written += [self.base.with_suffix(".csv"), self.base.with_suffix(".parquet")]
        if self.book is not None:
            self.book.save(self.base.with_suffix(".xlsx"))
            files.written.append(self.base.with_suffix(".xlsx"))
        else:
            files.skipped.append(
                f"{self.base.with_suffix('.xlsx').name}：{self.rows:,} 行超出一个 xlsx 工作表的"
                f"上限（{XLSX_MAX_ROWS:,} 行），请用 csv 或 parquet 文件"
            )


def _tables(catalogue: FactCatalogue, pop: Population) -> Iterator[tuple[pa.Table, int]]:
    for chunk in generate_households(pop):
        yield chunk_table(catalogue, chunk), len(chunk.households)


def write_demo_data(
    out: Path,
    catalogue: FactCatalogue,
    pop: Population,
    enterprises: Enterprises,
    progress: Callable[[int, int | None], None] | None = None,
) -> DemoFiles:
    """Write households.{xlsx,csv,parquet} and enterprises.{xlsx,csv,parquet} into `out`.

    Args:
        out: the folder (created when missing).
        catalogue: the fact catalogue (column headers).
        pop: the household population to generate.
        enterprises: the enterprises to generate.
        progress: called with (households and enterprises written, their total) after each
            chunk.

    Returns:
        The files written, the ones skipped with the reason, and the counts.
    """
    out.mkdir(parents=True, exist_ok=True)
    files = DemoFiles()
    fits = pop.households * _MEAN_SIZE <= XLSX_MAX_ROWS * 0.97
    writers: _Writers | None = None
    total, done = pop.households + enterprises.count, 0
    for table, households in _tables(catalogue, pop):
        writers = writers or _Writers(out / "households", table, fits)
        writers.write(table)
        files.members += table.num_rows
        done += households
        if progress is not None:
            progress(done, total)
    if writers is not None:
        writers.close(files)
    files.households = pop.households
    if enterprises.count:
        table = enterprise_table(catalogue, generate_enterprises(enterprises))
        ewriters = _Writers(out / "enterprises", table, table.num_rows <= XLSX_MAX_ROWS)
        ewriters.write(table)
        ewriters.close(files)
        files.enterprises = table.num_rows
        if progress is not None:
            progress(total, total)
    return files
