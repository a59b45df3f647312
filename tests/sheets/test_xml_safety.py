"""Spreadsheet XML is never trusted: no entity is expanded, by either library that touches xlsx.

An upload is refused before parsing when any XML part declares a DOCTYPE (`sheets.guards`), and
is then read by python-calamine; openpyxl, which writes our workbooks (and reads them in tests),
parses XML through defusedxml when it is installed — which is why defusedxml is a dependency
though no zhida module imports it. Both are checked on a workbook whose sheet declares a
"billion laughs" entity.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl import Workbook

from sheets.guards import Limits, SheetError
from sheets.sources import open_rows

LAUGHS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
"""


def _bomb(tmp_path: Path) -> Path:
    """A valid workbook whose first sheet then declares nested entities and uses the largest."""
    plain = tmp_path / "plain.xlsx"
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["户编号", "姓名"])
    sheet.append(["5206020010010001", "PLACEHOLDER"])
    book.save(plain)
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(bomb, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = data.decode("utf-8")
                body = text[text.index("?>") + 2 :] if text.startswith("<?xml") else text
                body = body.replace(
                    '<c r="B2" t="inlineStr"><is><t>PLACEHOLDER</t></is></c>',
                    '<c r="B2" t="inlineStr"><is><t>&lol4;</t></is></c>',
                )
                assert "&lol4;" in body
                data = (LAUGHS + body).encode("utf-8")
            dst.writestr(info, data)
    return bomb


def test_openpyxl_parses_through_defusedxml() -> None:
    from openpyxl.xml import DEFUSEDXML

    assert DEFUSEDXML is True


def test_openpyxl_refuses_the_entity_bomb(tmp_path: Path) -> None:
    from defusedxml import DefusedXmlException

    with pytest.raises(ValueError, match="Unable to read workbook") as refused:
        openpyxl.load_workbook(_bomb(tmp_path))
    causes = []
    error: BaseException | None = refused.value
    while error is not None:
        causes.append(error)
        error = error.__cause__ or error.__context__
    assert any(isinstance(c, DefusedXmlException) for c in causes), causes


def test_the_upload_guard_refuses_the_entity_bomb(tmp_path: Path) -> None:
    with pytest.raises(SheetError, match=r"bomb\.xlsx: part xl/worksheets/sheet1\.xml .*DOCTYPE"):
        open_rows(_bomb(tmp_path), Limits())
