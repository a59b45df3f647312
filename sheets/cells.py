"""One spreadsheet cell to one profile value, by column: text IDs, 是/否, numbers, dates, codes.

Conversions are lenient where a spreadsheet is (是/否, real date cells, full-width digits,
`1,234.50`) and strict where silence would be wrong: an ID that arrived as a number has already
lost digits, so it is refused with a message telling how to fix the sheet. A number is read
by `rules.numbers.read_number` (an `int`, or a `Decimal` of at most 15 significant digits,
below 10^15) and a number or a date must lie in its fact's domain (`min`, `max`, `integer`;
`max: today` is the run's date), exactly as a JSON profile is checked: what a converter
returns can always be stored as JSON, put in the engine's float64 columns and read back
unchanged. Every refusal is a `CellError` whose message never holds a full ID number.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, InvalidOperation
from typing import Any

from matcher.profiles.masking import mask_id, mask_ids_in_text
from rules.facts import FactDef, FactValue
from rules.numbers import LIMIT, Number, NumberError, read_number
from sheets.template import RELATION_CODES, RELATION_LABELS, Column, choices_text

__all__ = [
    "CellError",
    "Converter",
    "convert",
    "enum_codes",
    "fast_converter",
    "is_blank",
    "shown",
]

Converter = Callable[[Any], Any]

_TRUE = {"是", "true", "1", "y", "yes", "有"}
_FALSE = {"否", "false", "0", "n", "no", "无"}
_BOOL_TEXT = {"true": True, "false": False, "是": True, "否": False, "1": True, "0": False}
_SCIENTIFIC = re.compile(r"[+-]?\d+(\.\d+)?[eE][+-]?\d+")
_FLOAT_LIMIT = float(LIMIT)
_LIMIT_DIGITS = len(str(LIMIT)) - 1  # a decimal whose leading digit is at 10^15 or above
_TOO_LARGE = "数值须小于 10 的 15 次方（是否把证件号、账号填进了数字列？）"  # as read_number says
# A decimal this small has no double that reads back as it (below the normal range of a
# float64, digits are lost); no fact zhida knows needs one.
_SMALLEST_EXPONENT = -300
_WIDE = Context(prec=3, Emax=MAX_EMAX, Emin=MIN_EMIN)  # rounds any exponent without overflow
_ISO = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})")
_HUGE = 10**60  # a whole number shown as 1e+60, not digit by digit


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
    if isinstance(value, int) and abs(value) >= _HUGE:  # str() refuses past 4300 digits
        return _short(value)
    if secret and isinstance(value, str):
        return mask_id(unicodedata.normalize("NFKC", value).strip())
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value).replace("\x00", "\u2400")  # a NUL shown as ␀: never written to a report
    return mask_ids_in_text(text if len(text) <= 60 else text[:57] + "...")


def _number_as_id(column: Column, value: object) -> CellError:
    return CellError(
        f"{column.header}是以数字形式上传的（{shown(value)}）：请把该列设为文本格式后重新填写，"
        "数字格式会丢失位数"
    )


def _identity(column: Column, value: object) -> str:
    if isinstance(value, bool):
        raise CellError(f"{column.header}应为文本，实际为是/否（true/false）单元格")
    if isinstance(value, int | float) and column.id_like:
        raise _number_as_id(column, value)
    if isinstance(value, int) and abs(value) >= _HUGE:
        raise CellError(f"{column.header}应为文本，实际为数字 {shown(value)}")
    text = str(value) if not isinstance(value, str) else value
    if column.id_like and _SCIENTIFIC.fullmatch(text.strip()):
        raise _number_as_id(column, text.strip())
    if column.key == "relation":
        return _relation(text)
    if column.max_length is not None:
        stored = len(unicodedata.normalize("NFKC", text).strip())
        if stored > column.max_length:
            limit = f"至多 {column.max_length} 个（数据库按此长度保存）"
            raise CellError(f"{column.header}过长：{stored} 个字符，{limit}")
    return text.strip() if column.id_like else text


def _relation(text: str) -> str:
    key = unicodedata.normalize("NFKC", text).strip()
    code = RELATION_CODES.get(key) or RELATION_CODES.get(key.lower())
    if code is None:
        chinese = "/".join(dict.fromkeys([*RELATION_LABELS.values(), "外祖父母", "外孙子女"]))
        raise CellError(f"与户主关系 {shown(text)!r} 无法识别：应为 {chinese} 之一")
    return code


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    fast = _BOOL_TEXT.get(value) if isinstance(value, str) else None
    if fast is not None:
        return fast
    if isinstance(value, int | float | Decimal):
        if not (isinstance(value, Decimal) and value.is_nan()) and value in (0, 1):
            return bool(value)  # (a signalling NaN cannot even be compared)
        raise CellError(f"应为 是 或 否（true/false、1/0），实际为 {shown(value)!r}")
    key = unicodedata.normalize("NFKC", str(value)).strip().lower()
    if key in _TRUE or key in _FALSE:
        return key in _TRUE
    raise CellError(f"应为 是 或 否（true/false、1/0），实际为 {shown(value)!r}")


def _allowed(column: Column, on: date | None) -> str:
    """What a number or date column takes, in words (`0 至 1000000 之间的数`)."""
    fact = column.fact
    if fact is None or (fact.minimum is None and fact.maximum is None and not fact.integer):
        return "日期" if column.type == "date" else "数字"
    return fact.describe_domain(on)


def _in_domain(column: Column, value: FactValue, on: date | None) -> FactValue:
    """`value` when its fact's domain holds it; else a `CellError` naming the domain."""
    fact = column.fact
    problem = fact.domain_problem(value, on) if fact is not None else None
    if problem is None:
        return value
    domain = fact.describe_domain(on) if fact is not None else ""
    if domain not in problem:  # `应为整数，实际为 1.5`: say the range too
        problem += f"（{column.header}应为{domain}）"
    raise CellError(mask_ids_in_text(problem))


