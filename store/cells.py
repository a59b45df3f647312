"""One spreadsheet cell to one profile value, by column: text IDs, 是/否, numbers, dates, codes.

Conversions are lenient where a spreadsheet is (是/否, real date cells, full-width digits) and
strict where silence would be wrong: an ID that arrived as a number has already lost digits,
so it is refused with a message telling how to fix the sheet. Every refusal is a `CellError`
whose message never holds a full ID number.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from matcher.identifiers import mask_id, mask_ids_in_text
from store.template import RELATION_CODES, RELATION_LABELS, Column

__all__ = ["CellError", "Converter", "convert", "fast_converter", "is_blank", "shown"]

Converter = Callable[[Any], Any]

_TRUE = {"是", "true", "1", "y", "yes", "有"}
_FALSE = {"否", "false", "0", "n", "no", "无"}
_BOOL_TEXT = {"true": True, "false": False, "是": True, "否": False, "1": True, "0": False}
_SCIENTIFIC = re.compile(r"[+-]?\d+(\.\d+)?[eE][+-]?\d+")
_INT64 = 2**63
_ISO = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})")


class CellError(ValueError):
    """A cell cannot be read for its column; the message says why and how to fix it."""


def is_blank(value: object) -> bool:
    """Whether a cell is empty (None, or only spaces)."""
    if value is None or value == "":
        return True
    return isinstance(value, str) and value.isspace()


def shown(value: object, *, secret: bool = False) -> str:
    """A cell as an error report shows it: text with ID numbers masked, numbers short.

    Args:
        value: the cell.
        secret: mask the text whatever it holds (an ID column: a wrong ID is still personal).
    """
    if isinstance(value, float) and abs(value) >= 1e12:
        return f"{value:.3g}"
    if secret and isinstance(value, str):
        return mask_id(unicodedata.normalize("NFKC", value).strip())
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return mask_ids_in_text(text if len(text) <= 60 else text[:57] + "...")


def _number_as_id(column: Column, value: object) -> CellError:
    return CellError(
        f"the {column.header} arrived as a number ({shown(value)}) — format the column as text; "
        "spreadsheets lose digits in numbers"
    )


def _identity(column: Column, value: object) -> str:
    if isinstance(value, bool):
        raise CellError(f"expected text in {column.header}, got a true/false cell")
    if isinstance(value, int | float):
        if column.id_like:
            raise _number_as_id(column, value)
        return str(value)
    text = str(value) if not isinstance(value, str) else value
    if column.id_like and _SCIENTIFIC.fullmatch(text.strip()):
        raise _number_as_id(column, text.strip())
    if column.key == "relation":
        return _relation(text)
    return text.strip() if column.id_like else text


def _relation(text: str) -> str:
    key = unicodedata.normalize("NFKC", text).strip()
    code = RELATION_CODES.get(key) or RELATION_CODES.get(key.lower())
    if code is None:
        chinese = "/".join(dict.fromkeys([*RELATION_LABELS.values(), "外祖父母", "外孙子女"]))
        raise CellError(f"unknown relation {shown(text)!r}; expected one of {chinese}")
    return code


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    fast = _BOOL_TEXT.get(value) if isinstance(value, str) else None
    if fast is not None:
        return fast
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    key = unicodedata.normalize("NFKC", str(value)).strip().lower()
    if key in _TRUE or key in _FALSE:
        return key in _TRUE
    raise CellError(f"expected 是 or 否 (true/false, 1/0), got {shown(value)!r}")


def _number(value: object) -> int | float:
    if isinstance(value, bool):
        raise CellError("expected a number, got a true/false cell")
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip().replace(",", "")
        try:
            value = float(text)
        except ValueError:
            raise CellError(f"expected a number, got {shown(value)!r}") from None
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise CellError(f"expected a finite number, got {shown(value)!r}")
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _date(value: object) -> date:
    if isinstance(value, datetime):
        if value.time() != datetime.min.time():
            raise CellError(f"expected a date, got a date and time {value.isoformat()}")
        return value.date()
    if isinstance(value, date):
        return value
    text = unicodedata.normalize("NFKC", str(value)).strip()
    found = _ISO.fullmatch(text)
    if not found:
        raise CellError(f"expected a date as YYYY-MM-DD, got {shown(value)!r}")
    try:
        return date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        raise CellError(f"{text} is not a real date (no such day in that month)") from None


def _string(column: Column, value: object) -> str:
    fact = column.fact
    allowed = fact.values if fact is not None else None
    if not isinstance(value, str):
        if allowed is None and isinstance(value, int | float) and not isinstance(value, bool):
            raise _number_as_id(column, value)
        raise CellError(f"expected text, got {shown(value)!r}")
    text = unicodedata.normalize("NFKC", value).strip()
    if allowed is not None and text not in allowed:
        raise CellError(f"expected one of {', '.join(allowed)}, got {shown(value)!r}")
    return text


def convert(column: Column, value: Any, max_chars: int = 2000) -> Any:
    """A non-blank cell converted for `column`.

    Args:
        column: the template column the cell is under.
        value: the cell as the reader gave it (text, number, bool, date).
        max_chars: text longer than this is refused.

    Returns:
        Text for identity columns (relation as its code), or the fact's typed value.

    Raises:
        CellError: saying what was expected and, for a numeric ID, how to fix the sheet.
    """
    if isinstance(value, str) and len(value) > max_chars:
        raise CellError(f"{len(value)} characters is over the {max_chars}-character cap")
    if column.kind == "identity":
        return _identity(column, value)
    if column.type == "bool":
        return _bool(value)
    if column.type == "number":
        return _number(value)
    if column.type == "date":
        return _date(value)
    return _string(column, value)


def fast_converter(column: Column, max_chars: int = 2000) -> Converter:
    """`convert` for one column, quicker on cells that already have the column's type.

    The returned function gives exactly what `convert(column, value, max_chars)` gives (or
    raises the same `CellError`): well-typed cells — a bool in a 是/否 column, a finite float
    in a number column, a date, ASCII text of an allowed code, text without an exponent in an
    ID column — are answered directly; every other cell goes through `convert`.

    Args:
        column: the template column.
        max_chars: text longer than this is refused.
    """

    def slow(value: Any) -> Any:
        return convert(column, value, max_chars)

    if column.kind == "identity":
        if column.key == "relation":
            return _relation_fast(slow, max_chars)
        if column.id_like:
            return _id_fast(slow, max_chars)
        return _text_fast(slow, max_chars)
    if column.type == "bool":
        return _bool_fast(slow, max_chars)
    if column.type == "number":
        return _number_fast(slow, max_chars)
    if column.type == "date":
        return _date_fast(slow)
    fact = column.fact
    return _string_fast(slow, max_chars, fact.values if fact is not None else None)


def _relation_fast(slow: Converter, max_chars: int) -> Converter:
    def relation(value: Any) -> Any:
        if value.__class__ is str and len(value) <= max_chars:
            code = RELATION_CODES.get(value)  # exact keys are already NFKC and stripped
            if code is not None:
                return code
        return slow(value)

    return relation


def _id_fast(slow: Converter, max_chars: int) -> Converter:
    def identifier(value: Any) -> Any:
        if (
            value.__class__ is str
            and len(value) <= max_chars
            and "e" not in value
            and "E" not in value
        ):
            return value.strip()  # no exponent: cannot be a number in scientific notation
        return slow(value)

    return identifier


def _text_fast(slow: Converter, max_chars: int) -> Converter:
    def text(value: Any) -> Any:
        if value.__class__ is str and len(value) <= max_chars:
            return value
        return slow(value)

    return text


def _bool_fast(slow: Converter, max_chars: int) -> Converter:
    def boolean(value: Any) -> Any:
        if value is True or value is False:
            return value
        if value.__class__ is str and len(value) <= max_chars:
            fast = _BOOL_TEXT.get(value)
            if fast is not None:
                return fast
        return slow(value)

    return boolean


def _number_fast(slow: Converter, max_chars: int) -> Converter:
    def number(value: Any) -> Any:
        if value.__class__ is float and math.isfinite(value):
            return int(value) if value.is_integer() else value
        if value.__class__ is int and -_INT64 <= value < _INT64:
            return value
        if value.__class__ is str and len(value) <= max_chars and value.isascii():
            try:  # as `convert` reads text: strip, drop thousands separators, float()
                parsed = float(value.strip().replace(",", ""))
            except ValueError:
                return slow(value)
            if math.isfinite(parsed):
                return int(parsed) if parsed.is_integer() else parsed
        return slow(value)

    return number


def _date_fast(slow: Converter) -> Converter:
    def day(value: Any) -> Any:
        if value.__class__ is date:
            return value
        return slow(value)

    return day


def _string_fast(slow: Converter, max_chars: int, allowed: tuple[str, ...] | None) -> Converter:
    codes = frozenset(allowed) if allowed is not None else None

    def string(value: Any) -> Any:
        if value.__class__ is str and len(value) <= max_chars and value.isascii():
            text = value.strip()  # NFKC leaves ASCII as it is
            if codes is None or text in codes:
                return text
        return slow(value)

    return string
