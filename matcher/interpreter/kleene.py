"""The interpreter's three-valued evaluation, generated as Python source for one expression.

The compiled explainer (`matcher.interpreter.compiled`) first tries an expression with every fact
known (plain Python arithmetic and logic). When a fact is unknown it used to hand the whole
expression to `evaluate_expr`, which walks the IR node by node, builds a `Range` object per
number and dispatches on types at every step — on the demo village the p99 household is one
whose 低保 amount is a range. `KleeneGen` writes that evaluation out instead, one statement block
per IR node, node for node what `matcher.interpreter.evaluate` does:

- every node leaves locals: `x` its value when known (None when not), and when unknown the
  range ends `a`, `b` (numbers and dates: None for an unbounded end) and `m`, the facts whose
  absence keeps it unknown. A known value never carries missing facts — true of the
  interpreter too, except for a fact whose domain is one point (`min == max`), which is
  left to the interpreter (`_Slow`), as is anything else outside what is mirrored here;
- Kleene `and`/`or`/`not`, `any`/`all`/`count`/`sum` over members, comparisons decided over
  ranges, range arithmetic (`+ - * / **`, `min`/`max`, unary minus), `if … else` with an
  unknown condition (the hull of both branches), `x / 0` (undefined: the unbounded range) —
  each with the interpreter's rules for which missing facts survive and when a range that
  holds one value is that value (`_point`), in the same order of evaluation and with the
  same types (`int` or `Fraction`), so amounts and the values shown are the same to the
  last digit. The range helpers below mirror `evaluate._range_*` on bare ends, and a range
  comparison is written out per operator (`evaluate._range_compare`).

What reaches the generated text is the same as for the fast path: operators only from the IR's
closed sets (`spelled`), fact names as `repr` literals, every rule value as a named constant.
An expression the generator cannot write (nested past what Python compiles) stays with the
interpreter. tests/matcher/test_compiled.py compares every result with the interpreter's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from matcher.interpreter.evaluate import Range, _range_mul
from rules import ir
from rules.numbers import exact

__all__ = ["HELPERS", "KleeneGen", "Slow", "fold", "spelled"]

Bound = Any  # an exact number, a date, or None (unbounded)

# What the generated source may spell out: nothing of a rule file's text is ever executed.
# Every value of a rule (a number, a string, a set, a parameter) enters the generated module as
# a constant bound by name (`k0`, `k1`, …); fact and policy names enter as `repr` literals; the
# only words taken from the IR are its operators and functions, and each must be one of these
# (the IR's closed `Literal` types — checked here again, so a future IR node cannot slip text in).
_SPELLED = frozenset({"==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "**", "min", "max"})


def spelled(word: str) -> str:
    """`word` if it is one of the IR's operators or functions, else ValueError."""
    if word not in _SPELLED:
        raise ValueError(f"{word!r} cannot appear in a compiled plan")
    return word


class Slow(Exception):
    """The generated code met what it does not mirror: the interpreter evaluates this."""


def _range(lo: Bound, hi: Bound) -> Range:
    """`Range(lo, hi)` without the frozen dataclass's `__init__` (the same object)."""
    r = object.__new__(Range)
    r.__dict__.update(lo=lo, hi=hi)
    return r


def _tidy(x: Fraction) -> int | Fraction:
    return x.numerator if x.denominator == 1 else x


def _div(a: Any, b: Any) -> Any:
    return _tidy(Fraction(a) / b)


def _pow(a: Any, b: Any) -> Any:
    return _tidy(Fraction(a) ** int(b))


# --- range ends (evaluate._range_arith and _range_compare on bare ends) ----------------------


def _radd(alo: Bound, ahi: Bound, blo: Bound, bhi: Bound) -> tuple[Bound, Bound]:
    return (
        None if alo is None or blo is None else _exact_add(alo, blo),
        None if ahi is None or bhi is None else _exact_add(ahi, bhi),
    )


def _rsub(alo: Bound, ahi: Bound, blo: Bound, bhi: Bound) -> tuple[Bound, Bound]:
    return (
        None if alo is None or bhi is None else alo - bhi,
        None if ahi is None or blo is None else ahi - blo,
    )


