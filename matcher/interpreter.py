"""The explaining interpreter: one profile against the catalogue, three-valued, with reasons.

It is the reference semantics (docs/rule-language.md); every other engine is tested against it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Literal

from matcher.evaluate import Value, as_number, evaluate_expr
from matcher.facts import Facts
from rules import ir
from rules.catalogue import Catalogue, CompiledBundle, CompiledCondition, CompiledPolicy

__all__ = [
    "BundleResult",
    "ConditionResult",
    "MatchResult",
    "PolicyResult",
    "Status",
    "eligible_ids",
    "evaluate_expr",
    "evaluate_policy",
    "explain_condition",
    "match",
    "resolve_excludes",
]

Status = Literal["eligible", "ineligible", "undetermined"]


@dataclass(frozen=True)
class ConditionResult:
    """One condition: the verdict, the threshold, and the values the profile showed."""

    says: str
    text: str
    verdict: bool | None
    seen: tuple[tuple[str, str], ...]
    threshold: str | None
    missing: tuple[str, ...]


@dataclass(frozen=True)
class PolicyResult:
    """What one policy says about one profile."""

    policy_id: str
    title: str
    department: str
    delivery: str
    status: Status
    amount: float | None = None
    unit: str | None = None
    period: str | None = None
    conditions: tuple[ConditionResult, ...] = ()
    missing: tuple[str, ...] = ()
    note: str | None = None
    dropped_for: str | None = None
    bundle: str | None = None


@dataclass(frozen=True)
class BundleResult:
    """A bundle (一件事): its gate and each member's result."""

    bundle_id: str
    title: str
    gate: ConditionResult
    members: tuple[PolicyResult, ...]


@dataclass(frozen=True)
class MatchResult:
    """Every policy's result for one profile on one date."""

    on: date
    catalogue_version: str
    results: tuple[PolicyResult, ...]
    bundles: tuple[BundleResult, ...] = field(default=())

    def by_id(self) -> dict[str, PolicyResult]:
        """Results keyed by policy id."""
        return {r.policy_id: r for r in self.results}


def explain_condition(cond: CompiledCondition, facts: Facts) -> ConditionResult:
    """Evaluate one bound condition and say what was seen."""
    value, missing = evaluate_expr(cond.expr, facts)
    verdict = None if value is None else bool(value)
    names = cond.facts or frozenset(ir.fact_names(cond.expr))
    seen = tuple((name, _shown(name, facts)) for name in sorted(names))
    threshold = cond.threshold if cond.facts else ir.threshold(cond.expr)
    return ConditionResult(cond.says, cond.text, verdict, seen, threshold, tuple(sorted(missing)))


def _shown(name: str, facts: Facts) -> str:
    if name in facts.subject:
        return _fmt(facts.subject[name])
    if any(name in m for m in facts.members) or (facts.members and name not in facts.subject):
        return "[" + ", ".join(_fmt(m.get(name)) for m in facts.members) + "]"
    return "未知"


def _fmt(value: Value) -> str:
    if value is None:
        return "未知"
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def base_result(policy: CompiledPolicy) -> PolicyResult:
    """An ineligible result naming the policy, to be refined."""
    spec = policy.spec
    return PolicyResult(
        spec.id, spec.title, spec.department, spec.delivery, "ineligible", bundle=spec.bundle
    )


def scope_result(policy: CompiledPolicy, region_code: str | None, on: date) -> PolicyResult | None:
    """The result when the date, the region or a parameter settles it before any condition."""
    spec, base = policy.spec, base_result(policy)
    if not policy.in_force(on):
        until = f" 至 {spec.effective.until}" if spec.effective.until else ""
        return replace(base, note=f"{on} 不在政策有效期内（{spec.effective.start} 起{until}）")
    if spec.regions and region_code is None:
        return replace(
            base,
            status="undetermined",
            missing=("region_code",),
            note="未知所在地区，无法判断是否在政策适用范围",
        )
    if spec.regions and not any(region_code.startswith(r) for r in spec.regions):  # type: ignore[union-attr]
        return replace(base, note=f"所在地区 {region_code} 不在适用范围 {', '.join(spec.regions)}")
    if policy.params_at(on) is None:
        return replace(base, note=f"{on} 时部分参数尚无取值")
    return None


def with_amount(
    result: PolicyResult, policy: CompiledPolicy, amount: float | None, missing: tuple[str, ...]
) -> PolicyResult:
    """An eligible result with its amount (None when a fact it needs is missing)."""
    benefit = policy.spec.benefit
    if benefit is None:
        return result
    return replace(result, amount=amount, unit=benefit.unit, period=benefit.period, missing=missing)


def evaluate_policy(policy: CompiledPolicy, facts: Facts, on: date) -> PolicyResult:
    """What `policy` says about the profile behind `facts` on `on` (before `excludes`)."""
    early = scope_result(policy, facts.region_code, on)
    if early is not None:
        return early
    bound = policy.bind(on)
    assert bound is not None  # scope_result checked the parameters
    base = base_result(policy)
    conds = tuple(explain_condition(c, facts) for c in bound.conditions)
    if any(c.verdict is False for c in conds):
        return replace(base, conditions=conds)
    missing = sorted({m for c in conds if c.verdict is None for m in c.missing})
    if any(c.verdict is None for c in conds):
        return replace(base, status="undetermined", conditions=conds, missing=tuple(missing))
    result = replace(base, status="eligible", conditions=conds)
    if bound.amount is None:
        return result
    value, amount_missing = evaluate_expr(bound.amount, facts)
    amount = round(float(as_number(value)), 2) if value is not None else None
    return with_amount(result, policy, amount, tuple(sorted(amount_missing)))


def resolve_excludes(
    results: Iterable[PolicyResult], excludes: Callable[[str], Iterable[str]]
) -> list[PolicyResult]:
    """Apply `excludes`: of eligible policies that exclude each other, keep the larger amount.

    Ties keep the smaller id. A dropped policy becomes ineligible, naming the one kept.
    """
    items = list(results)
    pairs: dict[str, set[str]] = {r.policy_id: set() for r in items}
    for pid in pairs:
        for other in excludes(pid):
            if other in pairs:
                pairs[pid].add(other)
                pairs[other].add(pid)
    eligible = sorted(
        (r for r in items if r.status == "eligible"),
        key=lambda r: (-(r.amount or 0.0), r.policy_id),
    )
    kept: dict[str, PolicyResult] = {}
    dropped: dict[str, PolicyResult] = {}
    for r in eligible:
        winner = next((kept[o] for o in sorted(pairs[r.policy_id]) if o in kept), None)
        if winner is None:
            kept[r.policy_id] = r
            continue
        dropped[r.policy_id] = drop(r, winner.policy_id, winner.title)
    return [dropped.get(r.policy_id, r) for r in items]


def drop(result: PolicyResult, winner_id: str, winner_title: str) -> PolicyResult:
    """`result` dropped under `excludes` in favour of the policy kept."""
    return replace(
        result,
        status="ineligible",
        dropped_for=winner_id,
        note=f"与「{winner_title}」不可同时享受，保留金额较高的「{winner_title}」",
    )


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
