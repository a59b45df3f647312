"""A small streaming xlsx writer for result workbooks: text, numbers, amounts, nothing else.

    book = XlsxBook(path)
    sheet = book.sheet("民政局", widths=[12, 20, …])   # header row frozen, columns sized
    sheet.append(["户编号", Decimal("300.00"), 3, None])
    book.save()                                         # or book.abort()

openpyxl's write-only mode builds a cell object per value and writes XML through et_xmlfile
(pure Python here: lxml is not installed); for `zhida batch` on 100k households that was 11.5 s
of 26 s (bench/RESULTS.md). This writer formats each row as one string — inline strings, numbers,
a `Decimal` as a number shown with two places (built-in format 2, `0.00`, as before) — into a
temporary file per sheet, and zips the parts on `save`. It writes what the result workbook
needs and refuses other values (a `date`, say) with a TypeError rather than guess; text must
already be safe (`sheets.workbook.safe_cell` removes the characters XML cannot hold).
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

__all__ = ["XlsxBook", "XlsxSheet", "column_letter"]

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def column_letter(index: int) -> str:
    """The letters of a 1-based column index (1 → A, 27 → AA)."""
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _escape(text: str) -> str:
    if "&" in text or "<" in text or ">" in text or '"' in text:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        text = text.replace('"', "&quot;")
    return text


_LETTERS = [column_letter(i) for i in range(1, 16_385)]


class XlsxSheet:
    """One worksheet, its rows streamed to a temporary file."""

    def __init__(self, name: str, widths: Sequence[float], folder: str) -> None:
        """Start the sheet `name` with the header row frozen and these column widths."""
        self.name = name
        self.rows = 0
        self.width = 0
        handle, self.part = tempfile.mkstemp(suffix=".xml", dir=folder)
        self.out: IO[str] = os.fdopen(handle, "w", encoding="utf-8", newline="")
        cols = "".join(
            f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
            for i, w in enumerate(widths, start=1)
        )
        self.out.write(
            f'{_HEAD}<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">'
            '<sheetViews><sheetView workbookViewId="0">'
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
            '<sheetFormatPr defaultRowHeight="15"/>'
            + (f"<cols>{cols}</cols>" if cols else "")
            + "<sheetData>"
        )
        self.filter: str | None = None

    def append(self, values: Sequence[Any]) -> None:
        """One row: str, int, float, bool, Decimal (shown to the fen) or None (an empty cell)."""
        self.rows += 1
        r = str(self.rows)
        parts = [f'<row r="{r}">']
        add = parts.append
        for i, value in enumerate(values):
            if value is None:
                continue
            ref = _LETTERS[i] + r
            kind = type(value)
            if kind is str:
                if value:
                    space = ' xml:space="preserve"' if value[0] == " " or value[-1] == " " else ""
                    add(f'<c r="{ref}" t="inlineStr"><is><t{space}>{_escape(value)}</t></is></c>')
            elif kind is Decimal:
                add(f'<c r="{ref}" s="1"><v>{value}</v></c>')
            elif kind is bool:
                add(f'<c r="{ref}" t="b"><v>{int(value)}</v></c>')
            elif kind is int or kind is float:
                add(f'<c r="{ref}"><v>{value!r}</v></c>')
            else:
                raise TypeError(f"xlsx cell {ref}: cannot write a {kind.__name__}")
        add("</row>")
        self.width = max(self.width, len(values))
        self.out.write("".join(parts))

    def close(self) -> None:
        """End the sheet's XML (with its auto filter, if one was set)."""
        if self.out.closed:
            return
        tail = "</sheetData>"
        if self.filter is not None:
            tail += f'<autoFilter ref="{self.filter}"/>'
        self.out.write(tail + "</worksheet>")
        self.out.close()


_STYLES = (
    f'{_HEAD}<styleSheet xmlns="{_MAIN}">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="2" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


class XlsxBook:
    """A workbook of streamed sheets, written to `path` on `save`."""

    def __init__(self, path: Path) -> None:
        """A new workbook to be saved at `path` (its sheets' parts go to a temporary folder)."""
        self.path = path
        self.folder = tempfile.mkdtemp(prefix="zhida-xlsx-")
        self.sheets: list[XlsxSheet] = []

    def sheet(self, name: str, widths: Sequence[float]) -> XlsxSheet:
        """Add a sheet (a valid, unused name: `sheets.workbook.sheet_name`)."""
        made = XlsxSheet(name, widths, self.folder)
        self.sheets.append(made)
        return made

    def save(self) -> None:
        """Close every sheet and write the package."""
        try:
            for sheet in self.sheets:
                sheet.close()
            self._write()
        except BaseException:
            self.path.unlink(missing_ok=True)  # no partial workbook
            raise
        finally:
            self.abort()

    def abort(self) -> None:
        """Close and delete the temporary parts (the workbook at `path` is not touched)."""
        for sheet in self.sheets:
            if not sheet.out.closed:
                sheet.out.close()
            Path(sheet.part).unlink(missing_ok=True)
        with_parts = Path(self.folder)
        if with_parts.exists():
            with_parts.rmdir()

    def _write(self) -> None:
        n = len(self.sheets)
        sheets = "".join(
            f'<sheet name="{_escape(s.name)}" sheetId="{i}" r:id="rId{i}"/>'
            for i, s in enumerate(self.sheets, start=1)
        )
        workbook = (
            f'{_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
            f"<bookViews><workbookView/></bookViews><sheets>{sheets}</sheets></workbook>"
        )
        sheet_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
        rels = "".join(
            f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, n + 1)
        )
        rels += f'<Relationship Id="rId{n + 1}" Type="{_REL}/styles" Target="styles.xml"/>'
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{sheet_type}"/>'
            for i in range(1, n + 1)
        )
        main = "application/vnd.openxmlformats-officedocument.spreadsheetml"
        types = (
            f'{_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{main}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{main}.styles+xml"/>'
            f"{overrides}</Types>"
        )
        package = (
            f'{_HEAD}<Relationships xmlns="{_PKG}">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        )
        with zipfile.ZipFile(self.path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
            z.writestr("[Content_Types].xml", types)
            z.writestr("_rels/.rels", package)
            z.writestr("xl/workbook.xml", workbook)
            rels = f'{_HEAD}<Relationships xmlns="{_PKG}">{rels}</Relationships>'
            z.writestr("xl/_rels/workbook.xml.rels", rels)
            z.writestr("xl/styles.xml", _STYLES)
            for i, sheet in enumerate(self.sheets, start=1):
                z.write(sheet.part, f"xl/worksheets/sheet{i}.xml")
