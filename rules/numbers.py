"""Exact numbers and money: the one place where a number is read, and the one rounding.

Every number zhida reads (a rule file's parameter or literal, a profile's fact, a sheet's cell)
becomes an `int` or a `Decimal` of at most `SIGNIFICANT` significant digits; arithmetic runs on
exact rationals (`Fraction`), so a per-capita income a fraction of a fen below a standard is
below it; an amount is rounded once, at the end, to the fen, half up (四舍五入: a half fen
rounds away from zero) by `to_fen` — the only rounding in every engine, the store, the sheets
and the JSON (docs/rule-language.md, "Numbers and money").
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

__all__ = [
    "FEN",
    "LIMIT",
    "SIGNIFICANT",
    "Exact",
    "Number",
    "NumberError",
    "exact",
    "fen_text",
    "from_fen",
    "read_number",
    "to_fen",
    "to_fen_int",
]

SIGNIFICANT = 15  # what a double holds exactly, and what a spreadsheet shows
LIMIT = 10**15  # no number zhida holds is this large: past it a double no longer counts by ones
FEN = Decimal("0.01")
Number = int | Decimal  # a number as read: whole, or an exact decimal
Exact = int | Fraction  # a number being computed with


class NumberError(ValueError):
    """A value that is not a number zhida can hold exactly; the message says why (Chinese)."""


def read_number(value: object) -> Number:
    """A number as zhida holds it: `int`, or a `Decimal` of at most 15 significant digits.

    A binary float (a spreadsheet cell, a JSON number) is read as the shortest decimal that
    round-trips (`repr`), then to 15 significant digits, as a spreadsheet shows it: the cell
    `0.1 + 0.2` is 0.3. A whole number or decimal written with more significant digits than
    that (an ID or bank-card number pasted into a number column) is refused, not rounded, and
    so is anything of 10^15 or more (`1e30`), or below 10^-15 but not 0.

    Raises:
        NumberError: not a number, not finite, too large or too small, or more than 15
            significant digits.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise NumberError(f"不是数字：{value!r}")
    if isinstance(value, int):
        if abs(value) >= LIMIT:
            raise _too_large(value)
        if len(str(abs(value)).rstrip("0")) > SIGNIFICANT:
            raise NumberError(f"{value} 的有效数字超过 {SIGNIFICANT} 位，无法精确保存")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NumberError(f"不是有限的数：{value}")
        _check_magnitude(value)
        shown = Decimal(repr(value))
        if len(shown.as_tuple().digits) > SIGNIFICANT:
            shown = round(shown, SIGNIFICANT - shown.adjusted() - 1)
        return _plain(shown)
    if not value.is_finite():
        raise NumberError(f"不是有限的数：{value}")
    _check_magnitude(value)
    digits = "".join(map(str, value.as_tuple().digits)).strip("0")  # not `normalize`: it rounds
    if len(digits) > SIGNIFICANT:
        raise NumberError(f"{_long(value)} 的有效数字超过 {SIGNIFICANT} 位，无法精确保存")
    return _plain(value)


def _check_magnitude(value: float | Decimal) -> None:
    """Refuse 10^15 and more, and what is not 0 but below 10^-15 (no benefit counts it)."""
    if isinstance(value, float):
        large, small = abs(value) >= LIMIT, value != 0 and abs(value) < 1e-15
    else:  # by exponent: `abs` of Decimal("1E+999999999") overflows the context
        large = value != 0 and value.adjusted() >= SIGNIFICANT
        small = value != 0 and value.adjusted() < -SIGNIFICANT
    if large:
        raise _too_large(value)
    if small:
        raise NumberError(f"{_rough(value)} 过小：不为 0 的数值须不小于 10 的 −15 次方")


def _too_large(value: int | float | Decimal) -> NumberError:
    return NumberError(
        f"{_rough(value)} 过大：数值须小于 10 的 15 次方（是否把证件号、账号填进了数字列？）"
    )


def _long(value: Decimal) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "…"


def _rough(value: int | float | Decimal) -> str:
    """A number of any size, briefly (`1e+30`, `一个 4,300 位的整数`)."""
    if isinstance(value, int) and value.bit_length() > 1000:
        return f"一个约 {int(value.bit_length() * 0.30103):,} 位的整数"
    as_float = float(value)
    if math.isfinite(as_float) and (as_float != 0 or value == 0):
        return f"{as_float:.3g}"
    return f"{Decimal(value):.3e}"  # beyond a double: 1E+999999999


def _plain(value: Decimal) -> Number:
    """A whole decimal as `int` (`600.0` → 600), any other as a normalised `Decimal`."""
    if value == value.to_integral_value():
        return int(value)
    return value.normalize()


def exact(value: int | Decimal | Fraction | float) -> Exact:
    """A number as an exact rational for arithmetic (`Decimal("0.3")` → 3/10; a binary float
    is first read as the decimal it shows, by `read_number`)."""
    if isinstance(value, int | Fraction):
        return value
    if isinstance(value, float):
        value = read_number(value)
        if isinstance(value, int):
            return value
    ratio = Fraction(value)
    return ratio.numerator if ratio.denominator == 1 else ratio


def to_fen_int(value: int | Decimal | Fraction) -> int:
    """`value` in whole fen, rounded half up (a half fen away from zero)."""
    ratio = Fraction(value) * 100
    whole, rest = divmod(abs(ratio.numerator), ratio.denominator)
    if 2 * rest >= ratio.denominator:
        whole += 1
    return whole if ratio >= 0 else -whole


def from_fen(fen: int) -> Decimal:
    """Whole fen as yuan with two places (`30002` → `Decimal("300.02")`)."""
    return Decimal(fen).scaleb(-2).quantize(FEN)


def to_fen(value: int | Decimal | Fraction) -> Decimal:
    """`value` rounded once to the fen, half up: the only rounding of an amount.

    >>> to_fen(Fraction(37035, 1000)), to_fen(Decimal("-2.345")), to_fen(8)
    (Decimal('37.04'), Decimal('-2.35'), Decimal('8.00'))
    """
    if isinstance(value, Decimal):
        return value.quantize(FEN, rounding=ROUND_HALF_UP)
    return from_fen(to_fen_int(value))


def fen_text(amount: Decimal | None) -> str | None:
    """An amount as JSON carries it: a string with two places (`"300.02"`), or None."""
    return None if amount is None else str(amount.quantize(FEN, rounding=ROUND_HALF_UP))
