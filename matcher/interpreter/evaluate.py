"""Three-valued evaluation of the expression IR over one profile's facts: the reference semantics.

Numbers are exact (`int` and `Fraction`: `rules.numbers`), never binary floats. An unknown
number or date is a `Range` — every value its fact's domain allows (`min`/`max` in facts.yaml) —
and ranges go through arithmetic, so a condition is decided whenever every value the unknowns
could take decides it the same way: a household whose known incomes already exceed the line is
ineligible without being asked for the missing one. An unknown condition is None (Kleene), and
carries the facts whose absence keeps it undecided; a decided sub-expression contributes none
(docs/rule-language.md, "Three-valued results").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from matcher.profiles.facts import Facts
from rules import ir
from rules.facts import FactValue
from rules.numbers import Exact, exact

__all__ = ["Range", "Value", "evaluate_expr", "known_number", "range_of"]

Bound = Exact | date | None  # None: unbounded on that side
Row = Mapping[str, FactValue]
_NO_MISSING: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Range:
    """An unknown number or date: some value from `lo` to `hi` (None: unbounded)."""

    lo: Bound = None
    hi: Bound = None


Value = FactValue | Range | None  # None: an unknown condition or text
Result = tuple[Value, frozenset[str]]


def evaluate_expr(expr: ir.Expr, facts: Facts, member: Row | None = None) -> Result:
    """Evaluate `expr`: (its value — exact, a `Range`, or None when unknown; the missing facts)."""
    return _Evaluator(facts).eval(expr, member)


def known_number(value: Value) -> Exact | None:
    """`value` as an exact number, or None when it is not a known number."""
    if isinstance(value, bool) or not isinstance(value, int | Fraction | Decimal):
        return None
    return exact(value)


def range_of(value: Value) -> Range:
    """Any number or date as a `Range` (a known one is a single point)."""
    if isinstance(value, Range):
        return value
    point = known_number(value)
    if point is not None:
        return Range(point, point)
    assert isinstance(value, date)
    return Range(value, value)


def _point(r: Range) -> Value:
    """A range that holds one value is that value (known: nothing to ask)."""
    if r.lo is not None and r.lo == r.hi:
        return r.lo
    return r


def _unknown(value: Value) -> bool:
    return value is None or isinstance(value, Range)


def _union(parts: Iterable[Result]) -> frozenset[str]:
    return frozenset().union(*(m for v, m in parts if _unknown(v)))


class _Evaluator:
    """One profile's facts; `eval` walks the IR."""

    def __init__(self, facts: Facts) -> None:
        self.subject = facts.subject
        self.members = facts.members

    def eval(self, e: ir.Expr, member: Row | None) -> Result:
        handler = _HANDLERS.get(type(e))
        if handler is None:
            raise ValueError(f"params are not bound in {e!r}: call CompiledPolicy.bind(on)")
        return handler(self, e, member)

    def const(self, e: ir.Const, member: Row | None) -> Result:
        value = e.value
        return (exact(value) if e.type == "number" else value), _NO_MISSING  # type: ignore[arg-type]

    def fact(self, e: ir.FactRef, member: Row | None) -> Result:
        if e.formula is not None:
            return self.eval(e.formula, None)
        source = member if e.member else self.subject
        value = source.get(e.name) if source is not None else None
        if value is not None:
            return (exact(value) if e.type == "number" else value), _NO_MISSING  # type: ignore[arg-type]
        if e.type == "number":
            low = None if e.lo is None else exact(e.lo)  # type: ignore[arg-type]
            high = None if e.hi is None else exact(e.hi)  # type: ignore[arg-type]
            return _point(Range(low, high)), e.missing_as
        if e.type == "date":
            return _point(Range(e.lo, e.hi)), e.missing_as  # type: ignore[arg-type]
        return None, e.missing_as

    def logic(self, e: ir.And | ir.Or, member: Row | None) -> Result:
        return _decide(isinstance(e, ir.Or), (self.eval(o, member) for o in e.operands))

    def negate(self, e: ir.Not, member: Row | None) -> Result:
        inner, missing = self.eval(e.operand, member)
        return (None, missing) if inner is None else (not inner, _NO_MISSING)

    def compare(self, e: ir.Compare, member: Row | None) -> Result:
        parts = [self.eval(e.left, member), self.eval(e.right, member)]
        (a, _), (b, _) = parts
        if not _unknown(a) and not _unknown(b):
            return _known_compare(e.op, a, b), _NO_MISSING
        if e.left.type in ("bool", "string") or a is None or b is None:
            return None, _union(parts)
        verdict = _range_compare(e.op, range_of(a), range_of(b))
        return verdict, (_NO_MISSING if verdict is not None else _union(parts))

    def in_set(self, e: ir.InSet, member: Row | None) -> Result:
        value, missing = self.eval(e.operand, member)
        if not _unknown(value):
            return (value in e.values) != e.negated, _NO_MISSING
        if isinstance(value, Range) and not any(_inside(exact(v), value) for v in e.values):  # type: ignore[arg-type]
            return e.negated, _NO_MISSING
        return None, missing

    def arith(self, e: ir.Arith | ir.Neg | ir.Call, member: Row | None) -> Result:
        operands = (e.left, e.right) if isinstance(e, ir.Arith) else _operands(e)
        parts = [self.eval(o, member) for o in operands]
        values = [v for v, _ in parts]
        if not any(_unknown(v) for v in values):
            return _exact_arith(e, [known_number(v) for v in values])  # type: ignore[misc]
        if isinstance(e, ir.Arith) and e.op == "/" and _is_zero(values[1]):
            return Range(), _NO_MISSING  # x / 0 is undefined: no fact can make it defined
        if isinstance(e, ir.Arith) and e.op == "**" and values[1] == 0:
            return 1, _NO_MISSING
        result = _point(_range_arith(e, [range_of(v) for v in values]))
        return result, (_union(parts) if _unknown(result) else _NO_MISSING)

    def if_else(self, e: ir.IfElse, member: Row | None) -> Result:
        cond, cond_missing = self.eval(e.cond, member)
        if cond is not None:
            return self.eval(e.then if cond else e.other, member)
        branches = [self.eval(e.then, member), self.eval(e.other, member)]
        (t, _), (o, _) = branches
        if not _unknown(t) and t == o:
            return t, _NO_MISSING
        a, b = range_of(t), range_of(o)
        hull = _point(Range(_lower(a.lo, b.lo), _upper(a.hi, b.hi)))
        return hull, cond_missing | _union(branches)

    def aggregate(self, e: ir.Aggregate, member: Row | None) -> Result:
        parts = [self.eval(e.body, row) for row in self.members]
        if e.func in ("any", "all"):
            return _decide(e.func == "any", iter(parts))
        missing = _union(parts)
        if e.func == "count":
            true = sum(1 for v, _ in parts if v is True)
            unsure = sum(1 for v, _ in parts if v is None)
            return (true, _NO_MISSING) if not unsure else (Range(true, true + unsure), missing)
        ranges = [range_of(v) for v, _ in parts]
        known = [known_number(v) for v, _ in parts]
        if not missing and all(k is not None for k in known):
            return sum((k for k in known if k is not None), 0), _NO_MISSING
        # an unknown part, or one that is undefined (x / 0) with nothing missing: its range
        low = _total(r.lo for r in ranges)
        high = _total(r.hi for r in ranges)
        total = _point(Range(low, high))
        return total, (missing if _unknown(total) else _NO_MISSING)