def _rmul(alo: Bound, ahi: Bound, blo: Bound, bhi: Bound) -> tuple[Bound, Bound]:
    if alo is not None and ahi is not None and blo is not None and bhi is not None:
        # every end finite: `_range_mul`'s min and max by key are these, ties to the first
        ends = (alo * blo, alo * bhi, ahi * blo, ahi * bhi)
        return min(ends), max(ends)
    r = _range_mul(Range(alo, ahi), Range(blo, bhi))
    return r.lo, r.hi


def _exact_mul(a: Any, b: Any) -> Any:
    """`a * b` for `int`s and `Fraction`s — the same value and type — without `Fraction`'s
    operator dispatch (twice as slow as building the result)."""
    if type(a) is int and type(b) is int:
        return a * b
    if type(a) in _RATIONAL and type(b) in _RATIONAL:
        return Fraction(a.numerator * b.numerator, a.denominator * b.denominator)
    return a * b


def _exact_less(a: Any, b: Any) -> bool:
    """`a < b` for `int`s and `Fraction`s (denominators are positive), sooner."""
    if type(a) in _RATIONAL and type(b) in _RATIONAL:
        return bool(a.numerator * b.denominator < b.numerator * a.denominator)
    return bool(a < b)


_RATIONAL = (int, Fraction)


def _rmulk(k: Bound, blo: Bound, bhi: Bound) -> tuple[Bound, Bound]:
    """`_rmul(k, k, blo, bhi)` for a known `k` (and `_rmul(alo, ahi, k, k)`: the same two
    products, first and last of the four `_range_mul` compares, ties to the first)."""
    kinds = (type(k), type(blo), type(bhi))
    if kinds == (int, int, int):
        low, high = k * blo, k * bhi
    elif blo is not None and bhi is not None and all(t in _RATIONAL for t in kinds):
        # the products as Fractions (what int × Fraction gives), compared on their terms
        kn, kd = k.numerator, k.denominator
        ln, ld = kn * blo.numerator, kd * blo.denominator
        hn, hd = kn * bhi.numerator, kd * bhi.denominator
        order = ln * hd - hn * ld  # the denominators are positive
        low, high = Fraction(ln, ld), Fraction(hn, hd)
        if order > 0:
            return high, low
        return (low, high) if order < 0 else (low, low)  # a tie: the first
    else:
        return _rmul(k, k, blo, bhi)
    if high < low:
        return high, low
    return (low, high) if low < high else (low, low)


def _exact_add(a: Any, b: Any) -> Any:
    """`a + b` for `int`s and `Fraction`s, as `_exact_mul`."""
    if type(a) is int and type(b) is int:
        return a + b
    if type(a) in _RATIONAL and type(b) in _RATIONAL:
        da, db = a.denominator, b.denominator
        return Fraction(a.numerator * db + b.numerator * da, da * db)
    return a + b


def _rdiv(alo: Bound, ahi: Bound, blo: Bound, bhi: Bound) -> tuple[Bound, Bound]:
    if (blo is None or blo <= 0) and (bhi is None or 0 <= bhi):
        return None, None  # the divisor may be 0: undefined
    low = 0 if bhi is None else _tidy(1 / Fraction(bhi))  # `_reciprocal`
    high = 0 if blo is None else _tidy(1 / Fraction(blo))
    return _rmul(alo, ahi, low, high)


def _rpow(alo: Bound, ahi: Bound, blo: Bound, bhi: Bound) -> tuple[Bound, Bound]:
    if blo is None:
        raise Slow  # not a constant exponent: the interpreter's assertion, not ours
    k = int(blo)

    def up(x: Bound) -> Bound:
        return None if x is None else _tidy(Fraction(x) ** k)

    if k % 2 == 1 or (alo is not None and alo >= 0):
        return up(alo), up(ahi)
    if ahi is not None and ahi <= 0:
        return up(ahi), up(alo)
    return 0, None if alo is None or ahi is None else max(up(alo), up(ahi))


def _rneg(alo: Bound, ahi: Bound) -> tuple[Bound, Bound]:
    return (None if ahi is None else -ahi), (None if alo is None else -alo)


def _rmin(*ends: Bound) -> tuple[Bound, Bound]:
    lows, highs = ends[0::2], ends[1::2]
    low = None if None in lows else min(lows)
    finite = [h for h in highs if h is not None]
    return low, (min(finite) if finite else None)


def _rmax(*ends: Bound) -> tuple[Bound, Bound]:
    lows, highs = ends[0::2], ends[1::2]
    high = None if None in highs else max(highs)
    finite = [x for x in lows if x is not None]
    return (max(finite) if finite else None), high


