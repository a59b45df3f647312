"""The expression IR compiled to a flat program of array steps, shared sub-expressions once.

A step works on a whole chunk at once, at the subject level ("s": one row per household or
enterprise) or the member level ("m"). Booleans are Kleene values in uint8 (F=0, U=1, T=2, so
`and` is min and `or` is max); every other value is float64 with NaN for unknown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from rules import ir

Level = Literal["s", "m", "c"]  # subject rows, member rows, a constant
Kind = Literal["b", "v"]  # Kleene boolean, or float value


@dataclass(frozen=True)
class Step:
    """One array operation: `op` over the results of the steps in `args`."""

    op: str
    args: tuple[int, ...]
    level: Level
    kind: Kind
    data: object = None


@dataclass
class Program:
    """Steps in dependency order; `compile` returns the index of the step holding a result."""

    steps: list[Step] = field(default_factory=list)
    index: dict[Step, int] = field(default_factory=dict)
    missing_names: list[str] = field(default_factory=list)
    decoded: dict[bytes, tuple[str, ...]] = field(default_factory=dict)  # mask → names

    def add(self, step: Step) -> int:
        """The index of `step`, reusing an identical one compiled before."""
        found = self.index.get(step)
        if found is None:
            found = self.index[step] = len(self.steps)
            self.steps.append(step)
        return found

    def bit(self, name: str) -> int:
        """The bit that stands for missing fact `name`."""
        if name not in self.missing_names:
            self.missing_names.append(name)
        return self.missing_names.index(name)

    def compile(self, expr: ir.Expr, level: Level = "s") -> int:
        """Compile `expr` evaluated at `level`; booleans come out as Kleene values."""
        slot = self._value(expr, level)
        if expr.type == "bool" and self.steps[slot].kind == "v":
            return self.add(Step("truthy", (slot,), self.steps[slot].level, "b"))
        return slot

    def _lift(self, slot: int, level: Level) -> int:
        step = self.steps[slot]
        if step.level == "s" and level == "m":
            return self.add(Step("bcast", (slot,), "m", step.kind))
        return slot

    def _join(self, slots: tuple[int, ...]) -> tuple[tuple[int, ...], Level]:
        levels = {self.steps[s].level for s in slots} - {"c"}
        level: Level = "m" if "m" in levels else ("s" if levels else "c")
        if level == "c":
            return slots, level
        return tuple(self._lift(s, level) for s in slots), level

    def _value(self, e: ir.Expr, level: Level) -> int:
        match e:
            case ir.Const(value=v, type=t):
                return self.add(Step("const", (), "c", "v", (v, t)))
            case ir.FactRef(formula=formula) if formula is not None:
                return self._lift(self._value(formula, "s"), level)
            case ir.FactRef(name=name, member=member, type=fact_type):
                for asked in sorted(e.missing_as):
                    self.bit(asked)
                missing = tuple(sorted(e.missing_as))
                low, high = _end(e.lo, -math.inf), _end(e.hi, math.inf)
                data = (name, missing, fact_type, low, high)
                fact = self.add(Step("fact", (), "m" if member else "s", "v", data))
                return self._lift(fact, level)
            case ir.Compare(op=op, left=a, right=b) if a.type == "bool":
                # booleans compare as values: T → 1.0, F → 0.0, U → NaN
                sides = tuple(
                    self.add(Step("kval", (k,), self.steps[k].level, "v"))
                    for k in (self.compile(a, level), self.compile(b, level))
                )
                joined, lvl = self._join(sides)
                equal = self.add(Step("cmp", joined, lvl, "b", "=="))
                return equal if op == "==" else self.add(Step("not", (equal,), lvl, "b"))
            case ir.Compare(op=op, left=a, right=b):
                if op == "!=":
                    equal = self._node("cmp", (a, b), "b", "==", level)
                    return self.add(Step("not", (equal,), self.steps[equal].level, "b"))
                return self._node("cmp", (a, b), "b", op, level)
            case ir.InSet(operand=a, values=values, negated=neg):
                slot = self._node("in", (a,), "b", values, level)
                if neg:
                    return self.add(Step("not", (slot,), self.steps[slot].level, "b"))
                return slot
            case ir.And(operands=ops) | ir.Or(operands=ops):
                return self._node(
                    "and" if isinstance(e, ir.And) else "or", ops, "b", None, level, boolean=True
                )
            case ir.Not(operand=a):
                return self._node("not", (a,), "b", None, level, boolean=True)
            case ir.Arith(op=op, left=a, right=b):
                return self._node("arith", (a, b), "v", op, level)
            case ir.Neg(operand=a):
                return self._node("neg", (a,), "v", None, level)
            case ir.Call(func=func, args=args):
                return self._node(func, args, "v", None, level)
            case ir.IfElse(cond=c, then=t, other=o):
                cond = self.compile(c, level)
                (cs, ts, os_), lvl = self._join(
                    (cond, self._value(t, level), self._value(o, level))
                )
                return self.add(Step("if", (cs, ts, os_), lvl, "v"))
            case ir.Aggregate(func=func, body=body):
                inner = self._lift(self.compile(body, "m"), "m")
                kind: Kind = "b" if func in ("any", "all") else "v"
                return self.add(Step("agg", (inner,), "s", kind, func))
        raise TypeError(f"cannot compile {e!r}")  # pragma: no cover

    def _node(
        self,
        op: str,
        children: tuple[ir.Expr, ...],
        kind: Kind,
        data: object,
        level: Level,
        *,
        boolean: bool = False,
    ) -> int:
        slots = tuple(
            self.compile(c, level) if boolean else self._value(c, level) for c in children
        )
        joined, lvl = self._join(slots)
        return self.add(Step(op, joined, lvl, kind, data))


def _end(bound: object, default: float) -> float:
    """A domain end as the columns hold it (dates as ordinals; None: unbounded)."""
    if bound is None:
        return default
    if isinstance(bound, date):
        return float(bound.toordinal())
    return float(bound)  # type: ignore[arg-type]
