"""The streaming xlsx writer (`sheets.xlsx`): what openpyxl and calamine read back."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from sheets.xlsx import XlsxBook, column_letter


def test_values_types_formats_panes_widths_and_filter_read_back(tmp_path: Path) -> None:
    """Text (escaped, spaces kept), numbers, amounts shown to the fen, booleans, empty cells."""
    path = tmp_path / "out.xlsx"
    book = XlsxBook(path)
    sheet = book.sheet('民政局 & <"其他">', [12, 30, 10])
    sheet.append(["户编号", "金额", "人数"])
    sheet.append([" a<b>&c ", Decimal("300.5"), 3, None, True, 1.25])
    sheet.append([None, Decimal("-0.01")])
    sheet.filter = "A1:C3"
    book.sheet("空表", [])
    book.save()
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ['民政局 & <"其他">', "空表"]
    ws = wb.worksheets[0]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert rows[1] == [" a<b>&c ", 300.5, 3, None, True, 1.25]
    assert rows[2][:2] == [None, -0.01]
    assert ws["B2"].number_format == "0.00" and ws["C2"].number_format == "General"
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:C3"
    assert ws.column_dimensions["B"].width == 30
    calamine = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert calamine[1][:3] == [" a<b>&c ", 300.5, 3]
    assert not list(tmp_path.glob("*.xml")) and path.stat().st_size > 0


def test_a_value_it_cannot_write_is_refused_and_abort_leaves_nothing(tmp_path: Path) -> None:
    """A date is refused by name and place; abort removes the temporary parts, writes no file."""
    from datetime import date

    path = tmp_path / "out.xlsx"
    book = XlsxBook(path)
    sheet = book.sheet("表", [10])
    with pytest.raises(TypeError, match="B1"):
        sheet.append(["x", date(2025, 3, 1)])
    book.abort()
    assert not path.exists() and not Path(book.folder).exists()


def test_column_letters() -> None:
    """1 → A, 26 → Z, 27 → AA, 16384 → XFD."""
    assert [column_letter(i) for i in (1, 26, 27, 52, 703, 16384)] == [
        "A", "Z", "AA", "AZ", "AAA", "XFD",
    ]  # fmt: skip