def _lower(a: Bound, b: Bound) -> Bound:
    return None if a is None or b is None else min(a, b)


def _upper(a: Bound, b: Bound) -> Bound:
    return None if a is None or b is None else max(a, b)


def _inside(values: tuple[Any, ...], lo: Bound, hi: Bound) -> bool:
    return any((lo is None or lo <= v) and (hi is None or v <= hi) for v in values)


_ARITH: dict[str, str] = {"+": "_radd", "-": "_rsub", "*": "_rmul", "/": "_rdiv", "**": "_rpow"}

HELPERS: dict[str, Callable[..., Any]] = {
    "_Slow": Slow,
    "_range": _range,
    "_kdiv": _div,
    "_kpow": _pow,
    "_radd": _radd,
    "_rsub": _rsub,
    "_rmul": _rmul,
    "_rmulk": _rmulk,
    "_rdiv": _rdiv,
    "_rpow": _rpow,
    "_rneg": _rneg,
    "_rmin": _rmin,
    "_rmax": _rmax,
    "_lower": _lower,
    "_upper": _upper,
    "_inside": _inside,
}
"""The names the generated code calls, for the namespace it is executed in."""


@dataclass(frozen=True)
class _V:
    """Where a node's result is: Python expressions for its value `x` (None: unknown), its
    range ends `a`, `b` and missing facts `m` (read only when `x` is None)."""

    x: str
    a: str = "None"
    b: str = "None"
    m: str = "EMPTY"
    const: bool = False  # a rule's constant: known, whatever the profile
    value: Any = None  # a constant's value

    def known(self) -> str:
        return "True" if self.const else f"{self.x} is not None"

    def lo(self) -> str:
        return self.x if self.const else f"({self.x} if {self.x} is not None else {self.a})"

    def hi(self) -> str:
        return self.x if self.const else f"({self.x} if {self.x} is not None else {self.b})"


@dataclass(frozen=True)
class _Ends:
    """A range's ends as named locals; `const`: a rule's constant (never None)."""

    lo: tuple[str, bool]
    hi: tuple[str, bool]

    def __init__(self, lo: str, hi: str, const: bool) -> None:
        object.__setattr__(self, "lo", (lo, const))
        object.__setattr__(self, "hi", (hi, const))


def _below(x: tuple[str, bool], y: tuple[str, bool], strict: bool) -> str:
    """`evaluate._below` as an expression: high end `x` below low end `y` (both finite)."""
    finite = [f"{name} is not None" for name, const in (x, y) if not const]
    test = f"{x[0]} {'<' if strict else '<='} {y[0]}"
    return " and ".join([*finite, test])


def _union(*parts: _V) -> str:
    """The missing facts of the parts that are unknown (`evaluate._union`)."""
    return " | ".join(f"({p.m} if {p.x} is None else EMPTY)" for p in parts)


_RANGED = ("number", "date")


