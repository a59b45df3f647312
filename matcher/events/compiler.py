"""The event engine's compiler: a catalogue at a date → durable-rules rulesets as JSON text.

Pure: no `durable` import here (the runtime, `matcher.events.runtime`, creates and fires them).

A catalogue bound at an `on` date becomes JSON rulesets, one rule per policy in force and one
per bundle gate. A profile is normalised to one fact, asserted, every rule that fired is
collected by its name, and the fact is retracted. The eligible set equals the interpreter's
(`matcher.interpreter.match.eligible_ids`): a rule fires only when every condition is definitely
true under Kleene logic, an absent fact being unknown.

Each condition is compiled twice by polarity: T(e) "definitely true" and F(e) "definitely
false" (T(a and b) = T(a) ∧ T(b), F(a and b) = F(a) ∨ F(b), T(not a) = F(a), …).

Native in durable-rules: comparisons of a fact with a constant (`$lt`, `$neq`, `{f: v}`: decimals of
at most 15 significant digits keep their order as doubles); `in` lists (an `$or` of equalities, `not
in` an `$and` of `$neq`); and/or/not; `any`/`all` over members (`$iany`/`$iall` with `$i.`-prefixed
item fields, an `$iall` normalised by an explicit member count because it fails on an empty list);
regions (equality on the region code cut at each prefix length); bool facts (1/0). Precomputed into
hidden boolean fields `_z_h<n>` (with `matcher.interpreter.evaluate.evaluate_expr`, the
interpreter's own evaluator, so an unknown stays absent): every comparison or `in` that exact
numbers or ranges may decide (`matcher.vector.exact_rows.needs_ranges`: arithmetic, `count`/`sum`,
formulas such as per-capita income, two facts compared, a constant outside a fact's domain), and
inside `any`/`all` a body holding a disjunction. Household facts read inside `any`/`all` are copied
into each member item.

Measured traps the compiler and the runtime handle (DESIGN.md, "durable-rules: what was measured"):
    more than 64 rules (or `$or` branches) firing for one fact in one ruleset overflow a stack
    (error 303): a ruleset holds at most `max_rules` rules *and* possible firings (default 64;
    a rule fires once per satisfied disjunct), so 303 cannot happen by construction; if it
    does anyway, the profile falls back to the interpreter, logged; a rule is capped at 32
    expressions (error 113): the largest condition is then precomputed; numbers in
    exponent notation (`1e-05`) are refused (error 204), so JSON is written here with exact
    decimal expansions; `\\u` escapes are not decoded, so text is written unescaped; `$m`
    arithmetic over an absent field matches at random, hence the `$ex` guards; the Host's
    timer threads race asserts, so the raw binding is used under one process-wide lock.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from matcher.events.encoding import (
    COUNT,
    MEMBERS,
    SUBJECT,
    Formula,
    Json,
    Normaliser,
    all_of,
    any_of,
    dumps,
    encode_const,
    field,
)
from matcher.interpreter.evaluate import evaluate_expr
from matcher.profiles.errors import EngineError
from matcher.profiles.facts import Facts
from matcher.vector.exact_rows import needs_ranges
from rules import ir
from rules.catalogue import Catalogue

__all__ = ["Compiler", "compile_rulesets"]


# --- compiling conditions --------------------------------------------------------------------

_OPS = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte", "!=": "$neq"}
_NEGATED: dict[ir.CompareOp, ir.CompareOp] = {
    "==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">"
}  # fmt: skip
_FLIPPED: dict[ir.CompareOp, ir.CompareOp] = {
    "==": "==", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="
}  # fmt: skip
_NO_FACTS = Facts(subject={})


class Compiler:
    """Turns bound conditions into T/F formulas and records what a fact must carry."""

    def __init__(self) -> None:
        self.top: set[str] = set()
        self.item: set[tuple[str, bool]] = set()
        self.hidden_top: dict[ir.Expr, str] = {}
        self.hidden_item: dict[ir.Expr, str] = {}
        self.region_lengths: set[int] = set()
        self.members = False

    def hide(self, e: ir.Expr, item: bool) -> str:
        table = self.hidden_item if item else self.hidden_top
        if e not in table:
            table[e] = f"_z_h{len(self.hidden_top) + len(self.hidden_item)}"
        return ("$i." if item else "") + table[e]

    def fact(self, ref: ir.FactRef, item: bool) -> str:
        if item:
            self.item.add((ref.name, ref.member))
        else:
            self.top.add(ref.name)
        return ("$i." if item else "") + field(ref.name)

    def truth(self, e: ir.Expr, want: bool, item: bool = False) -> Formula:
        """T(e) when `want`, else F(e)."""
        if _constant(e):
            value, _ = evaluate_expr(e, _NO_FACTS)
            return value is not None and bool(value) == want
        match e:
            case ir.Const(value=v):
                return bool(v) == want
            case ir.FactRef():
                return {self.fact(e, item): 1 if want else 0}
            case ir.Not(operand=a):
                return self.truth(a, not want, item)
            case ir.And(operands=ops) | ir.Or(operands=ops):
                join = all_of if isinstance(e, ir.And) == want else any_of
                return join(self.truth(o, want, item) for o in ops)
            case ir.Aggregate(func="any" | "all", body=body) if not item:
                inner = self.truth(body, want, True)
                if _has_or(inner):
                    # a `$or` inside `$iany`/`$iall` misses matches (measured: an item that
                    # satisfies one disjunct but not the rest hides a later item that
                    # satisfies all): the body is precomputed per member instead
                    inner = {self.hide(body, True): 1 if want else 0}
                return self.aggregate((e.func == "any") == want, inner)
            case ir.Compare(left=left) if left.type == "bool":
                return self.bool_compare(e, want, item)
            case ir.Compare() | ir.InSet() if needs_ranges(e):
                # exact numbers and ranges (an unknown income bounded by its domain, a count
                # with members unknown) are the interpreter's evaluator's: precomputed
                return {self.hide(e, item): 1 if want else 0}
            case ir.Compare():
                return self.compare(e, want, item)
            case ir.InSet():
                return self.in_set(e, want, item)
        return {self.hide(e, item): 1 if want else 0}

    def aggregate(self, some: bool, inner: Formula) -> Formula:
        """Some member (`$iany`) or every member (`$iall`) satisfies `inner`."""
        self.members = True
        if isinstance(inner, bool):
            return (
                ({"$gt": {COUNT: 0}} if some else True)
                if inner
                else (False if some else {COUNT: 0})
            )
        if some:
            return {"$iany": {MEMBERS: inner}}
        return any_of([{COUNT: 0}, {"$iall": {MEMBERS: inner}}])  # `$iall` fails on an empty list

    def bool_compare(self, e: ir.Compare, want: bool, item: bool) -> Formula:
        t = [self.truth(side, True, item) for side in (e.left, e.right)]
        f = [self.truth(side, False, item) for side in (e.left, e.right)]
        same = any_of([all_of(t), all_of(f)])
        differ = any_of([all_of([t[0], f[1]]), all_of([f[0], t[1]])])
        return same if (e.op == "==") == want else differ

    def compare(self, e: ir.Compare, want: bool, item: bool) -> Formula:
        """A fact against a constant (anything else is precomputed: `needs_ranges`)."""
        if _constant(e):
            value, _ = evaluate_expr(e, _NO_FACTS)
            return value is not None and bool(value) == want
        op = e.op if want else _NEGATED[e.op]
        left, right = e.left, e.right
        if isinstance(left, ir.Const):
            left, right, op = right, left, _FLIPPED[op]
        if not (isinstance(left, ir.FactRef) and isinstance(right, ir.Const)):
            return {self.hide(e, item): 1 if want else 0}
        return _test(op, self.fact(left, item), encode_const(right.value))

    def in_set(self, e: ir.InSet, want: bool, item: bool) -> Formula:
        x = e.operand
        field = self.fact(x, item) if isinstance(x, ir.FactRef) else self.hide(x, item)
        values = [encode_const(v) for v in e.values]
        if want != e.negated:
            return any_of({field: v} for v in values)
        return all_of([{"$ex": {field: 1}}, *({"$neq": {field: v}} for v in values)])

    def region(self, prefixes: Sequence[str] | None) -> Formula:
        if not prefixes:
            return True
        self.region_lengths.update(len(p) for p in prefixes)
        return any_of({f"_z_r{len(p)}": p} for p in prefixes)


def _has_or(f: Json) -> bool:
    """Whether a formula holds a disjunction anywhere."""
    if isinstance(f, dict):
        return "$or" in f or any(_has_or(v) for v in f.values() if isinstance(v, dict | list))
    if isinstance(f, list):
        return any(_has_or(v) for v in f)
    return False


def _constant(e: ir.Expr) -> bool:
    """Whether `e` has one value for every profile (no fact, no aggregate over members)."""
    return not any(isinstance(n, ir.FactRef | ir.Aggregate) for n in ir.walk(e))


def _test(op: ir.CompareOp, field: str, right: Json) -> dict[str, Any]:
    return {field: right} if op == "==" else {_OPS[op]: {field: right}}


def _width(f: Formula) -> int:
    """How many times a rule can fire for one fact: durable-rules fires once per satisfied
    disjunct of the rule's disjunctive normal form (an `$iany`/`$iall` fires once)."""
    if isinstance(f, bool):
        return int(f)
    if "$and" in f:
        return math.prod(_width(p) for p in f["$and"])
    return sum(_width(p) for p in f["$or"]) if "$or" in f else 1