def _operands(e: ir.Neg | ir.Call) -> tuple[ir.Expr, ...]:
    return (e.operand,) if isinstance(e, ir.Neg) else e.args


_HANDLERS: dict[type, Callable[[_Evaluator, Any, Row | None], Result]] = {
    ir.Const: _Evaluator.const,
    ir.FactRef: _Evaluator.fact,
    ir.And: _Evaluator.logic,
    ir.Or: _Evaluator.logic,
    ir.Not: _Evaluator.negate,
    ir.Compare: _Evaluator.compare,
    ir.InSet: _Evaluator.in_set,
    ir.Arith: _Evaluator.arith,
    ir.Neg: _Evaluator.arith,
    ir.Call: _Evaluator.arith,
    ir.IfElse: _Evaluator.if_else,
    ir.Aggregate: _Evaluator.aggregate,
}


def _decide(decisive: bool, parts: Iterator[Result]) -> Result:
    """Kleene `or` (decisive=True) or `and` (False): a decisive operand settles it."""
    unknown: list[frozenset[str]] = []
    for value, missing in parts:
        if value is decisive:
            return decisive, _NO_MISSING
        if value is None:
            unknown.append(missing)
    if unknown:
        return None, frozenset().union(*unknown)
    return not decisive, _NO_MISSING