class KleeneGen:
    """The source of `def NAME(S, MS): … return value, missing` for one expression.

    `S` is the subject's known facts and `MS` the members' (`compiled._rows`: unknown facts
    absent, numbers exact; `S` holds `"!"` when a value was refused, and formulas' values under
    the keys in `formulas` when every fact they read is known).
    """

    def __init__(self, const: Callable[[Any], str], formulas: dict[ir.Expr, str]) -> None:
        self.const = const
        self.formulas = formulas
        self.lines: list[str] = []
        self.n = 0

    def function(self, name: str, e: ir.Expr) -> list[str]:
        """The lines of the function `name`."""
        self.lines = [f"def {name}(S, MS):", "    if '!' in S:", "        raise _Slow"]
        v = self.node(e, None, 1)
        self.emit(f"if {v.x} is not None:", 1)
        self.emit(f"return {v.x}, EMPTY", 2)
        unknown = f"_range({v.a}, {v.b})" if e.type in _RANGED else "None"
        self.emit(f"return {unknown}, {v.m}", 1)
        return self.lines

    def emit(self, line: str, ind: int) -> None:
        self.lines.append("    " * ind + line)

    def fresh(self) -> int:
        self.n += 1
        return self.n

    def node(self, e: ir.Expr, member: str | None, ind: int) -> _V:
        """Emit the statements for `e` at indentation `ind`; where its result is."""
        if isinstance(e, ir.Const):
            value = exact(e.value) if e.type == "number" else e.value  # type: ignore[arg-type]
            return _V(self.const(value), const=True, value=value)
        if isinstance(e, ir.FactRef):
            return self.formula(e, ind) if e.formula is not None else self.fact(e, member, ind)
        if isinstance(e, ir.And | ir.Or):
            return self.logic(e, member, ind)
        if isinstance(e, ir.Not):
            inner, n = self.node(e.operand, member, ind), self.fresh()
            self.emit(f"x{n} = None if {inner.x} is None else (not {inner.x})", ind)
            return _V(f"x{n}", m=inner.m)
        if isinstance(e, ir.Compare):
            return self.compare(e, member, ind)
        if isinstance(e, ir.InSet):
            return self.in_set(e, member, ind)
        if isinstance(e, ir.Arith | ir.Neg | ir.Call):
            folded = fold(e)
            if folded is not None:
                return _V(self.const(folded[0]), const=True, value=folded[0])
            return self.arith(e, member, ind)
        if isinstance(e, ir.IfElse):
            return self.if_else(e, member, ind)
        if isinstance(e, ir.Aggregate):
            return self.aggregate(e, member, ind)
        raise ValueError(f"params are not bound in {e!r}: call CompiledPolicy.bind(on)")

    def block(self, e: ir.Expr, member: str | None, ind: int) -> _V:
        """`node`, as the body of an `if` (which may not be empty)."""
        start = len(self.lines)
        v = self.node(e, member, ind)
        if len(self.lines) == start:
            self.emit("pass", ind)
        return v

    def fact(self, e: ir.FactRef, member: str | None, ind: int) -> _V:
        n = self.fresh()
        missing = self.const(e.missing_as)
        if e.type in _RANGED:
            lo: Bound = e.lo
            hi: Bound = e.hi
            if e.type == "number":
                lo = None if lo is None else exact(lo)
                hi = None if hi is None else exact(hi)
            if lo is not None and lo == hi:
                unknown = ["raise _Slow"]  # a one-point domain: known, yet missing (evaluate)
            else:
                unknown = []
            v = _V(f"x{n}", self.const(lo), self.const(hi), missing)
        else:
            unknown, v = [], _V(f"x{n}", m=missing)
        if e.member and member is None:  # a member's fact outside `any`/`all`/…: unknown
            self.emit(f"x{n} = None", ind)
            for line in unknown:
                self.emit(line, ind)
            return v
        self.emit(f"x{n} = {member if e.member else 'S'}.get({e.name!r})", ind)
        if unknown:
            self.emit(f"if x{n} is None:", ind)
            for line in unknown:
                self.emit(line, ind + 1)
        return v

    def formula(self, e: ir.FactRef, ind: int) -> _V:
        assert e.formula is not None
        n = self.fresh()
        key = self.formulas.setdefault(e.formula, f"={e.name}#{len(self.formulas)}")
        self.emit(f"x{n} = S.get({key!r})", ind)  # kept when every fact it reads is known
        self.emit(f"if x{n} is None:", ind)
        inner = self.node(e.formula, None, ind + 1)
        self._take(n, inner, ind + 1)
        return _V(f"x{n}", f"a{n}", f"b{n}", f"m{n}")

    def _take(self, n: int, v: _V, ind: int) -> None:
        """`x{n}` … `m{n}` := `v` (the ends and missing facts only when unknown)."""
        self.emit(f"x{n} = {v.x}", ind)
        self.emit(f"if x{n} is None:", ind)
        self.emit(f"a{n}, b{n}, m{n} = {v.a}, {v.b}, {v.m}", ind + 1)

    def logic(self, e: ir.And | ir.Or, member: str | None, ind: int) -> _V:
        decisive = isinstance(e, ir.Or)
        n = self.fresh()
        self.emit(f"x{n} = {not decisive}", ind)
        self.emit(f"m{n} = EMPTY", ind)
        for i, operand in enumerate(e.operands):
            inner_ind = ind
            if i:  # the interpreter stops at the first decisive operand
                self.emit(f"if x{n} is not {decisive}:", ind)
                inner_ind = ind + 1
            v = self.node(operand, member, inner_ind)
            self.emit(f"if {v.x} is {decisive}:", inner_ind)
            self.emit(f"x{n} = {decisive}", inner_ind + 1)  # its `m` is never read again
            self.emit(f"elif {v.x} is None:", inner_ind)
            self.emit(f"x{n} = None", inner_ind + 1)
            self.emit(f"m{n} = m{n} | {v.m}", inner_ind + 1)
        return _V(f"x{n}", m=f"m{n}")

    def compare(self, e: ir.Compare, member: str | None, ind: int) -> _V:
        left, right = self.node(e.left, member, ind), self.node(e.right, member, ind)
        n = self.fresh()
        self.emit(f"if {left.known()} and {right.known()}:", ind)
        self.emit(f"x{n} = ({left.x}) {spelled(e.op)} ({right.x})", ind + 1)
        self.emit("else:", ind)
        if e.left.type in _RANGED:
            # `evaluate._range_compare` written out for this operator
            self.emit(f"p{n}, q{n} = {left.lo()}, {left.hi()}", ind + 1)
            self.emit(f"s{n}, t{n} = {right.lo()}, {right.hi()}", ind + 1)
            a = _Ends(f"p{n}", f"q{n}", left.const)
            b = _Ends(f"s{n}", f"t{n}", right.const)
            op = spelled(e.op)
            if op in (">", ">="):
                op, a, b = ("<" if op == ">" else "<="), b, a
            if op in ("==", "!="):
                apart = f"({_below(a.hi, b.lo, True)}) or ({_below(b.hi, a.lo, True)})"
                self.emit(f"if {apart}:", ind + 1)
                self.emit(f"x{n} = {op == '!='}", ind + 2)
            else:
                strict = op == "<"
                self.emit(f"if {_below(a.hi, b.lo, strict)}:", ind + 1)
                self.emit(f"x{n} = True", ind + 2)
                self.emit(f"elif {_below(b.hi, a.lo, not strict)}:", ind + 1)
                self.emit(f"x{n} = False", ind + 2)
            self.emit("else:", ind + 1)
            self.emit(f"x{n} = None", ind + 2)
            self.emit(f"m{n} = {_union(left, right)}", ind + 2)
        else:
            self.emit(f"x{n} = None", ind + 1)
            self.emit(f"m{n} = {_union(left, right)}", ind + 1)
        return _V(f"x{n}", m=f"m{n}")

    def in_set(self, e: ir.InSet, member: str | None, ind: int) -> _V:
        v, n = self.node(e.operand, member, ind), self.fresh()
        values = self.const(e.values)
        test = "not in" if e.negated else "in"
        self.emit(f"if {v.x} is not None:", ind)
        self.emit(f"x{n} = {v.x} {test} {values}", ind + 1)
        self.emit("else:", ind)
        if e.operand.type == "number":
            points = self.const(tuple(exact(x) for x in e.values))  # type: ignore[arg-type]
            self.emit(f"if not _inside({points}, {v.a}, {v.b}):", ind + 1)
            self.emit(f"x{n} = {e.negated}", ind + 2)
            self.emit("else:", ind + 1)
            self.emit(f"x{n} = None", ind + 2)
        elif e.operand.type == "date":
            self.emit("raise _Slow", ind + 1)
        else:
            self.emit(f"x{n} = None", ind + 1)
        return _V(f"x{n}", m=v.m)

    def arith(self, e: ir.Arith | ir.Neg | ir.Call, member: str | None, ind: int) -> _V:
        operands = (e.left, e.right) if isinstance(e, ir.Arith) else _operands(e)
        parts = [self.node(o, member, ind) for o in operands]
        n = self.fresh()
        xs = [p.x for p in parts]
        self.emit("if " + " and ".join(p.known() for p in parts) + ":", ind)
        if isinstance(e, ir.Neg):
            self.emit(f"x{n} = -{xs[0]}", ind + 1)
            ranged = f"_rneg({parts[0].lo()}, {parts[0].hi()})"
        elif isinstance(e, ir.Call):
            self.emit(f"x{n} = {spelled(e.func)}([{', '.join(xs)}])", ind + 1)
            ends = ", ".join(f"{p.lo()}, {p.hi()}" for p in parts)
            ranged = f"{'_rmin' if e.func == 'min' else '_rmax'}({ends})"
        else:
            left, right = parts
            if e.op == "/":
                self.emit(f"if {right.x} == 0:", ind + 1)  # undefined, and nothing missing
                self.emit(f"x{n} = a{n} = b{n} = None", ind + 2)
                self.emit(f"m{n} = EMPTY", ind + 2)
                self.emit("else:", ind + 1)
                self.emit(f"x{n} = _kdiv({left.x}, {right.x})", ind + 2)
            elif e.op == "**":
                self.emit(f"x{n} = _kpow({left.x}, {right.x})", ind + 1)
            else:
                self.emit(f"x{n} = ({left.x}) {spelled(e.op)} ({right.x})", ind + 1)
            if e.op in ("/", "**"):
                self.emit(f"elif {right.x} is not None and {right.x} == 0:", ind)
                if e.op == "/":
                    self.emit(f"x{n} = a{n} = b{n} = None", ind + 1)
                    self.emit(f"m{n} = EMPTY", ind + 1)
                else:
                    self.emit(f"x{n} = 1", ind + 1)
            ends = f"{left.lo()}, {left.hi()}, {right.lo()}, {right.hi()}"
            ranged = f"{_ARITH[spelled(e.op)]}({ends})"
            if e.op == "*" and left.const:
                ranged = f"_rmulk({left.x}, {right.lo()}, {right.hi()})"
            elif e.op == "*" and right.const:
                ranged = f"_rmulk({right.x}, {left.lo()}, {left.hi()})"
        self.emit("else:", ind)
        self.emit(f"a{n}, b{n} = {ranged}", ind + 1)
        if _keeps_width(e, parts):  # an unknown operand's range is not one point: nor this
            self.emit(f"x{n} = None", ind + 1)
            self.emit(f"m{n} = {_union(*parts)}", ind + 1)
            return _V(f"x{n}", f"a{n}", f"b{n}", f"m{n}")
        self.emit(f"if a{n} is not None and a{n} == b{n}:", ind + 1)
        self.emit(f"x{n} = a{n}", ind + 2)
        self.emit("else:", ind + 1)
        self.emit(f"x{n} = None", ind + 2)
        self.emit(f"m{n} = {_union(*parts)}", ind + 2)
        return _V(f"x{n}", f"a{n}", f"b{n}", f"m{n}")

    def if_else(self, e: ir.IfElse, member: str | None, ind: int) -> _V:
        cond = self.node(e.cond, member, ind)
        self.emit(f"if {cond.x} is None or {cond.x}:", ind)
        then = self.block(e.then, member, ind + 1)
        self.emit(f"if {cond.x} is None or not {cond.x}:", ind)
        other = self.block(e.other, member, ind + 1)
        n = self.fresh()
        self.emit(f"if {cond.x} is not None:", ind)
        self.emit(f"if {cond.x}:", ind + 1)
        self._take(n, then, ind + 2)
        self.emit("else:", ind + 1)
        self._take(n, other, ind + 2)
        self.emit(f"elif {then.x} is not None and {then.x} == {other.x}:", ind)
        self.emit(f"x{n} = {then.x}", ind + 1)
        self.emit("else:", ind)
        self.emit(f"a{n} = _lower({then.lo()}, {other.lo()})", ind + 1)
        self.emit(f"b{n} = _upper({then.hi()}, {other.hi()})", ind + 1)
        self.emit(f"if a{n} is not None and a{n} == b{n}:", ind + 1)
        self.emit("raise _Slow", ind + 2)  # a point with missing facts (evaluate.if_else)
        self.emit(f"x{n} = None", ind + 1)
        self.emit(f"m{n} = {cond.m} | {_union(then, other)}", ind + 1)
        return _V(f"x{n}", f"a{n}", f"b{n}", f"m{n}")

    def aggregate(self, e: ir.Aggregate, member: str | None, ind: int) -> _V:
        n = self.fresh()
        row = f"r{n}"
        if e.func in ("any", "all"):
            decisive = e.func == "any"
            self.emit(f"x{n} = {not decisive}", ind)
            self.emit(f"m{n} = EMPTY", ind)
            self.emit(f"for {row} in MS:", ind)
            v = self.node(e.body, row, ind + 1)
            self.emit(f"if {v.x} is {decisive}:", ind + 1)
            self.emit(f"x{n} = {decisive}", ind + 2)
            self.emit("break", ind + 2)
            self.emit(f"if {v.x} is None:", ind + 1)
            self.emit(f"x{n} = None", ind + 2)
            self.emit(f"m{n} = m{n} | {v.m}", ind + 2)
            return _V(f"x{n}", m=f"m{n}")
        if e.func == "count":
            self.emit(f"a{n} = b{n} = 0", ind)  # true, unsure
            self.emit(f"m{n} = EMPTY", ind)
            self.emit(f"for {row} in MS:", ind)
            v = self.node(e.body, row, ind + 1)
            self.emit(f"if {v.x} is True:", ind + 1)
            self.emit(f"a{n} += 1", ind + 2)
            self.emit(f"elif {v.x} is None:", ind + 1)
            self.emit(f"b{n} += 1", ind + 2)
            self.emit(f"m{n} = m{n} | {v.m}", ind + 2)
            self.emit(f"if b{n}:", ind)
            self.emit(f"x{n}, b{n} = None, a{n} + b{n}", ind + 1)
            self.emit("else:", ind)
            self.emit(f"x{n} = a{n}", ind + 1)
            return _V(f"x{n}", f"a{n}", f"b{n}", f"m{n}")
        # sum: known parts add up from 0; an unknown one (or x / 0) makes it the ends' totals
        self.emit(f"a{n} = b{n} = 0", ind)
        self.emit(f"u{n} = False", ind)
        self.emit(f"m{n} = EMPTY", ind)
        self.emit(f"for {row} in MS:", ind)
        v = self.node(e.body, row, ind + 1)
        self.emit(f"if {v.x} is not None:", ind + 1)
        self.emit(f"if a{n} is not None: a{n} = a{n} + {v.x}", ind + 2)
        self.emit(f"if b{n} is not None: b{n} = b{n} + {v.x}", ind + 2)
        self.emit("else:", ind + 1)
        self.emit(f"u{n} = True", ind + 2)
        self.emit(f"m{n} = m{n} | {v.m}", ind + 2)
        self.emit(f"a{n} = None if a{n} is None or {v.a} is None else a{n} + {v.a}", ind + 2)
        self.emit(f"b{n} = None if b{n} is None or {v.b} is None else b{n} + {v.b}", ind + 2)
        self.emit(f"if not u{n} or (a{n} is not None and a{n} == b{n}):", ind)
        self.emit(f"x{n} = a{n}", ind + 1)
        self.emit("else:", ind)
        self.emit(f"x{n} = None", ind + 1)
        return _V(f"x{n}", f"a{n}", f"b{n}", f"m{n}")


