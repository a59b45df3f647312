"""The result workbook's writer against openpyxl's write-only mode, the same rows, one process.

    uv run python bench/xlsx_writer.py [--rows 200000] [--rounds 3]

Rows shaped like a department sheet of `zhida batch` (11 columns: ids, names, a full ID number,
policy id and title, an amount as `Decimal`, unit, period, delivery, bundle). Each round writes
them with `sheets.xlsx.XlsxBook` and with openpyxl (`Workbook(write_only=True)`, amounts as
`WriteOnlyCell`s with number format `0.00`, as `sheets.workbook` did before), alternately; the
best wall and CPU seconds of each are printed, with their ratio. Both files are read back
(calamine) and compared cell by cell before anything is timed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from python_calamine import CalamineWorkbook

from sheets.xlsx import XlsxBook

HEADER = ["户编号", "村（居）代码", "户主姓名", "户主身份证号", "政策编号", "政策名称", "金额",
          "单位", "周期", "办理方式", "一件事"]  # fmt: skip


def rows(n: int) -> list[list[Any]]:
    """`n` department-sheet rows."""
    return [
        [
            f"52060210020{i:07d}",
            "520602100201",
            "张三丰",
            f"52060219800101{i % 10000:04d}",
            f"household.policy{i % 16}",
            "城乡最低生活保障金",
            Decimal(f"{i % 900}.{i % 100:02d}"),
            "元",
            "每月",
            "免申即享",
            "低保家庭救助帮扶一件事",
        ]  # fmt: skip
        for i in range(n)
    ]


def ours(path: Path, data: list[list[Any]]) -> None:
    """sheets.xlsx."""
    book = XlsxBook(path)
    sheet = book.sheet("民政局", [max(10, 2 * len(h) + 2) for h in HEADER])
    sheet.append(HEADER)
    for row in data:
        sheet.append(row)
    sheet.filter = f"A1:K{len(data) + 1}"
    book.save()


def openpyxl_write_only(path: Path, data: list[list[Any]]) -> None:
    """openpyxl's write-only mode, as sheets.workbook used it."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("民政局")
    sheet.freeze_panes = "A2"
    sheet.append(HEADER)
    for row in data:
        cells = []
        for value in row:
            if isinstance(value, Decimal):
                cell = WriteOnlyCell(sheet, value=value)  # type: ignore[arg-type]
                cell.number_format = "0.00"
                cells.append(cell)
            else:
                cells.append(value)
        sheet.append(cells)
    sheet.auto_filter.ref = f"A1:K{len(data) + 1}"
    book.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    data = rows(args.rows)
    folder = Path(tempfile.mkdtemp(prefix="zhida-xlsx-bench-"))
    writers = {"sheets.xlsx": ours, "openpyxl write-only": openpyxl_write_only}
    read = {}
    for name, write in writers.items():
        path = folder / f"{name}.xlsx"
        write(path, data[:2000])
        read[name] = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    if read["sheets.xlsx"] != read["openpyxl write-only"]:
        raise SystemExit("the two writers' workbooks read back differently")
    best = {name: (float("inf"), float("inf")) for name in writers}
    loads = []
    for _ in range(args.rounds):
        loads.append(os.getloadavg()[0])
        for name, write in writers.items():
            path = folder / f"{name}.xlsx"
            wall, cpu = time.perf_counter(), time.process_time()
            write(path, data)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()
    print(f"{args.rows:,} rows × {len(HEADER)} columns; load average at each round: "
          f"{', '.join(f'{x:.2f}' for x in loads)}")  # fmt: skip
    print("| writer | best wall s | best CPU s |\n|---|---:|---:|")
    for name, (wall, cpu) in best.items():
        print(f"| {name} | {wall:.2f} | {cpu:.2f} |")
    ratio = best["openpyxl write-only"][1] / best["sheets.xlsx"][1]
    print(f"openpyxl ÷ sheets.xlsx (CPU): {ratio:.1f}×")


if __name__ == "__main__":
    main()
