"""The explaining interpreter: one profile against the catalogue, three-valued, with reasons.

It is the reference semantics (docs/rule-language.md); every other engine is tested against it.
Numbers are exact and an amount is rounded once, to the fen (`rules.numbers.to_fen`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from fractions import Fraction

from matcher.interpreter.evaluate import Range, Value, evaluate_expr, known_number
from matcher.interpreter.excludes import drop, resolve
from matcher.interpreter.results import (
    BundleResult,
    ConditionResult,
    MatchResult,
    PolicyResult,
    Status,
)
from matcher.profiles.facts import Facts
from rules import ir
from rules.catalogue import Catalogue, CompiledBundle, CompiledCondition, CompiledPolicy
from rules.numbers import FEN, to_fen

__all__ = [
    "BundleResult",
    "ConditionResult",
    "MatchResult",
    "PolicyResult",
    "Status",
    "amount_of",
    "drop",
    "eligible_ids",
    "evaluate_expr",
    "evaluate_policy",
    "explain_condition",
    "in_region",
    "match",
    "resolve_excludes",
]

_WHOLE = 10**15  # whole amounts below this are exact in a Decimal to the fen
REGION_UNKNOWN_NOTE = "未知所在地区，无法判断是否在政策适用范围"


def explain_condition(cond: CompiledCondition, facts: Facts) -> ConditionResult:
    """Evaluate one bound condition and say what was seen."""
    value, missing = evaluate_expr(cond.expr, facts)
    verdict = None if value is None else bool(value)
    refs = {n.name: n for n in ir.walk(cond.expr) if isinstance(n, ir.FactRef)}
    seen = tuple((name, _shown(refs[name], facts)) for name in sorted(refs))
    threshold = cond.threshold if cond.facts else ir.threshold(cond.expr)
    return ConditionResult(cond.says, cond.text, verdict, seen, threshold, tuple(sorted(missing)))


def _shown(ref: ir.FactRef, facts: Facts) -> str:
    if ref.formula is not None:
        return _fmt(evaluate_expr(ref, facts)[0])
    if ref.name in facts.subject:
        return _fmt(facts.subject[ref.name])
    if ref.member and facts.members:
        return "[" + ", ".join(_fmt(m.get(ref.name)) for m in facts.members) + "]"
    return "未知"


def _fmt(value: Value) -> str:
    if value is None:
        return "未知"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Range):
        low = "" if value.lo is None else f"不低于 {_fmt(value.lo)}"
        high = "" if value.hi is None else f"不高于 {_fmt(value.hi)}"
        bounds = "，".join(b for b in (low, high) if b)
        return f"未知（{bounds}）" if bounds else "未知"
    if isinstance(value, Fraction):
        shown = to_fen(value)
        return str(shown) if shown == value else f"约 {shown}"
    return str(value)


def base_result(policy: CompiledPolicy) -> PolicyResult:
    """An ineligible result naming the policy, to be refined."""
    spec = policy.spec
    return PolicyResult(
        spec.id, spec.title, spec.department, spec.delivery, "ineligible", bundle=spec.bundle
    )


def in_region(policy: CompiledPolicy, region_code: str | None) -> bool | None:
    """Whether the subject is inside the policy's regions (None: its region is unknown)."""
    regions = policy.spec.regions
    if not regions:
        return True
    if region_code is None:
        return None
    return any(region_code.startswith(r) for r in regions)


def scope_result(policy: CompiledPolicy, region_code: str | None, on: date) -> PolicyResult | None:
    """The result when the date, the region or a parameter settles it before any condition.

    An unknown region settles nothing: the conditions are still evaluated, and a subject that
    plainly fails one is ineligible without being asked for its region (F ∧ U = F).
    """
    spec, base = policy.spec, base_result(policy)
    if not policy.in_force(on):
        until = f" 至 {spec.effective.until}" if spec.effective.until else ""
        return replace(base, note=f"{on} 不在政策有效期内（{spec.effective.start} 起{until}）")
    if in_region(policy, region_code) is False:
        return replace(
            base, note=f"所在地区 {region_code} 不在适用范围 {', '.join(spec.regions or ())}"
        )
    if policy.params_at(on) is None:
        return replace(base, note=f"{on} 时部分参数尚无取值")
    return None


