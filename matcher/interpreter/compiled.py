"""The explaining interpreter compiled: the same `MatchResult` as `match`, 10–80× sooner.

    plan = explain_plan(catalogue, on, "household")   # once per catalogue, date and subject
    result = plan.match(facts)                         # == match(catalogue, facts, on, subject)
    result = match_compiled(catalogue, facts, on, subject)   # the same, compiled on 2nd use

`match` walks the IR node by node for every condition of every policy and rebuilds each result
with `dataclasses.replace`; on the 200-policy benchmark catalogue that is ≈ 35 ms a profile.
A plan does the work that does not depend on the profile once:

- every distinct bound condition, amount and bundle gate is compiled to Python three times
  over, tried in this order:
  1. the fast path (`_Gen`): its value with the facts known — the same exact arithmetic
     (`int`/`Fraction`, `rules.numbers.exact`), the same short-circuits (`and`/`or`,
     `any`/`all`, `if … else`) in the same order as `evaluate_expr`. With every fact on its
     path known the interpreter's value is that value and nothing is missing. It gives up
     (`_Slow`, or a missing key) on an unknown fact or `x / 0`;
  2. the Kleene path (`matcher.interpreter.kleene`): the interpreter's three-valued
     evaluation written out node by node — ranges of unknown numbers through arithmetic,
     comparisons decided over ranges, Kleene `and`/`or`/`not`, members' aggregates with
     unknowns, the missing facts that survive. Before it, an unknown fact handed the whole
     expression to the interpreter: on the demo village the p99 household was one whose
     低保 amount is a range (bench/RESULTS.md, issue 14);
  3. `evaluate_expr` itself, for what the Kleene path does not mirror (a fact whose domain is
     one point, a value `exact` refuses) or Python cannot compile (`plan.interpreted`).
  tests/matcher/test_compiled.py checks the three agree with the interpreter on random
  catalogues and profiles, random expressions over unknown facts, the real catalogue and
  the synthetic one;
- arithmetic on constants only (`params.fee * params.share`) is computed when the plan is
  built (`kleene.fold`, the interpreter's own arithmetic);
- a condition shared by several policies (the 1,091 conditions of the synthetic catalogue are
  207 distinct) is explained once per profile, inline in `run` (its verdict and the values
  shown for its facts — formatted once per profile — in locals);
- what the date, the region and the parameters settle (`scope_result`) is kept per region code;
  the `excludes` pairs are worked out once, and `resolve_pairs` is called only when two
  partners are both eligible (otherwise it changes nothing);
- results are made field by field without `__init__` (`results.build` written out: a frozen
  dataclass's `__init__` costs ≈ 2 µs, 400 times a profile on 200 policies); amounts go to
  the fen and shown numbers are formatted without building Fractions (`_amount`, `_fmt1`:
  the same Decimal and text as `match.amount_of` and `match._fmt`).

`match` stays the reference semantics (docs/rule-language.md); this module is an optimisation of
it and nothing else — any difference is a bug here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import fields
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any, TypeVar

from matcher.interpreter.evaluate import Range, evaluate_expr
from matcher.interpreter.excludes import partner_map, resolve_pairs
from matcher.interpreter.kleene import HELPERS, KleeneGen, Slow, fold, spelled
from matcher.interpreter.match import (
    _WHOLE,
    REGION_UNKNOWN_NOTE,
    _fmt,
    amount_of,
    in_region,
    match,
    scope_result,
)
from matcher.interpreter.results import (
    BundleResult,
    ConditionResult,
    MatchResult,
    PolicyResult,
)
from matcher.profiles.facts import Facts
from rules import ir
from rules.catalogue import Catalogue, CompiledCondition, CompiledPolicy
from rules.numbers import FEN, exact, from_fen, to_fen

__all__ = ["ExplainPlan", "explain_plan", "match_compiled"]

Row = Mapping[str, Any]
T = TypeVar("T")


_Slow = Slow  # the fast path met an unknown value: the Kleene path evaluates the expression


def _slow() -> Any:
    raise _Slow


def _div(a: Any, b: Any) -> Any:
    if b == 0:
        raise _Slow  # undefined: the interpreter's Range()
    if type(a) in _RATIONAL and type(b) in _RATIONAL:  # Fraction(a) / b, built directly
        x = Fraction(a.numerator * b.denominator, a.denominator * b.numerator)
    else:
        x = Fraction(a) / b
    return x.numerator if x.denominator == 1 else x


_RATIONAL = (int, Fraction)


def _pow(a: Any, b: Any) -> Any:
    x = Fraction(a) ** int(b)
    return x.numerator if x.denominator == 1 else x


def _known(row: Row, refused: list[str]) -> dict[str, Any]:
    """A fact row as the fast path reads it: unknown facts absent, numbers exact.

    Every Decimal or float becomes `exact(value)` — what `evaluate_expr` reads a number fact
    as (only number facts hold them). A value `exact` refuses is left out and named in
    `refused`: an expression reading it goes to the interpreter, which says what it says
    about it.
    """
    out = {}
    for name, value in row.items():
        if value is None:
            continue
        kind = type(value)
        if kind is Decimal:
            try:  # exact(value), sooner: Fraction(Decimal) takes the same ratio, reduced
                top, bottom = value.as_integer_ratio()
            except (ArithmeticError, ValueError):
                refused.append(name)
                continue
            value = top if bottom == 1 else Fraction(top, bottom)
        elif kind is float:
            try:
                value = exact(value)
            except (ArithmeticError, ValueError):
                refused.append(name)
                continue
        out[name] = value
    return out


def _rows(facts: Facts) -> tuple[dict[str, Any], tuple[dict[str, Any], ...]]:
    """The subject's and the members' known rows (`_known`); the subject's holds `"!"` when a
    value anywhere was refused, which sends every Kleene path to the interpreter."""
    refused: list[str] = []
    subject = _known(facts.subject, refused)
    members = tuple([_known(m, refused) for m in facts.members])
    if refused:
        subject["!"] = True
    return subject, members


_spelled = spelled  # the IR's operators only (matcher.interpreter.kleene)


class _Gen:
    """Python source for an expression over the known rows `S` (subject) and `MS` (members);
    its constants named `k0`, `k1`, … An unknown fact is a missing key (`KeyError`)."""

    def __init__(self, consts: dict[str, Any], formulas: dict[ir.Expr, str] | None) -> None:
        self.consts = consts
        self.formulas = formulas  # formula → its key in `S`; None: inline formulas
        self.depth = 0

    def const(self, value: Any) -> str:
        name = f"k{len(self.consts)}"
        self.consts[name] = value
        return name

    def expr(self, e: ir.Expr, member: str | None) -> str:
        if isinstance(e, ir.Const):
            value = exact(e.value) if e.type == "number" else e.value  # type: ignore[arg-type]
            return self.const(value)
        if isinstance(e, ir.FactRef):
            if e.formula is not None:
                if self.formulas is None:
                    return self.expr(e.formula, None)
                key = self.formulas.setdefault(e.formula, f"={e.name}#{len(self.formulas)}")
                return f"S[{key!r}]"
            if e.member and member is None:
                return "_slow()"
            return f"{member if e.member else 'S'}[{e.name!r}]"
        if isinstance(e, ir.And | ir.Or):
            word = " and " if isinstance(e, ir.And) else " or "
            return "(" + word.join(f"({self.expr(o, member)})" for o in e.operands) + ")"
        if isinstance(e, ir.Not):
            return f"(not ({self.expr(e.operand, member)}))"
        if isinstance(e, ir.Compare):
            left, right = self.expr(e.left, member), self.expr(e.right, member)
            return f"(({left}) {_spelled(e.op)} ({right}))"
        if isinstance(e, ir.InSet):
            values = self.const(e.values)
            test = "not in" if e.negated else "in"
            return f"(({self.expr(e.operand, member)}) {test} {values})"
        if isinstance(e, ir.Arith | ir.Neg | ir.Call):
            folded = fold(e)  # constants only: computed once, here
            if folded is not None:
                return self.const(folded[0])
        if isinstance(e, ir.Arith):
            left, right = self.expr(e.left, member), self.expr(e.right, member)
            if e.op == "/":
                return f"_div({left}, {right})"
            if e.op == "**":
                return f"_pow({left}, {right})"
            return f"(({left}) {_spelled(e.op)} ({right}))"
        if isinstance(e, ir.Neg):
            return f"(-({self.expr(e.operand, member)}))"
        if isinstance(e, ir.Call):
            args = "".join(f"{self.expr(a, member)}, " for a in e.args)
            return f"{_spelled(e.func)}(({args}))"
        if isinstance(e, ir.IfElse):
            cond = self.expr(e.cond, member)
            then, other = self.expr(e.then, member), self.expr(e.other, member)
            return f"(({then}) if ({cond}) else ({other}))"
        if isinstance(e, ir.Aggregate):
            self.depth += 1
            row = f"m{self.depth}"
            body = self.expr(e.body, row)
            self.depth -= 1
            if e.func == "any":
                return f"any(({body}) for {row} in MS)"
            if e.func == "all":
                return f"all(({body}) for {row} in MS)"
            if e.func == "count":
                return f"sum(1 for {row} in MS if ({body}) is True)"
            return f"sum((({body}) for {row} in MS), 0)"
        raise ValueError(f"params are not bound in {e!r}: call CompiledPolicy.bind(on)")


def _fmt1(value: Any) -> str:
    """`match._fmt`, sooner for the usual values (text, yes/no, whole numbers, decimals, dates)."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is bool:
        return "是" if value else "否"
    if value is None:
        return "未知"
    if kind is int or kind is Decimal or kind is date:
        return str(value)
    if kind is Fraction:  # `_fmt`: to the fen, "约" unless that is the value itself
        shown = _to_fen(value)
        exact = (value.numerator * 100) % value.denominator == 0
        return str(shown) if exact else f"约 {shown}"
    return _fmt(value)