def _number(column: Column, value: object, on: date | None) -> FactValue:
    allowed = _allowed(column, on)
    if isinstance(value, bool):
        raise CellError(f"应为{allowed}，实际为是/否（true/false）单元格")
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip().replace(",", "")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise CellError(f"应为{allowed}，实际为文本 {shown(value)!r}") from None
    if not isinstance(value, int | float | Decimal):
        raise CellError(f"应为{allowed}，实际为 {shown(value)!r}")
    try:
        number = read_number(_magnitude_checked(value))
    except NumberError as error:
        raise CellError(mask_ids_in_text(f"{error}；{column.header}应为{allowed}")) from None
    return _in_domain(column, number, on)


def _magnitude_checked(value: int | float | Decimal) -> int | float | Decimal:
    """`value`, unless a whole number or a decimal is too large or too small to judge safely.

    `read_number` prints a number too large by way of a float, which fails near and past
    10^308 (`OverflowError`, not `NumberError`: the float 1.7976931348623157e308 rounds up to
    15 digits beyond the largest double), and a decimal below the normal range of a float64
    (`1e-320` as text) may have no double that reads back as it: both are refused here. (A
    small float is a double already: it reads back as itself.)
    """
    if isinstance(value, float):
        if math.isfinite(value) and abs(value) >= _FLOAT_LIMIT:
            raise NumberError(f"{_short(Decimal(value))} 过大：{_TOO_LARGE}")
        return value
    big = abs(value) >= LIMIT if isinstance(value, int) else _adjusted(value) >= _LIMIT_DIGITS
    if big:
        raise NumberError(f"{_short(value)} 过大：{_TOO_LARGE}")
    if isinstance(value, Decimal) and _adjusted(value) < _SMALLEST_EXPONENT:
        raise NumberError(f"{_short(value)} 过小，无法精确保存")
    return value


def _short(value: int | Decimal) -> str:
    """A number of any size in three significant digits, as a float prints (`1e+20`)."""
    rounded = _WIDE.plus(Decimal(value)).normalize(_WIDE)
    return format(rounded, "g").replace("E", "e")


def _adjusted(value: Decimal) -> int:
    """The power of ten of the leading digit (0 for zero, NaN and infinities: not judged here)."""
    return value.adjusted() if value.is_finite() and not value.is_zero() else 0


