"""一次性告知: which facts to ask for, of whom, and for which policies.

An engine lists a fact as missing only when knowing it could change a verdict (or an amount).
A member fact (`is_student`) is asked of the members whose own part of an aggregate is still
undecided for lack of it: in `any(members, age < 22 and is_student)` a 70-year-old's part is
already false, so only the young members are asked. Each `Ask` names the fact, the member (its
position in the profile's members; None for a household or enterprise fact) and the titles of
the policies that need it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from matcher.interpreter.evaluate import evaluate_expr
from matcher.interpreter.results import PolicyResult
from matcher.profiles.facts import Facts
from rules import ir
from rules.catalogue import Catalogue
from rules.facts import FactValue

__all__ = ["Ask", "asks_for", "fact_label"]

Blame = set[tuple[str, int | None]]


@dataclass(frozen=True)
class Ask:
    """One fact to bring: of one member (its index) or of the whole subject (None)."""

    fact: str
    member: int | None
    policies: tuple[str, ...]


def fact_label(name: str, catalogue: Catalogue) -> str:
    """The fact's Chinese label (`在校学生`), else its name."""
    fact = catalogue.facts.get(name)
    if name == "region_code":
        return "所在地区代码"
    return (fact.label or name) if fact is not None else name


def asks_for(
    catalogue: Catalogue, facts: Facts, on: date, results: Iterable[PolicyResult]
) -> list[Ask]:
    """Every fact still needed, of whom, and by which policies, in a stable order.

    Args:
        catalogue: the catalogue the results came from.
        facts: the subject's facts (members in profile order).
        on: the evaluation date of the results.
        results: the subject's results; those with `missing` facts are asked about.

    Returns:
        Household (or enterprise) facts first, then member facts by member, by fact name.
    """
    needed: dict[tuple[str, int | None], list[str]] = {}
    for r in results:
        if not r.missing or r.status == "ineligible":
            continue
        for key in sorted(_blamed(catalogue, facts, on, r), key=_order):
            needed.setdefault(key, []).append(r.title)
    return [Ask(f, m, tuple(titles)) for (f, m), titles in sorted(needed.items(), key=_entry)]


def _order(key: tuple[str, int | None]) -> tuple[int, str]:
    fact, member = key
    return (-1 if member is None else member, fact)


def _entry(item: tuple[tuple[str, int | None], list[str]]) -> tuple[int, str]:
    return _order(item[0])


def _blamed(catalogue: Catalogue, facts: Facts, on: date, r: PolicyResult) -> Blame:
    """(fact, member) pairs behind `r.missing`; a fact not traced is asked of all who lack it."""
    found: Blame = set()
    policy = catalogue.policies.get(r.policy_id)
    bound = policy.bind(on) if policy is not None else None
    if bound is not None:
        exprs = [c.expr for c in bound.conditions] if r.status == "undetermined" else []
        if r.status == "eligible" and r.amount is None and bound.amount is not None:
            exprs.append(bound.amount)
        for expr in exprs:
            _blame(expr, facts, None, None, found)
    wanted = set(r.missing)
    found = {(f, m) for f, m in found if f in wanted}
    for name in wanted - {f for f, _ in found}:
        found |= _lacking(name, catalogue, facts)
    return found


def _lacking(name: str, catalogue: Catalogue, facts: Facts) -> Blame:
    fact = catalogue.facts.get(name)
    if fact is None or fact.level != "member" or not facts.members:
        return {(name, None)}
    return {(name, i) for i, m in enumerate(facts.members) if m.get(name) is None}


def _blame(
    expr: ir.Expr,
    facts: Facts,
    index: int | None,
    row: Mapping[str, FactValue] | None,
    found: Blame,
) -> None:
    """Add the facts whose absence leaves `expr` undecided, with the member they belong to."""
    _, missing = evaluate_expr(expr, facts, row)
    if not missing:
        return
    if isinstance(expr, ir.FactRef):
        if expr.formula is not None:
            _blame(expr.formula, facts, None, None, found)
            return
        found.update((name, index if expr.member else None) for name in expr.missing_as)
        return
    if isinstance(expr, ir.Aggregate):
        for i, member in enumerate(facts.members):
            _blame(expr.body, facts, i, member, found)
        return
    parts: tuple[ir.Expr, ...] = ir.children(expr)
    if isinstance(expr, ir.IfElse):
        cond, _ = evaluate_expr(expr.cond, facts, row)
        if cond is not None:
            parts = (expr.then if cond else expr.other,)
    for part in parts:
        _blame(part, facts, index, row, found)