def amount_of(value: Value) -> tuple[Decimal | None, tuple[Decimal | None, Decimal | None] | None]:
    """An amount expression's value as (amount to the fen, or None; its bounds when unknown)."""
    number = known_number(value)
    if number is not None:
        if type(number) is int and -_WHOLE < number < _WHOLE:
            return Decimal(number).quantize(FEN), None  # what to_fen gives, sooner
        return to_fen(number), None
    if isinstance(value, Range):
        low = None if value.lo is None else to_fen(value.lo)  # type: ignore[arg-type]
        high = None if value.hi is None else to_fen(value.hi)  # type: ignore[arg-type]
        return None, (low, high)
    return None, (None, None)


def with_amount(
    result: PolicyResult,
    policy: CompiledPolicy,
    amount: Decimal | None,
    missing: tuple[str, ...],
    bounds: tuple[Decimal | None, Decimal | None] | None = None,
) -> PolicyResult:
    """An eligible result with its amount (None, with its bounds, when a fact it needs is
    missing)."""
    benefit = policy.spec.benefit
    if benefit is None:
        return result
    return replace(
        result,
        amount=amount,
        unit=benefit.unit,
        period=benefit.period,
        missing=missing,
        amount_bounds=bounds,
    )


def decide(
    base: PolicyResult,
    conds: tuple[ConditionResult, ...],
    region: bool | None,
) -> PolicyResult:
    """The status from the conditions' verdicts and the region (Kleene `and`), before amounts."""
    if any(c.verdict is False for c in conds):
        return replace(base, conditions=conds)
    missing = {m for c in conds if c.verdict is None for m in c.missing}
    if region is None:
        missing.add("region_code")
    if missing or any(c.verdict is None for c in conds):
        note = REGION_UNKNOWN_NOTE if region is None else None
        status: Status = "undetermined"
        return replace(
            base, status=status, conditions=conds, missing=tuple(sorted(missing)), note=note
        )
    return replace(base, status="eligible", conditions=conds)


def evaluate_policy(policy: CompiledPolicy, facts: Facts, on: date) -> PolicyResult:
    """What `policy` says about the profile behind `facts` on `on` (before `excludes`)."""
    early = scope_result(policy, facts.region_code, on)
    if early is not None:
        return early
    bound = policy.bind(on)
    assert bound is not None  # scope_result checked the parameters
    conds = tuple(explain_condition(c, facts) for c in bound.conditions)
    result = decide(base_result(policy), conds, in_region(policy, facts.region_code))
    if result.status != "eligible" or bound.amount is None:
        return result
    value, amount_missing = evaluate_expr(bound.amount, facts)
    amount, bounds = amount_of(value)
    return with_amount(result, policy, amount, tuple(sorted(amount_missing)), bounds)


def resolve_excludes(
    results: list[PolicyResult], excludes: Callable[[str], Iterable[str]]
) -> list[PolicyResult]:
    """Apply `excludes` (`matcher.interpreter.excludes.resolve`): of eligible partners, keep the
    larger
    amount; an amount not yet known may leave which one is kept undetermined."""
    return resolve(results, excludes)


def eligible_ids(catalogue: Catalogue, facts: Facts, on: date, subject: str) -> set[str]:
    """Ids of the policies whose own conditions hold (before `excludes` is applied)."""
    return {
        p.id
        for p in catalogue.for_subject(subject)
        if evaluate_policy(p, facts, on).status == "eligible"
    }


def match(catalogue: Catalogue, facts: Facts, on: date, subject: str) -> MatchResult:
    """Every policy of the subject's kind against one profile, with excludes and bundles."""
    raw = [evaluate_policy(p, facts, on) for p in catalogue.for_subject(subject)]
    results = resolve_excludes(raw, lambda pid: catalogue.policies[pid].spec.excludes)
    by_id = {r.policy_id: r for r in results}
    bundles = tuple(
        _bundle(b, facts, by_id)
        for _, b in sorted(catalogue.bundles.items())
        if b.spec.subject == subject
    )
    return MatchResult(on, catalogue.version, tuple(results), bundles)


def _bundle(bundle: CompiledBundle, facts: Facts, by_id: dict[str, PolicyResult]) -> BundleResult:
    members = tuple(by_id[m] for m in bundle.spec.members if m in by_id)
    return BundleResult(
        bundle.id, bundle.spec.title, explain_condition(bundle.gate, facts), members
    )