def rule(
    comp: Compiler,
    subject: str,
    exprs: list[ir.Expr],
    regions: Sequence[str] | None,
    max_width: int,
    fits: Callable[[Formula], bool],
) -> Formula:
    """One rule: the subject, the region and every condition definitely true.

    durable-rules caps the expressions of one rule (error 113, 32 per node), and more than
    64 firings for one fact overflow its stack (error 303): while the rule does not fit, its
    widest, then largest, native condition is precomputed into a hidden field instead.
    """
    parts = [comp.truth(e, True) for e in exprs]
    native = [True] * len(parts)
    while True:
        formula = all_of([{SUBJECT: subject}, comp.region(regions), *parts])
        if formula is False or (_width(formula) <= max_width and fits(formula)):
            return formula
        if not any(native):
            raise EngineError(f"durable-rules cannot hold a rule of {len(parts)} condition(s)")
        i = max(
            range(len(parts)), key=lambda j: (native[j], _width(parts[j]), len(dumps(parts[j])))
        )
        parts[i], native[i] = {comp.hide(exprs[i], False): 1}, False


def chunks(live: Sequence[tuple[str, Formula]], limit: int) -> list[dict[str, Json]]:
    """Rules in groups of at most `limit` rules and `limit` possible firings for one fact."""
    chunks: list[dict[str, Json]] = []
    room = 0
    for name, formula in live:
        width = _width(formula)
        if not chunks or len(chunks[-1]) >= limit or width > room:
            chunks.append({})
            room = limit
        chunks[-1][name] = {"all": [{"m": formula}]}
        room -= width
    return chunks