def _shown(name: str, member: bool, facts: Facts) -> str:
    """`match._shown` for a fact read as it is (not a formula)."""
    subject = facts.subject
    if name in subject:
        return _fmt1(subject[name])
    members = facts.members
    if not (member and members):
        return "未知"
    shown: list[str] = []
    for row in members:  # a loop, not a comprehension: no frame of its own
        value = row.get(name)
        kind = type(value)
        if kind is str:
            shown.append(value)  # type: ignore[arg-type]
        elif kind is bool:
            shown.append("是" if value else "否")
        elif kind is int:
            shown.append(str(value))
        else:
            shown.append(_fmt1(value))
    return "[" + ", ".join(shown) + "]"


def _to_fen(value: Any) -> Decimal:
    """`rules.numbers.to_fen` of an `int` or a `Fraction`, without building Fractions: the
    same half-up rounding of |value| × 100 (the ratio need not be reduced for it)."""
    kind = type(value)
    if kind is int:
        return from_fen(value * 100)
    if kind is Fraction:
        top, bottom = value.numerator, value.denominator
        whole, rest = divmod(abs(top) * 100, bottom)
        if 2 * rest >= bottom:
            whole += 1
        return from_fen(whole if top >= 0 else -whole)
    return to_fen(value)


def _amount(value: Any) -> tuple[Decimal | None, tuple[Decimal | None, Decimal | None] | None]:
    """`match.amount_of`, sooner for a whole number, a `Fraction` and a range of them."""
    kind = type(value)
    if kind is int and -_WHOLE < value < _WHOLE:
        return Decimal(value).quantize(FEN), None
    if kind is Fraction:
        return _to_fen(value), None
    if kind is Range:
        low, high = value.lo, value.hi
        return None, (
            None if low is None else _to_fen(low),
            None if high is None else _to_fen(high),
        )
    return amount_of(value)


