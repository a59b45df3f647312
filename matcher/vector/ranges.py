"""The vectorised engine's range pass: unknown numbers as ranges over their domains, and the
facts still missing, for the rows that need them — the interpreter's semantics on arrays.

The fast pass (`arrays.evaluate`) treats an unknown value as "anything" (Kleene logic with NaN).
That is exactly the semantics for logic over booleans and text, but ranges decide more: an unknown
income lies in [min, max] of its domain, a count with members unknown lies between the known count
and that plus the unknown ones (`matcher.interpreter.evaluate`). This pass evaluates the program
again on the rows that need it, each value step as a pair of float64 arrays (lo, hi), each condition
three-valued, and carries, beside every step, the bitmask of the facts whose absence keeps it
undecided (the union of its undecided parts'; a decided step carries none).

It is proved like the fast pass (`matcher.vector.exactness`): a bound on the error of every finite
end; a row where a decision came within that bound of going the other way, or a range within
it of collapsing to a point, is *fragile* and left to the exact path (`matcher.vector.exact_rows`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from matcher.vector.arrays import (
    Array,
    F,
    Fragility,
    Masks,
    T,
    U,
    constant,
    reachable,
    reduce_members,
)
from matcher.vector.columns import Population
from matcher.vector.exactness import (
    EXACT_ZERO,
    SAFETY,
    Bound,
    const_bound,
    division_bound,
    range_fact_bound,
    step_bound,
)
from matcher.vector.program import Program, Step

__all__ = ["RangePass", "evaluate_ranges"]

RowIds = npt.NDArray[np.int64]
_INF = np.inf


@dataclass
class _Value:
    lo: Array
    hi: Array
    touched: Array  # rows where an unknown fact feeds this value
    bound: Bound = EXACT_ZERO
    zero: Array = False  # a division by exactly 0: undefined, and no fact can change that


@dataclass
class RangePass:
    """What the range pass found, for the rows of the population it was given."""

    kleene: dict[int, Array] = field(default_factory=dict)  # condition outputs: F/U/T
    lo: dict[int, Array] = field(default_factory=dict)  # value outputs
    hi: dict[int, Array] = field(default_factory=dict)
    bounds: dict[int, Bound] = field(default_factory=dict)
    masks: dict[int, Masks] = field(default_factory=dict)  # every output: missing facts
    fragile: dict[int, RowIds] = field(default_factory=dict)  # output → rows not proved


def evaluate_ranges(
    program: Program, pop: Population, outputs: Iterable[int], *, masks: bool = True
) -> RangePass:
    """The outputs over `pop` with ranges for unknown values, their masks (unless `masks` is
    False: the engine's own passes need values only) and fragile rows."""
    wanted = list(outputs)
    run = _Run(program, pop, masks=masks)
    for i in reachable(program, wanted):
        run.step(i)
    out = RangePass(fragile={o: r for o in wanted if (r := run.doubt.fragile.get(o)) is not None})
    zero = np.zeros((pop.size, run.words), np.uint64)
    for o in wanted:
        value = run.values[o]
        size = pop.size
        if isinstance(value, _Value):
            out.lo[o] = np.broadcast_to(value.lo, (size,)).astype(np.float64)
            out.hi[o] = np.broadcast_to(value.hi, (size,)).astype(np.float64)
            out.bounds[o] = value.bound
        else:
            out.kleene[o] = np.broadcast_to(value, (size,)).astype(np.uint8)
        if not masks:
            continue
        mask = run.masks.get(o)
        out.masks[o] = zero if mask is None else np.broadcast_to(mask, (size, run.words))
    return out


class _Run:
    """One pass: every step's value (a `_Value`, or a Kleene array) and mask."""

    def __init__(self, program: Program, pop: Population, *, masks: bool = True) -> None:
        self.program, self.pop, self.with_masks = program, pop, masks
        self.words = max(1, (len(program.missing_names) + 63) // 64)
        self.values: dict[int, Any] = {}
        self.masks: dict[int, Masks | None] = {}
        self.doubt = Fragility(pop)
        self.widest = int(pop.counts.max()) if pop.size else 0

    def rows(self, level: str) -> int:
        return self.pop.member_count if level == "m" else self.pop.size

    def mark(self, rows: Array, level: str) -> None:
        """This step doubts `rows` (see `arrays.Fragility`)."""
        self.doubt.mark(rows, level)

    def step(self, i: int) -> None:
        step = self.program.steps[i]
        args = [self.values[a] for a in step.args]
        with np.errstate(all="ignore"):
            value = getattr(self, f"_{step.op}")(step, args)
        self.values[i] = value
        if self.with_masks:
            self.masks[i] = self._mask(step, i, value)
        self.doubt.close(i, step.args)

    # --- values ---------------------------------------------------------------------------

    def _const(self, step: Step, args: list[Any]) -> _Value:
        raw = cast(tuple[object, str], step.data)[0]
        x = constant(raw, self.pop)
        return _Value(x, x, np.bool_(False), const_bound(raw))

    def _fact(self, step: Step, args: list[Any]) -> _Value:
        name, _, kind, low, high = cast(tuple[str, Any, str, float, float], step.data)
        table = self.pop.members if step.level == "m" else self.pop.subject
        column = table.get(name)
        if column is None:
            column = np.full(self.rows(step.level), np.nan)
        unknown = np.isnan(column)
        if kind == "bool":
            low, high = 0.0, 1.0
        lo = np.where(unknown, low, column)
        hi = np.where(unknown, high, column)
        return _Value(lo, hi, unknown, range_fact_bound(column, kind == "number", low, high))

    def _bcast(self, step: Step, args: list[Any]) -> Any:
        (a,) = args
        at = self.pop.member_of
        if isinstance(a, _Value):
            return _Value(_at(a.lo, at), _at(a.hi, at), _at(a.touched, at), a.bound)
        return _at(a, at)

    def _kval(self, step: Step, args: list[Any]) -> _Value:
        (k,) = args
        lo = np.where(k == T, 1.0, 0.0)
        hi = np.where(k == F, 0.0, 1.0)
        return _Value(lo, hi, k == U, EXACT_ZERO)

    def _neg(self, step: Step, args: list[Any]) -> _Value:
        (a,) = args
        return _Value(-a.hi, -a.lo, a.touched, a.bound)

    def _min(self, step: Step, args: list[Any]) -> _Value:
        return self._pick(step, args, np.minimum)

    def _max(self, step: Step, args: list[Any]) -> _Value:
        return self._pick(step, args, np.maximum)

    def _pick(self, step: Step, args: list[Any], fn: Any) -> _Value:
        lo, hi, touched = args[0].lo, args[0].hi, args[0].touched
        for a in args[1:]:
            lo, hi, touched = fn(lo, a.lo), fn(hi, a.hi), touched | a.touched
        bound = step_bound(step.op, step.data, [a.bound for a in args], self.widest)
        # each end is one operand's end: the result collapses to a point only where the
        # operands' ends meet, which `_near_ends` checks
        self._near_ends(args, bound, step.level)
        return _Value(lo, hi, touched, bound)

    def _if(self, step: Step, args: list[Any]) -> _Value:
        c, t, o = args
        lo = np.where(c == T, t.lo, np.where(c == F, o.lo, np.minimum(t.lo, o.lo)))
        hi = np.where(c == T, t.hi, np.where(c == F, o.hi, np.maximum(t.hi, o.hi)))
        bound = step_bound("if", None, [t.bound, o.bound], self.widest)
        touched = (c == U) | t.touched | o.touched
        self._near_ends([t, o], bound, step.level, where=c == U)
        return _Value(lo, hi, touched, bound)

    def _arith(self, step: Step, args: list[Any]) -> _Value:
        a, b = args
        op = str(step.data)
        touched = a.touched | b.touched
        if op == "+":
            lo, hi = a.lo + b.lo, a.hi + b.hi
        elif op == "-":
            lo, hi = a.lo - b.hi, a.hi - b.lo
        elif op == "*":
            lo, hi = _times(a.lo, a.hi, b.lo, b.hi)
        elif op == "/":
            return self._divide(step, a, b)
        else:
            lo, hi = _power(a.lo, a.hi, int(b.lo))
        bound = step_bound("arith", op, [a.bound, b.bound], self.widest)
        return self._checked(_Value(lo, hi, touched, bound), step.level)

    def _divide(self, step: Step, a: _Value, b: _Value) -> _Value:
        zero = (b.lo == 0) & (b.hi == 0)  # undefined: no fact can make it defined
        spans = (b.lo <= 0) & (b.hi >= 0)
        quotients = [x / y for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
        clean = [np.where(np.isnan(q), 0.0, q) for q in quotients]
        odd = np.zeros(np.broadcast(*quotients).shape, bool)
        for q in quotients:
            odd |= np.isnan(q)  # ∞/∞: the quotient could be anything
        lo = np.where(spans | odd, -_INF, np.minimum.reduce(clean))
        hi = np.where(spans | odd, _INF, np.maximum.reduce(clean))
        ends = np.concatenate([np.ravel(b.lo), np.ravel(b.hi)])
        bound, _ = division_bound(a.bound, b.bound, ends[np.isfinite(ends)])
        if b.bound.error:  # an end within its error of 0: 0 might lie inside, or not
            limit = b.bound.error * SAFETY
            self.mark((np.abs(b.lo) <= limit) | (np.abs(b.hi) <= limit), step.level)
        value = _Value(lo, hi, a.touched | b.touched | zero, bound, zero)
        return self._checked(value, step.level)

    def _agg(self, step: Step, args: list[Any]) -> Any:
        (x,) = args
        func = str(step.data)
        pop = self.pop
        if func in ("any", "all"):
            body = x if np.ndim(x) else np.full(pop.member_count, x, np.uint8)
            fn, empty = (np.maximum, F) if func == "any" else (np.minimum, T)
            return reduce_members(fn, body, pop, empty).astype(np.uint8)
        if func == "count":
            body = x if np.ndim(x) else np.full(pop.member_count, x, np.uint8)
            known = reduce_members(np.add, (body == T).astype(np.float64), pop, 0.0)
            unsure = reduce_members(np.add, (body == U).astype(np.float64), pop, 0.0)
            return _Value(known, known + unsure, unsure > 0, Bound(float(self.widest), 0.0, True))
        lo = x.lo if np.ndim(x.lo) else np.full(pop.member_count, x.lo)
        hi = x.hi if np.ndim(x.hi) else np.full(pop.member_count, x.hi)
        touched = np.broadcast_to(x.touched, (pop.member_count,)).astype(np.uint8)
        bound = step_bound("agg", "sum", [x.bound], self.widest)
        value = _Value(
            reduce_members(np.add, lo, pop, 0.0),
            reduce_members(np.add, hi, pop, 0.0),
            reduce_members(np.maximum, touched, pop, 0) > 0,
            bound,
        )
        return self._checked(value, "s")

    def _checked(self, v: _Value, level: str) -> _Value:
        """Mark rows whose range is within its error of collapsing to a point (or of not)."""
        if v.bound.error:
            width = v.hi - v.lo
            self.mark(v.touched & (width <= 2 * v.bound.error * SAFETY), level)
        return v

    def _near_ends(self, args: list[_Value], bound: Bound, level: str, where: Array = True) -> None:
        """min/max/hull: rows where two ends are within the error of each other."""
        if not bound.error:
            return
        limit = 2 * bound.error * SAFETY
        for i, a in enumerate(args):
            for b in args[i + 1 :]:
                near = (np.abs(a.lo - b.lo) <= limit) | (np.abs(a.hi - b.hi) <= limit)
                self.mark(near & where & ((a.lo != b.lo) | (a.hi != b.hi)), level)

    # --- conditions -----------------------------------------------------------------------

    def _truthy(self, step: Step, args: list[Any]) -> Array:
        (a,) = args
        return np.where(
            (a.lo == 1.0) & (a.hi == 1.0), T, np.where((a.lo == 0.0) & (a.hi == 0.0), F, U)
        ).astype(np.uint8)

    def _cmp(self, step: Step, args: list[Any]) -> Array:
        a, b = args
        op = str(step.data)
        if op in (">", ">="):
            a, b, op = b, a, "<" if op == ">" else "<="
        if op == "==":
            true = (a.lo == a.hi) & (b.lo == b.hi) & (a.lo == b.lo)
            false = (a.hi < b.lo) | (b.hi < a.lo)
        elif op == "<":
            true, false = a.hi < b.lo, a.lo >= b.hi
        else:
            true, false = a.hi <= b.lo, a.lo > b.hi
        limit = (a.bound.error + b.bound.error) * SAFETY
        if limit:
            near = _close(a.hi, b.lo, limit) | _close(a.lo, b.hi, limit)
            self.mark(near, step.level)
        return np.where(true, T, np.where(false, F, U)).astype(np.uint8)

    def _in(self, step: Step, args: list[Any]) -> Array:
        (a,) = args
        true = np.zeros(np.shape(a.lo), bool)
        inside = np.zeros(np.shape(a.lo), bool)
        for option in cast(tuple[object, ...], step.data):
            v = constant(option, self.pop)
            true |= (a.lo == v) & (a.hi == v)
            inside |= (a.lo <= v) & (v <= a.hi)
            limit = (a.bound.error + const_bound(option).error) * SAFETY
            if limit:
                self.mark(_close(a.lo, v, limit) | _close(a.hi, v, limit), step.level)
        return np.where(true, T, np.where(inside, U, F)).astype(np.uint8)

    def _and(self, step: Step, args: list[Any]) -> Array:
        return _fold(np.minimum, args)

    def _or(self, step: Step, args: list[Any]) -> Array:
        return _fold(np.maximum, args)

    def _not(self, step: Step, args: list[Any]) -> Array:
        return T - args[0]

    # --- masks ----------------------------------------------------------------------------

    def _mask(self, step: Step, i: int, value: Any) -> Masks | None:
        if step.op == "const":
            return None
        rows = self.rows(step.level)
        if step.op == "fact":
            unknown = value.touched
            if not np.any(unknown):
                return None
            bits = np.zeros(self.words, np.uint64)
            for name in cast(tuple[Any, ...], step.data)[1]:
                b = self.program.missing_names.index(name)
                bits[b // 64] |= np.uint64(1) << np.uint64(b % 64)
            return np.where(unknown[:, None], bits[None, :], np.uint64(0)).astype(np.uint64)
        child = [m for a in step.args if (m := self.masks[a]) is not None]
        if not child:
            return None
        if step.op == "bcast":
            return child[0][self.pop.member_of]
        if step.op == "if":
            return self._if_mask(step, rows, value)
        if step.op == "agg":
            union = reduce_members(np.bitwise_or, child[0], self.pop, np.uint64(0))
        else:
            union = _fold(np.bitwise_or, [np.broadcast_to(c, (rows, self.words)) for c in child])
        unknown = _unknown(value)
        if step.op == "arith" and step.data == "/":
            unknown = unknown & ~value.zero
        keep = np.broadcast_to(unknown, (rows,))[:, None]
        return np.where(keep, union, np.uint64(0)).astype(np.uint64)

    def _if_mask(self, step: Step, rows: int, value: _Value) -> Masks:
        c, t, o = step.args
        zero = np.zeros((rows, self.words), np.uint64)
        mc, mt, mo = (
            zero if (m := self.masks[s]) is None else np.broadcast_to(m, (rows, self.words))
            for s in (c, t, o)
        )
        cond = np.broadcast_to(self.values[c], (rows,))[:, None]
        picked = np.where(cond == T, mt, np.where(cond == F, mo, mc | mt | mo))
        known = np.broadcast_to(~_unknown(value), (rows,))[:, None]
        return np.where(known, np.uint64(0), picked).astype(np.uint64)


def _unknown(value: Any) -> Array:
    if isinstance(value, _Value):
        return np.asarray(value.lo != value.hi)
    return np.asarray(value == U)


def _at(x: Array, at: Array) -> Array:
    return x[at] if np.ndim(x) else x


def _fold(fn: Any, args: list[Any]) -> Any:
    out = args[0]
    for a in args[1:]:
        out = fn(out, a)
    return out


def _close(x: Array, y: Array, limit: float) -> Array:
    return np.isfinite(x) & np.isfinite(y) & (np.abs(x - y) <= limit)


def _times(alo: Array, ahi: Array, blo: Array, bhi: Array) -> tuple[Array, Array]:
    """Interval product; 0 × ∞ is 0 (the ends are limits)."""
    products = [x * y for x in (alo, ahi) for y in (blo, bhi)]
    clean = [np.where(np.isnan(p), 0.0, p) for p in products]
    return np.minimum.reduce(clean), np.maximum.reduce(clean)


def _power(lo: Array, hi: Array, k: int) -> tuple[Array, Array]:
    if k == 0:
        one = np.ones(np.broadcast(lo, hi).shape)
        return one, one
    up_lo, up_hi = np.power(lo, k), np.power(hi, k)
    if k % 2:
        return up_lo, up_hi
    low = np.where(lo >= 0, up_lo, np.where(hi <= 0, up_hi, 0.0))
    high = np.where(lo >= 0, up_hi, np.where(hi <= 0, up_lo, np.maximum(up_lo, up_hi)))
    return low, high
