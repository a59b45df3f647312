"""xlsx downloads of console pages: the table a page shows, as a workbook the browser saves.

    return xlsx_download("覆盖情况-520602-2026-11-30.xlsx", [Sheet("明细", HEADERS, rows)])

Every export is written the same way (RELIABILITY P1 and X1):

- one sheet per table, Chinese headers in the first row, frozen, with an auto-filter;
  columns sized to their first rows;
- text cells have every ID-shaped run masked (`matcher.profiles.masking.mask_ids_in_text`:
  the console's exports are never the place a full ID is needed — that is a department's
  payment batch, `GET /api/claims/export`), then formula-like text escaped with a leading
  `'` (`sheets.workbook.safe_cell`); numbers stay numbers (amounts as `Decimal`, shown to
  the fen), dates stay dates;
- written by openpyxl in write-only mode (rows streamed into the file, not held as cells);
- sent as a download: `Content-Disposition: attachment` with an ASCII `filename` for old
  clients and the Chinese name in RFC 5987's `filename*=UTF-8''…` (RFC 6266).

The caller hands rows that are already what the page shows (labels, masked keys): this module
decides nothing about content.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from litestar import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter

from matcher.profiles.masking import mask_ids_in_text
from sheets.workbook import safe_cell, sheet_name

__all__ = ["XLSX", "Sheet", "cell_value", "content_disposition", "workbook_bytes", "xlsx_download"]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_SIZED_BY = 500  # rows looked at to size the columns; a long tail changes nothing visible
_ASCII_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Sheet:
    """One table of the workbook: its name, Chinese headers and rows (cells as shown)."""

    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Any]]


def cell_value(value: Any) -> Any:
    """A value as the export writes it: text with IDs masked and formulas escaped; numbers and
    dates as they are; None empty."""
    if isinstance(value, str):
        return safe_cell(mask_ids_in_text(value))
    if isinstance(value, bool):
        return "是" if value else "否"
    return value


def _width(value: Any) -> int:
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text) + 2


def _cell(sheet: Any, value: Any) -> Any:
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, Decimal):
        cell.number_format = "#,##0.00"
    elif isinstance(value, datetime):
        cell.number_format = "yyyy-mm-dd hh:mm"
    elif isinstance(value, date):
        cell.number_format = "yyyy-mm-dd"
    elif isinstance(value, str):
        cell.number_format = "@"  # text: Excel keeps every digit of a code
    return cell


def workbook_bytes(sheets: Sequence[Sheet]) -> bytes:
    """The workbook of `sheets` as xlsx bytes (module docstring for how cells are written)."""
    book = Workbook(write_only=True)
    taken: set[str] = set()
    for table in sheets:
        sheet = book.create_sheet(sheet_name(table.title, taken))
        sheet.freeze_panes = "A2"  # written with the sheet's top: before the first row
        rows = [[cell_value(v) for v in row] for row in table.rows]
        widths = [_width(h) for h in table.headers]
        for row in rows[:_SIZED_BY]:
            for i, v in enumerate(row[: len(widths)]):
                widths[i] = max(widths[i], _width(v))
        for i, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(i)].width = min(max(width, 8), 60)
        sheet.append([cell_value(h) for h in table.headers])
        for row in rows:
            sheet.append([_cell(sheet, v) for v in row])
        last = get_column_letter(max(len(table.headers), 1))
        sheet.auto_filter.ref = f"A1:{last}{len(rows) + 1}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def content_disposition(filename: str) -> str:
    """`attachment` with the file's name: ASCII for old clients, UTF-8 per RFC 5987."""
    stem, dot, suffix = filename.rpartition(".")
    plain = _ASCII_SAFE.sub("-", stem).strip("-") if dot else ""
    fallback = f"zhida{'-' + plain if plain else ''}.{_ASCII_SAFE.sub('', suffix) or 'xlsx'}"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def xlsx_download(filename: str, sheets: Sequence[Sheet]) -> Response[bytes]:
    """The workbook of `sheets` as a download named `filename` (Chinese allowed)."""
    return Response(
        content=workbook_bytes(sheets),
        media_type=XLSX,
        headers={"Content-Disposition": content_disposition(filename),
                 "Cache-Control": "no-store"},
    )  # fmt: skip