def _date(column: Column, value: object, on: date | None) -> FactValue:
    if isinstance(value, datetime):
        if value.time() != datetime.min.time():
            raise CellError(f"应为日期，实际为日期和时间 {value.isoformat()}")
        value = value.date()
    if isinstance(value, int | float | Decimal):  # a date cell is never read as a number
        raise CellError(f"应为日期（YYYY-MM-DD），实际为数字 {shown(value)}")
    if not isinstance(value, date):
        text = unicodedata.normalize("NFKC", str(value)).strip()
        found = _ISO.fullmatch(text)
        if not found:
            raise CellError(f"应为日期（YYYY-MM-DD），实际为 {shown(value)!r}")
        try:
            value = date(int(found[1]), int(found[2]), int(found[3]))
        except ValueError:
            raise CellError(f"{text} 不是真实存在的日期（该月没有这一天）") from None
    return _in_domain(column, value, on)


def _string(column: Column, value: object) -> str:
    fact = column.fact
    allowed = fact.values if fact is not None else None
    if not isinstance(value, str):
        if allowed is None and isinstance(value, int | float) and not isinstance(value, bool):
            raise _number_as_id(column, value)
        raise CellError(f"应为文本，实际为 {shown(value)!r}")
    text = unicodedata.normalize("NFKC", value).strip()
    if allowed is None or fact is None or text in allowed:
        return text
    code = enum_codes(fact).get(text.lower())
    if code is None:
        raise CellError(f"{column.header}应为 {choices_text(fact)} 之一，实际为 {shown(value)!r}")
    return code


def enum_codes(fact: FactDef) -> dict[str, str]:
    """Every way a sheet may write an allowed value — its code or its Chinese label, in any
    case (NFKC) — to the code (`在册` → active, `C` and `c` → C, `制造业` → C)."""
    labels = fact.value_labels or {}
    found: dict[str, str] = {}
    for code in fact.values or ():
        for said in (code, labels.get(code)):
            if said is not None:
                found.setdefault(unicodedata.normalize("NFKC", said).strip().lower(), code)
    return found


def convert(column: Column, value: Any, max_chars: int = 2000, on: date | None = None) -> Any:
    """A non-blank cell converted for `column`.

    Args:
        column: the template column the cell is under.
        value: the cell as the reader gave it (text, number, bool, date).
        max_chars: text longer than this is refused.
        on: the run's date: a date fact whose `max` is `today` may not be later (default:
            today).

    Returns:
        Text for identity columns (relation as its code), or the fact's typed value: a number
        as `read_number` gives it, inside the fact's domain.

    Raises:
        CellError: saying what was found and what is allowed and, for a numeric ID, how to
            fix the sheet.
    """
    if isinstance(value, str) and len(value) > max_chars:
        raise CellError(f"单元格有 {len(value)} 个字符，超过上限 {max_chars} 个")
    if isinstance(value, str) and "\x00" in value:  # PostgreSQL stores no NUL in text or JSON
        raise CellError("单元格含空字符（U+0000），无法保存：请删去该字符后重新上传")
    if column.kind == "identity":
        return _identity(column, value)
    if column.type == "bool":
        return _bool(value)
    on = on or date.today()
    if column.type == "number":
        return _number(column, value, on)
    if column.type == "date":
        return _date(column, value, on)
    return _string(column, value)


def fast_converter(column: Column, max_chars: int = 2000, on: date | None = None) -> Converter:
    """`convert` for one column, quicker on cells that already have the column's type.

    The returned function gives exactly what `convert(column, value, max_chars, on)` gives (or
    raises the same `CellError`): well-typed cells — a bool in a 是/否 column, a whole number
    inside its domain in a number column, a date inside its domain, ASCII text of an allowed
    code, text without an exponent in an ID column — are answered directly; every other cell
    goes through `convert`.

    Args:
        column: the template column.
        max_chars: text longer than this is refused.
        on: the run's date (default: today).
    """
    on = on or date.today()

    def slow(value: Any) -> Any:
        return convert(column, value, max_chars, on)

    if column.kind == "identity":
        if column.key == "relation":
            return _relation_fast(slow, max_chars)
        limit = min(max_chars, column.max_length or max_chars)
        if column.id_like:
            return _id_fast(slow, limit, bounded=column.max_length is not None)
        return _text_fast(slow, limit, bounded=column.max_length is not None)
    if column.type == "bool":
        return _bool_fast(slow, max_chars)
    if column.type == "number":
        return _number_fast(slow, max_chars, _inside(column, on))
    if column.type == "date":
        return _date_fast(slow, _inside(column, on))
    fact = column.fact
    if fact is None:
        return _string_fast(slow, max_chars, None, {})
    labels = {said: code for said, code in enum_codes(fact).items() if not said.isascii()}
    return _string_fast(slow, max_chars, fact.values, labels)