def _keeps_width(e: ir.Arith | ir.Neg | ir.Call, parts: list[_V]) -> bool:
    """Whether the result is surely not one point when an operand is unknown: `-x`, `x ± k`,
    `k ± x` and `x × k` for a constant `k` ≠ 0 map the ends one to one (an unknown range is
    never one point: `evaluate._point`), so the interpreter's `_point` keeps it a range."""
    if isinstance(e, ir.Neg):
        return True
    if not isinstance(e, ir.Arith) or e.op not in ("+", "-", "*"):
        return False
    left, right = parts
    if left.const == right.const:
        return False
    k = left.value if left.const else right.value
    return e.op != "*" or (type(k) in _RATIONAL and k != 0)


def fold(e: ir.Expr) -> tuple[Any] | None:
    """`(value,)` of arithmetic on constants only (`params.a * params.b`, bound), as the
    interpreter computes it for every profile (`_exact_arith`); None if it reads a fact or
    divides by 0 (undefined: left to the code that says so)."""
    if isinstance(e, ir.Const):
        return (exact(e.value),) if e.type == "number" else None  # type: ignore[arg-type]
    if not isinstance(e, ir.Arith | ir.Neg | ir.Call):
        return None
    operands = (e.left, e.right) if isinstance(e, ir.Arith) else _operands(e)
    values = []
    for operand in operands:
        found = fold(operand)
        if found is None:
            return None
        values.append(found[0])
    if isinstance(e, ir.Neg):
        return (-values[0],)
    if isinstance(e, ir.Call):
        return ((min if spelled(e.func) == "min" else max)(values),)
    a, b = values
    op = spelled(e.op)
    if op == "/":
        return None if b == 0 else (_div(a, b),)
    if op == "**":
        try:
            return (_pow(a, b),)
        except ArithmeticError:  # 0 ** -1: raised where the interpreter raises it
            return None
    return ((a + b) if op == "+" else (a - b) if op == "-" else (a * b),)


def _operands(e: ir.Neg | ir.Call) -> tuple[ir.Expr, ...]:
    return (e.operand,) if isinstance(e, ir.Neg) else e.args
