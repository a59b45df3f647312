"""Numbers are read once, exactly, and an amount is rounded once, to the fen, half up."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from rules.errors import Location
from rules.expr import Scope, parse
from rules.facts import FactCatalogue
from rules.ir import Const
from rules.numbers import NumberError, fen_text, read_number, to_fen
from rules.yaml_safe import load_text

FACTS = FactCatalogue.model_validate({"facts": {}})


@pytest.mark.parametrize(
    ("given", "read"),
    [
        (0.1 + 0.2, Decimal("0.3")),  # a spreadsheet's float, read as the cell shows it
        (300.02, Decimal("300.02")),
        (600.0, 600),
        (Decimal("12.50"), Decimal("12.5")),
        (5, 5),
        (1e-5, Decimal("0.00001")),
        (999_999_999_999_999, 999_999_999_999_999),
    ],
)
def test_numbers_are_read_as_the_decimals_they_show(given: object, read: object) -> None:
    """A float becomes the decimal it shows; whole numbers become ints; nothing else changes."""
    got = read_number(given)
    assert got == read and type(got) is type(read)


@pytest.mark.parametrize(
    ("given", "says"),
    [
        (1e30, "过大"),
        (99_999_999_999_999_999_999, "过大"),  # a bank-card number in an income cell
        (10**5000, "约 5,000 位的整数"),
        (Decimal("1E+999999999"), "过大"),
        (Decimal("1.2345678901234567"), "有效数字超过 15 位"),
        (Decimal("1.00000000000000000000000000001"), "有效数字超过 15 位"),
        (1e-20, "过小"),
        (float("nan"), "不是有限的数"),
        (Decimal("sNaN"), "不是有限的数"),
        ("12", "不是数字"),
        (True, "不是数字"),
    ],
    ids=lambda v: v if isinstance(v, str) else type(v).__name__,
)
def test_numbers_that_cannot_be_held_exactly_are_refused(given: object, says: str) -> None:
    """Too large, too small, too many digits, not finite, not a number: a Chinese message."""
    with pytest.raises(NumberError, match=says):
        read_number(given)


@pytest.mark.parametrize(
    ("value", "fen"),
    [
        (Fraction(37035, 1000), "37.04"),  # 0.3 × 123.45: a half fen rounds up
        (Fraction(37025, 1000), "37.03"),  # not to even
        (Decimal("-2.345"), "-2.35"),  # away from zero
        (Fraction(2000, 3), "666.67"),
        (Fraction(1, 300), "0.00"),
        (8, "8.00"),
    ],
)
def test_an_amount_is_rounded_once_to_the_fen_half_up(value: object, fen: str) -> None:
    """四舍五入 to the fen, whatever the exact value's form; JSON carries it as text."""
    assert to_fen(value) == Decimal(fen)  # type: ignore[arg-type]
    assert fen_text(to_fen(value)) == fen  # type: ignore[arg-type]


def test_rule_files_and_expressions_read_decimals_exactly() -> None:
    """A parameter `0.4556` and a literal `0.4556` are that decimal, not the nearest float."""
    data = load_text("price: 0.4556\nrate: 0.3\nwhole: 15\n", "t.yaml").data
    assert data == {"price": Decimal("0.4556"), "rate": Decimal("0.3"), "whole": 15}
    expr = parse("0.4556", Scope(FACTS, "household"), Location("t", 1, 1))
    assert expr == Const(Decimal("0.4556"), "number")
    assert Fraction(expr.value) * 15 == Fraction(6834, 1000)  # type: ignore[arg-type]


def test_a_number_a_rule_file_cannot_hold_exactly_is_refused_where_it_is_written() -> None:
    """A 20-digit literal in an expression is an error at its file:line:col."""
    from rules.errors import ExpressionError

    with pytest.raises(ExpressionError, match="cannot be held exactly") as caught:
        parse("1 + 0.12345678901234567890", Scope(FACTS, "household"), Location("t", 3, 10))
    assert str(caught.value.location) == "t:3:14"
