"""The vectorised engine's exact path: single rows of a chunk re-evaluated with exact numbers.

The float64 program decides most rows; a row goes through here when its float result is not proved
exact (`matcher.vector.exactness`: a value too close to a threshold or a half fen), or when an
output left unknown by the fast Kleene pass could be decided by ranges (an unknown income bounded by
its domain, a count with some members unknown: `matcher.interpreter.evaluate`). The row's facts are
read back from the columns — every number zhida stores has at most 15 significant digits, so its
float gives back the exact decimal — and the output's IR is evaluated by the interpreter's own
evaluator, so both engines agree by construction.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from matcher.interpreter.evaluate import Result, evaluate_expr
from matcher.profiles.facts import Facts
from matcher.vector.columns import Population
from rules import ir
from rules.facts import FactCatalogue, FactValue
from rules.numbers import read_number

__all__ = ["ExactRows", "needs_ranges"]

_WHOLE_LIMIT = 2.0**53


class ExactRows:
    """Exact evaluation of chosen outputs on chosen rows of one chunk."""

    def __init__(self, pop: Population, facts: FactCatalogue) -> None:
        self.pop = pop
        self.types = {name: fact.type for name, fact in facts.facts.items()}
        self._facts: dict[int, Facts] = {}

    def evaluate(self, expr: ir.Expr, row: int) -> Result:
        """`expr` (bound, unrolled of nothing) on subject row `row`, exactly."""
        facts = self._facts.get(row)
        if facts is None:
            facts = self._facts[row] = self.facts(row)
        return evaluate_expr(expr, facts)

    def facts(self, row: int) -> Facts:
        """Row `row` as the interpreter's `Facts` (read back from the columns)."""
        pop = self.pop
        subject = self._read(pop.subject, row)
        start, count = int(pop.starts[row]), int(pop.counts[row])
        members = tuple(self._read(pop.members, m) for m in range(start, start + count))
        region = str(pop.regions[row]) or None
        return Facts(subject, members, region)

    def _read(self, columns: dict[str, np.ndarray], row: int) -> dict[str, FactValue]:
        out: dict[str, FactValue] = {}
        for name, column in columns.items():
            x = float(column[row])
            if x != x:  # NaN: unknown
                continue
            out[name] = self._value(name, x)
        return out

    def _value(self, name: str, x: float) -> FactValue:
        kind = self.types.get(name, "number")
        if kind == "bool":
            return x == 1.0
        if kind == "string":
            return self.pop.vocabulary.text(int(x))
        if kind == "date":
            return date.fromordinal(int(x))
        if x == int(x) and abs(x) < _WHOLE_LIMIT:
            return int(x)
        return read_number(x)


def needs_ranges(expr: ir.Expr) -> bool:
    """Whether ranges could decide `expr` where the fast Kleene pass says unknown.

    True for arithmetic, `count`/`sum`, formulas and comparisons of two facts (ranges go
    through them), and for a fact compared with a constant, or tested with `in`, when its
    domain alone decides the test; False for logic over booleans and text, which Kleene
    logic already decides exactly as ranges would.
    """
    match expr:
        case ir.Arith() | ir.Neg() | ir.Call() | ir.IfElse():
            return True
        case ir.Aggregate(func="count" | "sum"):
            return True
        case ir.FactRef(formula=formula):
            return formula is not None
        case ir.Compare(left=a, right=b) if a.type in ("number", "date"):
            if isinstance(a, ir.Const) and isinstance(b, ir.FactRef):
                return b.formula is not None or _domain_decides(b, a)
            if isinstance(b, ir.Const) and isinstance(a, ir.FactRef):
                return a.formula is not None or _domain_decides(a, b)
            return not (isinstance(a, ir.Const) and isinstance(b, ir.Const))
        case ir.InSet(operand=ir.FactRef() as fact, values=values) if fact.type == "number":
            return fact.formula is not None or _domain_excludes(fact, values)
    return any(needs_ranges(child) for child in ir.children(expr))


def _domain_decides(fact: ir.FactRef, const: ir.Const) -> bool:
    """Whether the constant lies outside or on the edge of the fact's domain."""
    value = const.value
    return (fact.lo is not None and value <= fact.lo) or (  # type: ignore[operator]
        fact.hi is not None and value >= fact.hi  # type: ignore[operator]
    )


def _domain_excludes(fact: ir.FactRef, values: tuple[FactValue, ...]) -> bool:
    """Whether no value of an `in` list lies inside the fact's domain."""
    low, high = fact.lo, fact.hi
    return all(
        (low is not None and v < low) or (high is not None and v > high)  # type: ignore[operator]
        for v in values
    )