def _relation_fast(slow: Converter, max_chars: int) -> Converter:
    def relation(value: Any) -> Any:
        if value.__class__ is str and len(value) <= max_chars:
            code = RELATION_CODES.get(value)  # exact keys are already NFKC and stripped
            if code is not None:
                return code
        return slow(value)

    return relation


def _id_fast(slow: Converter, max_chars: int, *, bounded: bool) -> Converter:
    def identifier(value: Any) -> Any:
        if (
            value.__class__ is str
            and len(value) <= max_chars
            and "e" not in value
            and "E" not in value
            and "\x00" not in value
            and (not bounded or value.isascii() or unicodedata.is_normalized("NFKC", value))
        ):
            return value.strip()  # no exponent: cannot be a number in scientific notation
        return slow(value)

    return identifier


def _text_fast(slow: Converter, max_chars: int, *, bounded: bool) -> Converter:
    def text(value: Any) -> Any:
        if (
            value.__class__ is str
            and len(value) <= max_chars
            and "\x00" not in value
            and (not bounded or unicodedata.is_normalized("NFKC", value))  # NFKC keeps its length
        ):
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


def _inside(column: Column, on: date) -> Callable[[Any], bool]:
    """A quick test that a whole number or a date is inside the column's domain."""
    fact = column.fact
    if fact is None:
        return lambda value: True
    low: int | date | Decimal | None = on if fact.minimum == "today" else fact.minimum
    high: int | date | Decimal | None = on if fact.maximum == "today" else fact.maximum
    # Whole bounds as ints: an int compares with an int faster than with a Decimal.
    low = int(low) if isinstance(low, Decimal) and low == int(low) else low
    high = int(high) if isinstance(high, Decimal) and high == int(high) else high
    if low is None and high is None:
        return lambda value: True
    if low is None:
        return lambda value: bool(value <= high)
    if high is None:
        return lambda value: bool(low <= value)
    return lambda value: bool(low <= value <= high)


def _number_fast(slow: Converter, max_chars: int, inside: Callable[[Any], bool]) -> Converter:
    def number(value: Any) -> Any:
        kind = value.__class__
        whole: Number | None = None
        if kind is float:
            if value.is_integer() and -_FLOAT_LIMIT < value < _FLOAT_LIMIT:
                whole = int(value)  # what `read_number` gives a whole float
        elif kind is int:
            whole = value
        elif kind is str and len(value) <= max_chars and value.isascii():
            try:  # whole-number text; `Decimal` reads it, and everything else, the same
                whole = int(value.replace(",", ""))
            except ValueError:
                pass
        if whole is not None and -LIMIT < whole < LIMIT and inside(whole):
            return whole
        return slow(value)  # fractions, the out-of-domain, the refused: as `convert` says

    return number


def _date_fast(slow: Converter, inside: Callable[[Any], bool]) -> Converter:
    def day(value: Any) -> Any:
        if value.__class__ is date and inside(value):
            return value
        return slow(value)

    return day


def _string_fast(
    slow: Converter, max_chars: int, allowed: tuple[str, ...] | None, labels: dict[str, str]
) -> Converter:
    """Allowed ASCII codes and exact Chinese labels (`在册`, already NFKC) answered directly."""
    codes = frozenset(allowed) if allowed is not None else None

    def string(value: Any) -> Any:
        if (
            value.__class__ is str
            and len(value) <= max_chars
            and value.isascii()
            and "\x00" not in value
        ):
            text = value.strip()  # NFKC leaves ASCII as it is
            if codes is None or text in codes:
                return text
        code = labels.get(value) if value.__class__ is str else None
        return code if code is not None else slow(value)

    return string
