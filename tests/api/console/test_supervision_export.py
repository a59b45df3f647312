"""The console's xlsx downloads (api/console/export.py): hostile text is escaped, IDs are masked,
numbers and dates keep their type, and the Chinese file name survives the header (RFC 5987)."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from urllib.parse import unquote

from openpyxl import load_workbook

from api.console.export import Sheet, content_disposition, workbook_bytes
from tests.pii_scan import find_ids

FULL_ID = "11010519900101123X"


def test_cells_are_escaped_masked_and_typed() -> None:
    """Formula-like text gets a leading ', ID-shaped runs are masked, numbers stay numbers."""
    rows = [
        ['=HYPERLINK("http://x")', "+1", "-8.4", "@SUM(A1)", "\tx", f"户主 {FULL_ID} 低保"],
        [Decimal("-8.40"), 3, date(2025, 3, 1), None, True, "县民政局"],
    ]
    data = workbook_bytes([Sheet("应享未享", list("ABCDEF"), rows), Sheet("应享未享", ["x"], [])])
    book = load_workbook(io.BytesIO(data))
    first, second = book.worksheets
    assert (first.title, second.title) == ("应享未享", "应享未享~2")
    assert first.freeze_panes == "A2" and first.auto_filter.ref == "A1:F3"
    texts = [c.value for c in first[2]]
    assert texts[:5] == ['\'=HYPERLINK("http://x")', "'+1", "'-8.4", "'@SUM(A1)", "'\tx"]
    assert texts[5] == "户主 110***********123X 低保"
    numbers = [c.value for c in first[3]]
    assert numbers[0] == -8.4 and first["A3"].number_format == "#,##0.00"
    assert numbers[1] == 3 and numbers[2].date() == date(2025, 3, 1) and numbers[3] is None
    assert numbers[4] == "是"
    every = " ".join(str(c.value) for row in first.iter_rows() for c in row if c.value)
    assert not find_ids(every)


def test_the_file_name_is_rfc_5987_with_an_ascii_fallback() -> None:
    """`filename*` carries the Chinese name percent-encoded; `filename` is plain ASCII."""
    header = content_disposition('覆盖情况-520602-2025-03-01";x.xlsx')
    kind, plain, encoded = (part.strip() for part in header.split("; "))
    assert kind == "attachment"
    assert plain == 'filename="zhida-520602-2025-03-01-x.xlsx"'
    assert encoded.startswith("filename*=UTF-8''") and encoded.isascii()
    assert (
        unquote(encoded.removeprefix("filename*=UTF-8''")) == '覆盖情况-520602-2025-03-01";x.xlsx'
    )
