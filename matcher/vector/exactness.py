"""Proof that the vectorised engine's float64 arithmetic gave the exact answer, row by row.

The vectorised engine computes in float64 for speed; the exact semantics is rational
(`matcher.interpreter.evaluate`). Alongside each value step this module carries two numbers for the
whole chunk: M, a bound on |value|, and E, a bound on |float value − exact value| (a running error
analysis: every input decimal is within half an ulp of its float, every operation adds at most half
an ulp of its result). Wherever the float result could differ from the exact one — two sides of a
comparison closer than their error bounds, an amount within its error bound of a half fen, a divisor
within its error of zero — the row is *fragile*, and the engine recomputes it exactly
(`matcher.vector.exact_rows`). Everywhere else the float answer is proved equal to the exact one.
Integer facts (ages, counts, grades) and exactly representable constants carry E = 0, so most
comparisons are proved without looking at a row.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "EXACT_ZERO",
    "SAFETY",
    "UNIT",
    "Bound",
    "amount_fen",
    "const_bound",
    "division_bound",
    "fact_bound",
    "range_fact_bound",
    "step_bound",
    "unsure",
]

UNIT = 2.0**-53  # the unit roundoff of float64
SAFETY = 1.0 + 16 * UNIT  # the error bound's own rounding, and then some
_DIGITS = 1e-14  # a float's distance from its 15-significant-digit decimal, relative, with room
_FEN_LIMIT = 2.0**50  # beyond this many fen a float no longer resolves a half fen
Array = Any
Rows = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Bound:
    """For a whole column: M ≥ |value|, E ≥ |float value − exact value|, and whether every
    value is a whole number (whole numbers below 2^53 add and multiply exactly)."""

    magnitude: float
    error: float
    whole: bool = False

    @property
    def exact(self) -> bool:
        """Whether the floats are the exact values."""
        return self.error == 0.0


EXACT_ZERO = Bound(0.0, 0.0, True)


def const_bound(value: object) -> Bound:
    """A constant: exact when its float is exactly its decimal value."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | Fraction):
        return EXACT_ZERO  # codes, ordinals: exact
    as_float = float(value)
    error = 0.0 if Fraction(as_float) == Fraction(value) else UNIT * abs(as_float)
    return Bound(abs(as_float), error, error == 0.0 and as_float == int(as_float))


def fact_bound(column: npt.NDArray[np.float64], number: bool) -> Bound:
    """A fact column: its floats are exact when they are whole (and small) or not numbers.

    Otherwise a number's exact value is its float read to 15 significant digits
    (`rules.numbers.read_number`), at most half a unit of the 15th digit away: 5·10⁻¹⁵ of it.
    """
    known = column[~np.isnan(column)]
    if known.size == 0:
        return EXACT_ZERO
    magnitude = float(np.abs(known).max())
    if not number or (magnitude < 2.0**53 and bool((known == np.floor(known)).all())):
        return Bound(magnitude, 0.0, True)
    return Bound(magnitude, _DIGITS * magnitude)


def range_fact_bound(
    column: npt.NDArray[np.float64], number: bool, low: float, high: float
) -> Bound:
    """A fact column whose unknown cells stand for their domain [low, high] (±∞: unbounded)."""
    known = fact_bound(column, number)
    ends = [abs(x) for x in (low, high) if np.isfinite(x)]
    if not ends:
        return known
    magnitude = max(known.magnitude, *ends)
    whole = known.whole and all(float(x).is_integer() for x in ends) and magnitude < 2.0**53
    if not number or whole:
        return Bound(magnitude, 0.0, True)
    return Bound(magnitude, _DIGITS * magnitude)


