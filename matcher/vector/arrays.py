"""Evaluate a compiled program over a population chunk, three-valued, column at a time.

`evaluate` is the fast path (values, and the rows whose float results are not proved exact:
`matcher.vector.exactness`); `evaluate_missing` recomputes the needed steps on the
rows whose result was unknown, carrying a bitmask of missing facts per row (a known value carries
none, so masks only ever grow where something is unknown: docs/rule-language.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from matcher.vector.columns import Population
from matcher.vector.exactness import (
    EXACT_ZERO,
    Bound,
    const_bound,
    division_bound,
    fact_bound,
    step_bound,
    unsure,
)
from matcher.vector.program import Program, Step

Array = Any  # an ndarray, or a numpy scalar for constant steps
Masks = npt.NDArray[np.uint64]
F, U, T = np.uint8(0), np.uint8(1), np.uint8(2)
_CMP: dict[str, Callable[[Array, Array], Array]] = {
    "==": np.equal,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}


def reachable(program: Program, outputs: Iterable[int]) -> list[int]:
    """Indices of every step the outputs need, in program order."""
    needed: set[int] = set()
    stack = list(outputs)
    while stack:
        slot = stack.pop()
        if slot not in needed:
            needed.add(slot)
            stack.extend(program.steps[slot].args)
    return sorted(needed)


Rows = npt.NDArray[np.int64]


@dataclass
class Evaluation:
    """The values of a program's outputs over a chunk, and where the floats are not proved exact.

    `fragile[o]` lists the subject rows where output `o` depends on a comparison, divisor or
    value that came too close to a decision for float64 to be trusted (`matcher.vector.exactness`):
    the engine recomputes those (output, row) pairs exactly. `bounds` holds the error bound of
    each value output (amounts).
    """

    values: dict[int, Array]
    fragile: dict[int, Rows]
    bounds: dict[int, Bound]


def evaluate(program: Program, pop: Population, outputs: list[int]) -> Evaluation:
    """The values of `outputs` over `pop`, freeing intermediate arrays as soon as they are used."""
    order = reachable(program, outputs)
    uses = Counter(a for i in order for a in program.steps[i].args)
    keep = set(outputs)
    values: dict[int, Array] = {}
    clean: dict[int, bool] = {}  # value steps known to hold no NaN: comparisons skip isnan
    proof = _Proof(pop)
    for i in order:
        step = program.steps[i]
        args = [values[a] for a in step.args]
        if step.op in _CLEAN_AWARE and all(clean.get(a, False) for a in step.args):
            values[i] = _apply_clean(step, args, pop)
        else:
            values[i] = _apply(step, args, pop)
        clean[i] = _is_clean(step, values[i], [clean.get(a, False) for a in step.args])
        proof.step(i, step, args, values[i])
        for a in step.args:
            uses[a] -= 1
            if uses[a] == 0 and a not in keep:
                del values[a]
    full = {o: _full(values[o], program.steps[o], pop) for o in outputs}
    bounds = {o: proof.bounds[o] for o in outputs if o in proof.bounds}
    fragile = {o: rows for o in outputs if (rows := proof.fragile.get(o)) is not None}
    return Evaluation(full, fragile, bounds)


class Fragility:
    """Per step, the subject rows whose value is not proved exact (its own doubts and its
    arguments'); most steps have none, so they hold None."""

    def __init__(self, pop: Population) -> None:
        self.pop = pop
        self.fragile: dict[int, Rows | None] = {}
        self._own: Rows | None = None

    def mark(self, rows: Array, level: str) -> None:
        """This step doubts `rows` (a bool mask at its level, or a scalar for every row)."""
        if np.ndim(rows) == 0:
            found = np.arange(self.pop.size, dtype=np.int64) if bool(rows) else None
        elif level == "m":
            found = np.unique(self.pop.member_of[np.flatnonzero(rows)])
        else:
            found = np.flatnonzero(rows).astype(np.int64)
        if found is not None and found.size:
            self._own = found if self._own is None else np.union1d(self._own, found)

    def close(self, i: int, args: tuple[int, ...]) -> None:
        """Step `i` is done: its rows are its own doubts and its arguments'."""
        parts = [r for a in args if (r := self.fragile.get(a)) is not None]
        if self._own is not None:
            parts.append(self._own)
        self._own = None
        if not parts:
            self.fragile[i] = None
        elif len(parts) == 1:
            self.fragile[i] = parts[0]
        else:
            self.fragile[i] = np.unique(np.concatenate(parts))


class _Proof(Fragility):
    """The error bound of every value step, and the rows each step leaves unproved."""

    def __init__(self, pop: Population) -> None:
        super().__init__(pop)
        self.bounds: dict[int, Bound] = {}
        self.widest = int(pop.counts.max()) if pop.size else 0

    def step(self, i: int, step: Step, args: list[Array], value: Array) -> None:
        if step.kind == "v":
            self.bounds[i] = self._bound(step, args, value)
        elif step.op in ("cmp", "in") and all(a in self.bounds for a in step.args):
            self._compare(step, args)
        self.close(i, step.args)

    def _bound(self, step: Step, args: list[Array], value: Array) -> Bound:
        if step.op == "const":
            return const_bound(step.data[0])  # type: ignore[index]
        if step.op == "fact":
            return fact_bound(np.asarray(value), step.data[2] == "number")  # type: ignore[index]
        if step.op in ("kval", "truthy"):
            return EXACT_ZERO
        arg_bounds = [self.bounds.get(a, EXACT_ZERO) for a in step.args]
        if step.op == "arith" and step.data == "/":
            bound, near_zero = division_bound(arg_bounds[0], arg_bounds[1], args[1])
            if near_zero is not None:
                self.mark(near_zero, step.level)
            if not np.isfinite(bound.error):
                self.mark(~np.isnan(np.asarray(value, dtype=np.float64)), step.level)
            return bound
        return step_bound(step.op, step.data, arg_bounds, self.widest)

    def _compare(self, step: Step, args: list[Array]) -> None:
        a_bound = self.bounds[step.args[0]]
        if step.op == "cmp":
            rows = unsure(args[0], args[1], a_bound, self.bounds[step.args[1]])
        else:
            rows = None
            for option in cast(tuple[object, ...], step.data):
                near = unsure(args[0], constant(option, self.pop), a_bound, const_bound(option))
                if near is not None:
                    rows = near if rows is None else rows | near
        if rows is not None:
            self.mark(rows, step.level)


_CLEAN_AWARE = frozenset({"cmp", "in", "truthy"})


def _apply_clean(step: Step, args: list[Array], pop: Population) -> Array:
    """cmp/in/truthy over NaN-free values: nothing is unknown, so T or F only."""
    with np.errstate(all="ignore"):
        if step.op == "cmp":
            true = _CMP[str(step.data)](args[0], args[1])
        elif step.op == "in":
            values = cast(tuple[object, ...], step.data)
            true = np.isin(args[0], np.array([constant(v, pop) for v in values], dtype=np.float64))
        else:
            true = args[0] == 1.0
    if isinstance(true, np.ndarray):
        return true.astype(np.uint8) << 1
    return np.uint8(2 * bool(true))


def _is_clean(step: Step, value: Array, args_clean: list[bool]) -> bool:
    """Whether a value step's result holds no NaN, judged cheaply."""
    if step.kind != "v":
        return False
    if step.op == "fact":
        return not bool(np.isnan(value).any())
    if step.op == "const":
        return not bool(np.isnan(value))
    # + - * of finite values stay finite short of 1e308; / and ** may make NaN (x/0, NaN**0)
    safe = step.op in ("bcast", "neg", "min", "max") or (
        step.op == "arith" and step.data in ("+", "-", "*")
    )
    return safe and all(args_clean)


def _full(x: Array, step: Step, pop: Population) -> Array:
    if step.level == "c":
        return np.full(pop.size, x)
    return x


def constant(value: object, pop: Population) -> Array:
    """A constant as the float the columns hold (codes for text, ordinals for dates)."""
    if isinstance(value, bool):
        return np.float64(1.0 if value else 0.0)
    if isinstance(value, str):
        return np.float64(pop.vocabulary.lookup(value))
    if isinstance(value, date):
        return np.float64(value.toordinal())
    return np.float64(value)  # type: ignore[arg-type]


def _kleene(true: Array, unknown: Array) -> Array:
    return (
        (true.astype(np.uint8) << 1) | unknown.astype(np.uint8)
        if isinstance(true, np.ndarray)
        else np.uint8(2 * bool(true) + bool(unknown))
    )


def _apply(step: Step, args: list[Array], pop: Population) -> Array:
    op = step.op
    with np.errstate(all="ignore"):
        if op == "const":
            const = cast(tuple[object, str], step.data)
            return constant(const[0], pop)
        if op == "fact":
            name = step.data[0]  # type: ignore[index]
            table = pop.members if step.level == "m" else pop.subject
            column = table.get(name)
            size = pop.member_count if step.level == "m" else pop.size
            return column if column is not None else np.full(size, np.nan)
        if op == "bcast":
            return args[0][pop.member_of]
        if op == "kval":
            return np.where(args[0] == U, np.nan, (args[0] == T).astype(np.float64))
        if op == "truthy":
            return _kleene(args[0] == 1.0, np.isnan(args[0]))
        if op == "cmp":
            a, b = args
            return _kleene(_CMP[str(step.data)](a, b), np.isnan(a) | np.isnan(b))
        if op == "in":
            options = np.array([constant(v, pop) for v in step.data], dtype=np.float64)  # type: ignore[attr-defined]
            return _kleene(np.isin(args[0], options), np.isnan(args[0]))
        if op == "and":
            return _fold(np.minimum, args)
        if op == "or":
            return _fold(np.maximum, args)
        if op == "not":
            return T - args[0]
        if op == "arith":
            return _arith(str(step.data), args[0], args[1])
        if op == "neg":
            return -args[0]
        if op == "min":
            return _fold(np.minimum, args)
        if op == "max":
            return _fold(np.maximum, args)
        if op == "if":
            c, t, o = args
            return np.where(c == T, t, np.where(c == F, o, np.nan))
        if op == "agg":
            body = args[0] if np.ndim(args[0]) else np.full(pop.member_count, args[0])
            return aggregate(str(step.data), body, pop)
    raise ValueError(f"unknown step {op}")  # pragma: no cover


def _fold(fn: Callable[[Array, Array], Array], args: list[Array]) -> Array:
    out = args[0]
    for a in args[1:]:
        out = fn(out, a)
    return out


def _arith(op: str, a: Array, b: Array) -> Array:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return np.where(b == 0, np.nan, a / np.where(b == 0, 1.0, b))
    power = np.power(a, b)  # NaN ** 0 is 1 in numpy, but unknown stays unknown here
    return np.where(np.isinf(power) | np.isnan(a) | np.isnan(b), np.nan, power)


def reduce_members(ufunc: np.ufunc, x: Array, pop: Population, empty: object) -> Array:
    """`ufunc` over each household's members; `empty` for a household without any."""
    if pop.member_count == 0:
        return np.full((pop.size, *np.shape(x)[1:]), empty, dtype=np.result_type(x))
    # the sentinel past the last member must be neutral (reduceat runs to the array's end too)
    extended = np.concatenate([x, np.full((1, *x.shape[1:]), empty, dtype=x.dtype)])
    slots = pop.member_slots()
    if slots is not None:  # k-th members side by side: a few elementwise ops, no reduceat
        if slots.shape[0] == 0:
            return np.full((pop.size, *np.shape(x)[1:]), empty, dtype=np.result_type(x))
        return ufunc.reduce(extended[slots], axis=0)
    out = ufunc.reduceat(extended, pop.starts, axis=0)
    out[pop.counts == 0] = empty
    return out


def aggregate(func: str, x: Array, pop: Population) -> Array:
    """any/all/count/sum over members, Kleene for any/all, NaN when a member is unknown."""
    if func == "any":
        return reduce_members(np.maximum, x, pop, F).astype(np.uint8)
    if func == "all":
        return reduce_members(np.minimum, x, pop, T).astype(np.uint8)
    if func == "count":
        unknown = reduce_members(np.maximum, (x == U).astype(np.uint8), pop, 0)
        count = reduce_members(np.add, (x == T).astype(np.float64), pop, 0.0)
        return np.where(unknown > 0, np.nan, count)
    return reduce_members(np.add, x.astype(np.float64), pop, 0.0)


# --- missing facts ------------------------------------------------------------------------


def unknown_of(x: Array, step: Step) -> Array:
    """Where a step's value is unknown."""
    return (x == U) if step.kind == "b" else np.isnan(x)


def evaluate_missing(program: Program, pop: Population, outputs: list[int]) -> dict[int, Masks]:
    """Missing-fact masks (rows × words) of `outputs` over `pop` (meant for unknown rows only)."""
    words = max(1, (len(program.missing_names) + 63) // 64)
    order = reachable(program, outputs)
    values: dict[int, Array] = {}
    masks: dict[int, Masks | None] = {}
    for i in order:
        step = program.steps[i]
        values[i] = _apply(step, [values[a] for a in step.args], pop)
        masks[i] = _mask(program, step, i, values, masks, pop, words)
    zero = np.zeros((pop.size, words), np.uint64)
    return {o: zero if (m := masks[o]) is None else m for o in outputs}


def _mask(
    program: Program,
    step: Step,
    i: int,
    values: dict[int, Array],
    masks: dict[int, Masks | None],
    pop: Population,
    words: int,
) -> Masks | None:
    if step.op == "const":
        return None
    rows = pop.member_count if step.level == "m" else pop.size
    if step.op == "fact":
        unknown = np.isnan(values[i])
        if not unknown.any():
            return None
        bits = np.zeros(words, np.uint64)
        for name in step.data[1]:  # type: ignore[index]
            b = program.missing_names.index(name)
            bits[b // 64] |= np.uint64(1) << np.uint64(b % 64)
        return np.where(unknown[:, None], bits[None, :], np.uint64(0)).astype(np.uint64)
    child = [m for a in step.args if (m := masks[a]) is not None]
    if step.op == "bcast":
        return child[0][pop.member_of] if child else None
    if step.op == "if":
        return _if_mask(step, values, masks, rows, words)
    if not child:
        return None
    if step.op == "agg":
        union = reduce_members(np.bitwise_or, child[0], pop, np.uint64(0))
    else:
        union = _fold(np.bitwise_or, [np.broadcast_to(c, (rows, words)) for c in child])
    unknown = unknown_of(values[i], step)
    return np.where(np.broadcast_to(unknown, (rows,))[:, None], union, np.uint64(0)).astype(
        np.uint64
    )


def _if_mask(
    step: Step, values: dict[int, Array], masks: dict[int, Masks | None], rows: int, words: int
) -> Masks | None:
    c, t, o = step.args
    parts = [masks[c], masks[t], masks[o]]
    if all(p is None for p in parts):
        return None
    zero = np.zeros((rows, words), np.uint64)
    mc, mt, mo = (zero if p is None else np.broadcast_to(p, (rows, words)) for p in parts)
    cond = np.broadcast_to(values[c], (rows,))[:, None]
    return np.where(cond == U, mc, np.where(cond == T, mt, mo)).astype(np.uint64)


def mask_names(program: Program, mask: Masks) -> tuple[str, ...]:
    """The sorted fact names set in one row's mask (decoded once per distinct mask)."""
    key = mask.tobytes()
    found = program.decoded.get(key)
    if found is None:
        names = program.missing_names
        found = tuple(sorted(n for b, n in enumerate(names) if int(mask[b // 64]) >> (b % 64) & 1))
        program.decoded[key] = found
    return found