# --- known values --------------------------------------------------------------------------


def _known_compare(op: str, a: Value, b: Value) -> bool:
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op == "<":
        return a < b  # type: ignore[operator]
    if op == "<=":
        return a <= b  # type: ignore[operator]
    if op == ">":
        return a > b  # type: ignore[operator]
    return a >= b  # type: ignore[operator]


def _exact_arith(e: ir.Arith | ir.Neg | ir.Call, nums: list[Exact]) -> Result:
    if isinstance(e, ir.Neg):
        return -nums[0], _NO_MISSING
    if isinstance(e, ir.Call):
        return (min(nums) if e.func == "min" else max(nums)), _NO_MISSING
    a, b = nums
    if e.op == "+":
        return a + b, _NO_MISSING
    if e.op == "-":
        return a - b, _NO_MISSING
    if e.op == "*":
        return a * b, _NO_MISSING
    if e.op == "/":
        return (Range(), _NO_MISSING) if b == 0 else (_tidy(Fraction(a) / b), _NO_MISSING)
    return _tidy(Fraction(a) ** int(b)), _NO_MISSING


def _tidy(x: Fraction) -> Exact:
    return x.numerator if x.denominator == 1 else x


def _is_zero(value: Value) -> bool:
    return not _unknown(value) and known_number(value) == 0


# --- ranges ----------------------------------------------------------------------------------
# An endpoint is an exact number, or None: −∞ as a low end, +∞ as a high end.


def _inside(x: Exact, r: Range) -> bool:
    return (r.lo is None or r.lo <= x) and (r.hi is None or x <= r.hi)  # type: ignore[operator]


def _range_compare(op: str, a: Range, b: Range) -> bool | None:
    """The comparison if every pair of values from `a` and `b` agrees, else None."""
    if op in (">", ">="):
        return _range_compare("<" if op == ">" else "<=", b, a)
    if op in ("==", "!="):
        apart = _below(a.hi, b.lo, strict=True) or _below(b.hi, a.lo, strict=True)
        return (op == "!=") if apart else None
    strict = op == "<"
    if _below(a.hi, b.lo, strict=strict):
        return True
    if _below(b.hi, a.lo, strict=not strict):
        return False
    return None


def _below(x: Bound, y: Bound, *, strict: bool) -> bool:
    """Whether high end `x` is below low end `y` (both must be finite)."""
    if x is None or y is None:
        return False
    return x < y if strict else x <= y  # type: ignore[operator]


def _lower(a: Bound, b: Bound) -> Bound:
    return None if a is None or b is None else min(a, b)


def _upper(a: Bound, b: Bound) -> Bound:
    return None if a is None or b is None else max(a, b)


def _total(ends: Iterable[Bound]) -> Bound:
    total: Exact = 0
    for end in ends:
        if end is None:
            return None
        total += end  # type: ignore[operator]
    return total


_NEG, _FIN, _POS = -1, 0, 1
Ext = tuple[int, Exact]  # (−1 = −∞ | 0 = finite | 1 = +∞, the finite value)


def _ext(end: Bound, high: bool) -> Ext:
    if end is None:
        return (_POS if high else _NEG, 0)
    return (_FIN, end)  # type: ignore[return-value]