def _made(cls: type[T], **values: Any) -> T:
    """`cls(**values)` without the frozen dataclass's `__init__` (`results.build`)."""
    obj = object.__new__(cls)
    obj.__dict__.update(values)
    return obj


def _sorted(missing: frozenset[str]) -> tuple[str, ...]:
    return tuple(sorted(missing))


class _Source:
    """The generated module: functions as text, constants by name."""

    def __init__(self) -> None:
        self.consts: dict[str, Any] = {}
        self.lines: list[str] = []

    def const(self, value: Any, prefix: str = "k") -> str:
        name = f"{prefix}{len(self.consts)}"
        self.consts[name] = value
        return name


class ExplainPlan:
    """Everything about (catalogue, date, subject) that does not depend on the profile."""

    def __init__(self, catalogue: Catalogue, on: date, subject: str) -> None:
        """Compile every policy of `subject` in `catalogue` as bound on `on`."""
        self.catalogue, self.on, self.subject = catalogue, on, subject
        self._src = _Source()
        self._exprs: dict[ir.Expr, tuple[str, str, str]] = {}  # expression → `_parts`
        self._conds: dict[tuple[str, str, str | None, ir.Expr], int] = {}
        self._explain: list[list[str]] = []  # per condition: the lines that explain it
        self._done: set[int] = set()  # conditions surely explained at this point of `run`
        self._refs: dict[tuple[str, bool, ir.Expr | None], int] = {}
        self._formulas: dict[ir.Expr, str] = {}  # a derived fact's formula → its key in `S`
        self.interpreted: list[ir.Expr] = []  # expressions without Kleene code (too deep)
        self._lock = threading.Lock()
        policies = catalogue.for_subject(subject)
        ids = [p.id for p in policies]
        self.pairs = partner_map(ids, lambda pid: catalogue.policies[pid].spec.excludes)
        partnered = [i for i, pid in enumerate(ids) if self.pairs[pid]]
        bundles = [b for _, b in sorted(catalogue.bundles.items()) if b.spec.subject == subject]
        body = [self._policy(i, p) for i, p in enumerate(policies)]
        gates = [self._cond(b.gate) for b in bundles]
        for gate in gates:
            body.append(self._use(gate, "    "))
        src = self._src
        lines = [
            "def run(facts):",
            "    S, MS = _rows(facts)",
            "    region = facts.region_code",
        ]
        for formula, key in self._formulas.items():
            # computed once a profile; on anything but a value the key stays absent, and an
            # expression reading it is evaluated by the interpreter
            fast = _Gen(src.consts, None).expr(formula, None)
            lines += [
                "    try:",
                f"        S[{key!r}] = {fast}",
                "    except Exception:",
                "        pass",
            ]
        lines += [f"    c{i} = v{i} = None" for i in range(len(self._conds))]
        lines += [f"    s{j} = None" for j in range(len(self._refs))]
        for block in body:
            lines += block
        out = "".join(f"r{i}, " for i in range(len(policies)))
        lines.append(f"    results = [{out}]")
        if partnered:
            # `resolve_pairs` changes nothing unless two partners are both eligible
            index = {pid: i for i, pid in enumerate(ids)}
            both = [
                f'(r{i}.status == "eligible" and r{index[other]}.status == "eligible")'
                for i in partnered
                for other in sorted(self.pairs[ids[i]])
                if index[other] > i
            ]
            lines.append(f"    if {' or '.join(both)}:")
            lines.append("        results = _resolve(results, PAIRS)")
            lines.append(f"        {out}= results")
        position = {pid: i for i, pid in enumerate(ids)}
        parts = []
        for b, gate in zip(bundles, gates, strict=True):
            title = src.const(b.spec.title)
            members = "".join(f"r{position[m]}, " for m in b.spec.members if m in position)
            parts.append(
                f"_made(_BR, bundle_id={b.id!r}, title={title}, gate=c{gate}, members=({members}))"
            )
        bundle_tuple = "(" + "".join(f"{p}, " for p in parts) + ")"
        lines.append(
            "    return _made(_MR, on=ON, catalogue_version=VERSION, results=tuple(results), "
            f"bundles={bundle_tuple})"
        )
        namespace: dict[str, Any] = {
            "_slow": _slow,
            "_div": _div,
            "_pow": _pow,
            "_rows": _rows,
            **HELPERS,
            "_shown": _shown,
            "_fmt1": _fmt1,
            "_new": object.__new__,
            "_made": _made,
            "_fmt": _fmt,
            "_sorted": _sorted,
            "_Slow": _Slow,
            "_eval": evaluate_expr,
            "_amount_of": _amount,
            "_CR": ConditionResult,
            "_PR": PolicyResult,
            "_BR": BundleResult,
            "_MR": MatchResult,
            "_resolve": resolve_pairs,
            "_scope": self._scope,
            "_NOTE": REGION_UNKNOWN_NOTE,
            "PAIRS": self.pairs,
            "ON": on,
            "VERSION": catalogue.version,
            "EMPTY": frozenset(),
            **src.consts,
        }
        self.source = "\n".join(src.lines + lines) + "\n"
        exec(compile(self.source, f"<zhida explain plan {subject}>", "exec"), namespace)  # noqa: S102
        self._run: Callable[[Facts], MatchResult] = namespace["run"]

    def match(self, facts: Facts) -> MatchResult:
        """What `matcher.interpreter.match.match` says about `facts`: the same result."""
        return self._run(facts)

    # --- compiling ----------------------------------------------------------------------------

    def _expr(self, e: ir.Expr) -> str:
        """The name of a function `(S, MS, facts) -> (value, missing)` for `e`: the fast path
        (every fact known), else the Kleene path (`kleene.KleeneGen`), else the interpreter."""
        return self._parts(e)[0]

    def _parts(self, e: ir.Expr) -> tuple[str, str, str]:
        """For `e`: the name of its function (`_expr`), its fast path as an expression, and
        the name of a function `(S, MS, facts) -> (value, missing)` for when that fails."""
        if e not in self._exprs:
            src = self._src
            i = len(self._exprs)
            fast = _Gen(src.consts, self._formulas).expr(e, None)
            try:
                compile(fast, "<zhida fast>", "eval")
            except (SyntaxError, RecursionError, MemoryError):
                fast = "_slow()"  # nested deeper than Python parses: the other paths'
            expr = src.const(e, "e")
            kleene = self._kleene(e, f"y{i}")
            src.lines.append(f"def z{i}(S, MS, facts):")
            if kleene is not None:
                src.lines += [
                    "    try:",
                    f"        return {kleene}(S, MS)",
                    "    except _Slow:",
                    "        pass",
                ]
            src.lines += [
                f"    return _eval({expr}, facts)",
                f"def x{i}(S, MS, facts):",
                "    try:",
                f"        return {fast}, EMPTY",
                "    except (KeyError, _Slow):",
                f"        return z{i}(S, MS, facts)",
            ]
            self._exprs[e] = (f"x{i}", fast, f"z{i}")
        return self._exprs[e]

    def _kleene(self, e: ir.Expr, name: str) -> str | None:
        """Add the Kleene function `name` for `e`; None when Python cannot compile it (an
        expression nested deeper than Python's parser or block limits: the interpreter's)."""
        src = self._src
        consts = dict(src.consts)
        formulas = dict(self._formulas)
        try:
            lines = KleeneGen(src.const, self._formulas).function(name, e)
            compile("\n".join(lines) + "\n", "<zhida kleene>", "exec")
        except (SyntaxError, RecursionError, MemoryError):
            self.interpreted.append(e)
            src.consts.clear()
            src.consts.update(consts)
            self._formulas.clear()
            self._formulas.update(formulas)
            return None
        src.lines += lines
        return name

    def _cond(self, cond: CompiledCondition) -> int:
        """The index `i` of `cond`: the lines `_use(i)` sets `c{i}` (its `ConditionResult`)
        and `v{i}` (its verdict) with; a condition shared by policies is explained once."""
        threshold = cond.threshold if cond.facts else ir.threshold(cond.expr)
        key = (cond.says, cond.text, threshold, cond.expr)
        if key in self._conds:
            return self._conds[key]
        src = self._src
        index = len(self._conds)
        found = {n.name: n for n in ir.walk(cond.expr) if isinstance(n, ir.FactRef)}
        _, fast, slow = self._parts(cond.expr)
        lines = [
            "try:",
            f"    v = {fast}",
            "    miss = EMPTY",
            "except (KeyError, _Slow):",
            f"    v, miss = {slow}(S, MS, facts)",
        ]
        seen = []
        for name in sorted(found):  # each value shown is formatted once a profile
            ref = found[name]
            j = self._ref(ref)
            lines.append(f"if s{j} is None:")
            if ref.formula is not None:
                lines.append(f"    s{j} = _fmt1({self._expr(ref)}(S, MS, facts)[0])")
            else:
                lines.append(f"    s{j} = _shown({name!r}, {ref.member!r}, facts)")
            seen.append(f"({name!r}, s{j}), ")
        # `results.build` written out: the object `ConditionResult(...)` makes, field by field
        fixed = src.const({"says": cond.says, "text": cond.text, "threshold": threshold}, "t")
        lines += [
            f"c{index} = q = _new(_CR)",
            "q = q.__dict__",
            f"q.update({fixed})",
            f"v{index} = q['verdict'] = None if v is None else bool(v)",
            f"q['seen'] = ({''.join(seen)})",
            "q['missing'] = _sorted(miss) if miss else ()",
        ]
        self._explain.append(lines)
        self._conds[key] = index
        return index

    def _use(self, index: int, pad: str) -> list[str]:
        """The lines of `run` (indented by `pad`) after which `c{index}` and `v{index}` are
        set: none if they surely are; at the top level of `run` the condition's lines; in a
        branch, those lines unless it was explained before."""
        if index in self._done:
            return []
        lines = self._explain[index]
        if pad == "    ":
            self._done.add(index)
            return [pad + line for line in lines]
        return [f"{pad}if c{index} is None:"] + [f"{pad}    {line}" for line in lines]

    def _ref(self, ref: ir.FactRef) -> int:
        key = (ref.name, ref.member, ref.formula)
        if key not in self._refs:
            self._refs[key] = len(self._refs)
        return self._refs[key]

    def _policy(self, i: int, policy: CompiledPolicy) -> list[str]:
        """The lines of `run` that set `r{i}`, the policy's result before `excludes`."""
        spec, on, src = policy.spec, self.on, self._src
        regional = bool(spec.regions)
        if not regional or not policy.in_force(on):
            early = scope_result(policy, None if regional else "", on)
            if early is not None:
                return [f"    r{i} = {src.const(early, 'fixed')}"]
        base = PolicyResult(
            spec.id, spec.title, spec.department, spec.delivery, "ineligible", bundle=spec.bundle
        )
        template = src.const({name: getattr(base, name) for name in _RESULT_FIELDS}, "t")
        bound = policy.bind(on)
        conds = [self._cond(c) for c in bound.conditions] if bound else []
        pad = "    "
        lines = []
        if regional:
            cache = src.const({}, "scope")
            pol = src.const(policy, "p")
            lines.append(
                f"    early, inside = {cache}.get(region) or _scope({cache}, {pol}, region)"
            )
            lines.append("    if early is not None:")
            lines.append(f"        r{i} = early")
            lines.append("    else:")
            pad = "        "
        for c in dict.fromkeys(conds):
            lines += self._use(c, pad)
        conds_tuple = "(" + "".join(f"c{c}, " for c in conds) + ")"
        # `results.build` written out: the result is made, then its fields set before it is seen
        lines.append(f"{pad}r{i} = _new(_PR)")
        lines.append(f"{pad}d = r{i}.__dict__")
        lines.append(f"{pad}d.update({template})")
        lines.append(f"{pad}d['conditions'] = {conds_tuple}")
        false = " or ".join(f"v{c} is False" for c in dict.fromkeys(conds)) or "False"
        unknown = " or ".join(f"v{c} is None" for c in dict.fromkeys(conds))
        if regional:
            unknown = f"inside is None or {unknown}" if unknown else "inside is None"
        lines.append(f"{pad}if {false}:")
        lines.append(f"{pad}    pass")
        if unknown:
            miss = "{m for c in d['conditions'] if c.verdict is None for m in c.missing}"
            lines.append(f"{pad}elif {unknown}:")
            lines.append(f"{pad}    missing = {miss}")
            if regional:
                lines.append(f"{pad}    if inside is None:")
                lines.append(f"{pad}        missing.add('region_code')")
                lines.append(f"{pad}        d['note'] = _NOTE")
            lines.append(f"{pad}    d['status'] = 'undetermined'")
            lines.append(f"{pad}    d['missing'] = tuple(sorted(missing))")
        lines.append(f"{pad}else:")
        lines.append(f"{pad}    d['status'] = 'eligible'")
        benefit = spec.benefit
        if bound is not None and bound.amount is not None and benefit is not None:
            amount = self._expr(bound.amount)
            unit, period = src.const(benefit.unit), src.const(benefit.period)
            lines.append(f"{pad}    v, miss = {amount}(S, MS, facts)")
            lines.append(f"{pad}    d['amount'], d['amount_bounds'] = _amount_of(v)")
            lines.append(f"{pad}    d['unit'], d['period'] = {unit}, {period}")
            lines.append(f"{pad}    d['missing'] = _sorted(miss) if miss else ()")
        return lines

    def _scope(
        self, cache: dict[str | None, Any], policy: CompiledPolicy, region: str | None
    ) -> tuple[PolicyResult | None, bool | None]:
        found = (scope_result(policy, region, self.on), in_region(policy, region))
        with self._lock:
            if len(cache) >= _MAX_SCOPES:
                cache.clear()
            cache[region] = found
        return found