def compile_rulesets(
    catalogue: Catalogue, on: date, subject: str, limit: int, fits: Callable[[Formula], bool]
) -> tuple[list[tuple[str, str]], Normaliser, int]:
    """One subject's policies in force at `on` and bundle gates as named JSON rulesets.

    Returns the (name, JSON) of each ruleset — the name carries the catalogue version, the
    date, the subject and the content's digest —, the normaliser that writes a profile as the
    fact those rulesets read, and the number of rules that can fire. `fits` asks the runtime
    whether durable-rules accepts a rule (error 113 is found by trying).
    """
    comp = Compiler()
    rules: dict[str, Formula] = {}
    for policy in catalogue.for_subject(subject):
        bound = policy.bind(on) if policy.in_force(on) else None
        if bound is not None:
            exprs = [c.expr for c in bound.conditions]
            rules["p:" + policy.id] = rule(comp, subject, exprs, policy.spec.regions, limit, fits)
    for bid, bundle in sorted(catalogue.bundles.items()):
        if bundle.spec.subject == subject:
            rules["b:" + bid] = rule(comp, subject, [bundle.gate.expr], None, limit, fits)
    live = [(n, f) for n, f in rules.items() if f is not False]
    named = []
    for k, chunk in enumerate(chunks(live, limit)):
        text = dumps(chunk)
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        name = f"zhida.{catalogue.version}.{on:%Y%m%d}.{subject}.{k}.{digest}"
        named.append((name, text))
    return named, Normaliser(comp, catalogue.facts, subject), len(live)