def _bound(x: Ext) -> Bound:
    return x[1] if x[0] == _FIN else None


def _times(x: Ext, y: Ext) -> Ext:
    if x[0] == _FIN and y[0] == _FIN:
        return (_FIN, x[1] * y[1])
    sx = x[0] if x[0] != _FIN else (x[1] > 0) - (x[1] < 0)
    sy = y[0] if y[0] != _FIN else (y[1] > 0) - (y[1] < 0)
    sign = sx * sy
    return (_FIN, 0) if sign == 0 else (sign, 0)


def _key(x: Ext) -> tuple[int, Exact]:
    return (x[0], x[1] if x[0] == _FIN else 0)


def _range_mul(a: Range, b: Range) -> Range:
    ends = [
        _times(_ext(x, hx), _ext(y, hy))
        for x, hx in ((a.lo, False), (a.hi, True))
        for y, hy in ((b.lo, False), (b.hi, True))
    ]
    low, high = min(ends, key=_key), max(ends, key=_key)
    return Range(None if low[0] == _NEG else _bound(low), None if high[0] == _POS else _bound(high))


def _reciprocal(b: Range) -> Range:
    """1 / b for a range that does not hold 0 (an unbounded end becomes 0)."""
    low = Fraction(0) if b.hi is None else 1 / Fraction(b.hi)  # type: ignore[arg-type]
    high = Fraction(0) if b.lo is None else 1 / Fraction(b.lo)  # type: ignore[arg-type]
    return Range(_tidy(low), _tidy(high))


def _power(a: Range, k: int) -> Range:
    def up(x: Bound) -> Bound:
        return None if x is None else _tidy(Fraction(x) ** k)  # type: ignore[arg-type]

    if k % 2 == 1 or (a.lo is not None and a.lo >= 0):  # type: ignore[operator]
        return Range(up(a.lo), up(a.hi))
    if a.hi is not None and a.hi <= 0:  # type: ignore[operator]
        return Range(up(a.hi), up(a.lo))
    return Range(0, None if a.lo is None or a.hi is None else max(up(a.lo), up(a.hi)))  # type: ignore[type-var]


def _range_arith(e: ir.Arith | ir.Neg | ir.Call, rs: list[Range]) -> Range:
    if isinstance(e, ir.Neg):
        (a,) = rs
        return Range(None if a.hi is None else -a.hi, None if a.lo is None else -a.lo)  # type: ignore[operator]
    if isinstance(e, ir.Call):
        pick = min if e.func == "min" else max
        lows, highs = [r.lo for r in rs], [r.hi for r in rs]
        if e.func == "min":
            low = None if None in lows else pick(lows)  # type: ignore[type-var]
            high = (
                pick(h for h in highs if h is not None)
                if any(h is not None for h in highs)
                else None
            )
        else:
            high = None if None in highs else pick(highs)  # type: ignore[type-var]
            low = (
                pick(x for x in lows if x is not None) if any(x is not None for x in lows) else None
            )
        return Range(low, high)
    a, b = rs
    if e.op == "+":
        return Range(_sum(a.lo, b.lo), _sum(a.hi, b.hi))
    if e.op == "-":
        return Range(_diff(a.lo, b.hi), _diff(a.hi, b.lo))
    if e.op == "*":
        return _range_mul(a, b)
    if e.op == "/":
        if _inside(0, b):
            return Range()
        return _range_mul(a, _reciprocal(b))
    assert b.lo is not None  # the checker allows a constant whole exponent only
    return _power(a, int(b.lo))  # type: ignore[arg-type]


def _sum(x: Bound, y: Bound) -> Bound:
    if x is None or y is None:
        return None
    assert not isinstance(x, date) and not isinstance(y, date)  # arithmetic is on numbers
    return x + y


def _diff(x: Bound, y: Bound) -> Bound:
    if x is None or y is None:
        return None
    assert not isinstance(x, date) and not isinstance(y, date)
    return x - y