def step_bound(op: str, data: object, args: list[Bound], widest: int) -> Bound:
    """The bound of a value step from its arguments' (see the module docstring).

    Args:
        op: the step's operation (`arith`, `neg`, `min`, `max`, `if`, `agg`, `bcast`).
        data: the step's data (the arithmetic operator, the aggregate).
        args: the bounds of the step's value arguments (a condition's is ignored for `if`).
        widest: the most members any household of the chunk has (for `sum`).
    """
    if op in ("bcast", "neg"):
        return args[0]
    if op in ("min", "max", "if"):
        values = args[-2:] if op == "if" else args
        return Bound(
            max(b.magnitude for b in values),
            max(b.error for b in values),
            all(b.whole for b in values),
        )
    if op == "agg":
        if data == "count":
            return Bound(float(widest), 0.0, True)
        a = args[0]
        magnitude = widest * a.magnitude
        if a.whole and a.exact and magnitude < 2.0**53:
            return Bound(magnitude, 0.0, True)
        return Bound(magnitude, widest * a.error + _rounding(magnitude, widest))
    if op == "arith":
        return _arith_bound(str(data), args[0], args[1])
    return EXACT_ZERO


def _rounding(magnitude: float, steps: int = 1) -> float:
    """What `steps` roundings of results up to `magnitude` can add (0 for whole numbers)."""
    return steps * UNIT * magnitude


def _arith_bound(op: str, a: Bound, b: Bound) -> Bound:
    whole = a.whole and b.whole and a.exact and b.exact
    if op in ("+", "-"):
        magnitude = a.magnitude + b.magnitude
        if whole and magnitude < 2.0**53:
            return Bound(magnitude, 0.0, True)
        return Bound(magnitude, a.error + b.error + _rounding(magnitude))
    if op == "*":
        magnitude = a.magnitude * b.magnitude
        if whole and magnitude < 2.0**53:
            return Bound(magnitude, 0.0, True)
        error = (a.magnitude + a.error) * b.error + (b.magnitude + b.error) * a.error
        return Bound(magnitude, error + _rounding(magnitude))
    if op == "**":
        k = int(b.magnitude)
        magnitude = a.magnitude**k
        if (a.whole and a.exact and magnitude < 2.0**53) or k == 0:
            return Bound(magnitude, 0.0, a.whole or k == 0)
        error = (a.magnitude + a.error) ** k - magnitude
        return Bound(magnitude, error + _rounding(magnitude, max(k, 1)))
    return Bound(np.inf, np.inf)  # division: `division_bound` needs the divisor's values


def division_bound(a: Bound, b: Bound, divisor: Array) -> tuple[Bound, Rows | None]:
    """a / b, and the rows where the divisor could be zero exactly but not in float (or the
    reverse): those are fragile."""
    known = np.abs(divisor[~np.isnan(divisor) & (divisor != 0)])
    smallest = float(known.min()) if known.size else 1.0
    if smallest <= b.error * SAFETY:
        return Bound(np.inf, np.inf), None
    magnitude = a.magnitude / smallest
    error = (a.error + magnitude * b.error) / (smallest - b.error) + _rounding(magnitude)
    near_zero = None
    if b.error:
        near_zero = np.abs(divisor) <= b.error * SAFETY
    return Bound(magnitude, error), near_zero


def unsure(a: Array, b: Array, bound_a: Bound, bound_b: Bound) -> Rows | None:
    """Rows where `a` and `b` are closer than their errors allow telling them apart (None when
    both are exact)."""
    total = (bound_a.error + bound_b.error) * SAFETY
    if total == 0.0:
        return None
    with np.errstate(invalid="ignore"):
        return np.asarray(np.abs(np.asarray(a) - np.asarray(b)) <= total)


def amount_fen(values: npt.NDArray[np.float64], bound: Bound) -> tuple[Array, Rows]:
    """Amounts in whole fen (half up, away from zero) and the rows where that is not proved."""
    with np.errstate(invalid="ignore"):
        cents = np.abs(values) * 100.0
        whole = np.floor(cents)
        part = cents - whole  # exact for floats
        fen = np.where(part >= 0.5, whole + 1.0, whole) * np.sign(values)
        margin = (100.0 * bound.error + UNIT * cents) * SAFETY
        fragile = (np.abs(part - 0.5) <= margin) | (cents >= _FEN_LIMIT)
    known = ~np.isnan(values)
    return np.where(known, fen, np.nan), fragile & known
