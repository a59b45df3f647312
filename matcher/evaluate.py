"""Three-valued evaluation of the expression IR over one profile's facts (Kleene logic).

An unknown value is None and carries the facts whose absence made it unknown; a known
sub-expression contributes no missing facts (docs/rule-language.md, "Three-valued results").
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date

from matcher.facts import Facts
from rules import ir
from rules.facts import FactValue

Value = FactValue | None
Row = Mapping[str, FactValue]
_NO_MISSING: frozenset[str] = frozenset()


def evaluate_expr(
    expr: ir.Expr, facts: Facts, member: Row | None = None
) -> tuple[Value, frozenset[str]]:
    """Evaluate `expr` three-valued: (value, or None if unknown; the facts behind an unknown)."""
    return _eval(expr, facts.subject, member, facts.members)


def _eval(
    e: ir.Expr, subj: Row, member: Row | None, members: tuple[Row, ...]
) -> tuple[Value, frozenset[str]]:
    match e:
        case ir.Const(value=v):
            return v, _NO_MISSING
        case ir.FactRef(name=name, member=is_member):
            source = member if is_member else subj
            value = source.get(name) if source is not None else None
            return (value, _NO_MISSING) if value is not None else (None, e.missing_as)
        case ir.And(operands=ops) | ir.Or(operands=ops):
            decisive = isinstance(e, ir.Or)  # `or` is decided by a true operand, `and` by false
            return _decide(decisive, (_eval(o, subj, member, members) for o in ops))
        case ir.Not(operand=a):
            inner, m = _eval(a, subj, member, members)
            return (None, m) if inner is None else (not inner, _NO_MISSING)
        case ir.Aggregate(func="any" | "all" as func, body=body):
            return _decide(func == "any", (_eval(body, subj, row, members) for row in members))
        case ir.Aggregate(func=func, body=body):
            return _aggregate(func, [_eval(body, subj, row, members) for row in members])
        case ir.IfElse(cond=c, then=t, other=o):
            cv, cm = _eval(c, subj, member, members)
            return (None, cm) if cv is None else _eval(t if cv else o, subj, member, members)
        case ir.ParamRef(name=name):
            raise ValueError(f"params.{name} is not bound: call CompiledPolicy.bind(on) first")
    parts = [_eval(c, subj, member, members) for c in ir.children(e)]
    unknown = [m for v, m in parts if v is None]
    if unknown:
        return None, frozenset().union(*unknown)
    return _apply(e, [v for v, _ in parts]), _NO_MISSING


def _decide(
    decisive: bool, parts: Iterator[tuple[Value, frozenset[str]]]
) -> tuple[Value, frozenset[str]]:
    """Kleene `or` (decisive=True) or `and` (False): stop at the first decisive operand."""
    unknown: list[frozenset[str]] = []
    for value, missing in parts:
        if value is decisive:
            return decisive, _NO_MISSING
        if value is None:
            unknown.append(missing)
    if unknown:
        return None, frozenset().union(*unknown)
    return not decisive, _NO_MISSING


def _aggregate(
    func: str, parts: list[tuple[Value, frozenset[str]]]
) -> tuple[Value, frozenset[str]]:
    unknown = [m for v, m in parts if v is None]
    if unknown:
        return None, frozenset().union(*unknown)
    values = [v for v, _ in parts]
    return (
        sum(1 for v in values if v) if func == "count" else sum(as_number(v) for v in values)
    ), _NO_MISSING


def as_number(v: Value) -> float:
    """`v` as a number (the type checker guarantees it)."""
    assert isinstance(v, int | float)
    return v


def _apply(e: ir.Expr, vals: list[Value]) -> Value:
    match e:
        case ir.Compare(op=op):
            return _compare(op, vals[0], vals[1])
        case ir.InSet(values=options, negated=neg):
            return (vals[0] in options) != neg
        case ir.Neg():
            return -as_number(vals[0])
        case ir.Arith(op=op):
            return _arith(op, as_number(vals[0]), as_number(vals[1]))
        case ir.Call(func=func):
            nums = [as_number(v) for v in vals]
            return min(nums) if func == "min" else max(nums)
    raise TypeError(f"cannot apply {e!r}")  # pragma: no cover


def _compare(op: str, a: Value, b: Value) -> bool:
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    x, y = a, b
    assert isinstance(x, int | float | date) and isinstance(
        y, type(x) if isinstance(x, date) else int | float
    )
    if op == "<":
        return x < y  # type: ignore[operator]
    if op == "<=":
        return x <= y  # type: ignore[operator]
    if op == ">":
        return x > y  # type: ignore[operator]
    return x >= y  # type: ignore[operator]


def _arith(op: str, a: float, b: float) -> Value:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return None if b == 0 else a / b
    try:
        return float(a**b)
    except OverflowError:
        return None