_RESULT_FIELDS = tuple(f.name for f in fields(PolicyResult))
_MAX_SCOPES = 4096  # region codes whose scope results a policy keeps


_PLANS: OrderedDict[tuple[int, str, date, str], tuple[Catalogue, ExplainPlan]] = OrderedDict()
_ASKED: OrderedDict[tuple[int, str, date, str], int] = OrderedDict()  # uses before a plan
_PLANS_LOCK = threading.Lock()
_MAX_PLANS = 8
_MAX_ASKED = 256
COMPILE_AFTER = 2  # `match_compiled` builds a plan on the second use of its key


def _key(catalogue: Catalogue, on: date, subject: str) -> tuple[int, str, date, str]:
    return (id(catalogue), catalogue.version, on, subject)


def _cached(key: tuple[int, str, date, str], catalogue: Catalogue) -> ExplainPlan | None:
    found = _PLANS.get(key)
    if found is not None and found[0] is catalogue:
        _PLANS.move_to_end(key)
        return found[1]
    return None


def explain_plan(catalogue: Catalogue, on: date, subject: str) -> ExplainPlan:
    """The plan for (catalogue, on, subject), compiled now unless kept (the last 8 are kept)."""
    key = _key(catalogue, on, subject)
    with _PLANS_LOCK:
        plan = _cached(key, catalogue)
    if plan is not None:
        return plan
    plan = ExplainPlan(catalogue, on, subject)
    with _PLANS_LOCK:
        _PLANS[key] = (catalogue, plan)  # the catalogue is held so its id is not reused
        while len(_PLANS) > _MAX_PLANS:
            _PLANS.popitem(last=False)
    return plan


def match_compiled(catalogue: Catalogue, facts: Facts, on: date, subject: str) -> MatchResult:
    """`match(catalogue, facts, on, subject)`, through the compiled plan once it pays.

    The first profile of a (catalogue, date, subject) is matched by the interpreter and the
    plan is compiled on the second (≈ 50 ms for the real catalogue, 0.6 s for 200 policies),
    so requests that each name another evaluation date never pay for a compilation.
    """
    key = _key(catalogue, on, subject)
    with _PLANS_LOCK:
        plan = _cached(key, catalogue)
        if plan is None:
            uses = _ASKED.pop(key, 0) + 1
            _ASKED[key] = uses
            while len(_ASKED) > _MAX_ASKED:
                _ASKED.popitem(last=False)
    if plan is not None:
        return plan.match(facts)
    if uses < COMPILE_AFTER:
        return match(catalogue, facts, on, subject)
    return explain_plan(catalogue, on, subject).match(facts)
