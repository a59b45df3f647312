"""Plain, serialisable shapes of match results (for `--json`, files and, later, the API)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from matcher.explain.asks import Ask, fact_label
from matcher.interpreter.match import MatchResult, PolicyResult
from matcher.profiles.masking import mask_id
from matcher.profiles.parse import RELATION_LABELS
from rules.catalogue import Catalogue
from rules.facts import FactCatalogue
from rules.numbers import fen_text

Person = tuple[str | None, str | None, str | None]  # a member's name, relation, ID number

UNIT_LABELS = {"CNY": "元"}
PERIOD_LABELS = {"month": "月", "year": "年", "once": "一次性"}
DELIVERY_LABELS = {"auto": "自动发放", "confirm": "确认申领"}
STATUS_LABELS = {"eligible": "符合", "undetermined": "待补充", "ineligible": "不符合"}
AMOUNT_PENDING = "金额待核定"  # eligible, but a fact the amount needs is missing


def unit_label(unit: str | None) -> str:
    """A benefit's unit as an operator reads it (`CNY` → 元); "" when there is none."""
    return UNIT_LABELS.get(unit, unit) if unit else ""


def period_label(period: str | None) -> str:
    """A benefit's period in Chinese (`month` → 月); "" when there is none."""
    return PERIOD_LABELS.get(period, period) if period else ""


def delivery_label(delivery: str) -> str:
    """How a benefit is delivered, in Chinese (`confirm` → 确认申领)."""
    return DELIVERY_LABELS.get(delivery, delivery)


def amount_text(result: PolicyResult) -> str:
    """An eligible result's amount as the console shows it: `300.02 元/月`, or 金额待核定."""
    if result.status != "eligible" or (result.unit is None and result.amount is None):
        return ""
    if result.amount is None:
        return AMOUNT_PENDING
    per = {"month": "/月", "year": "/年"}.get(result.period or "", "")
    return f"{fen_text(result.amount)} {unit_label(result.unit) or '元'}{per}"


def policy_dict(result: PolicyResult) -> dict[str, Any]:
    """One policy result as JSON-ready data; amounts as strings to the fen (`"300.02"`)."""
    data = asdict(result)
    data["conditions"] = [
        {**asdict(c), "seen": dict(c.seen), "missing": list(c.missing)} for c in result.conditions
    ]
    data["missing"] = list(result.missing)
    data["amount"] = fen_text(result.amount)
    bounds = result.amount_bounds
    data["amount_bounds"] = None if bounds is None else [fen_text(b) for b in bounds]
    return data


def match_dict(
    result: MatchResult, asks: Sequence[Ask] = (), catalogue: Catalogue | None = None
) -> dict[str, Any]:
    """A whole match as JSON-ready data (with `asks`: who must bring which fact, labelled)."""
    return {
        "on": result.on.isoformat(),
        "catalogue_version": result.catalogue_version,
        "results": [policy_dict(r) for r in result.results],
        "bundles": [
            {
                "bundle_id": b.bundle_id,
                "title": b.title,
                "gate": b.gate.verdict,
                "members": {m.policy_id: m.status for m in b.members},
            }
            for b in result.bundles
        ],
        "missing_facts": all_missing(result),
        "asks": [
            {
                "fact": a.fact,
                "label": fact_label(a.fact, catalogue) if catalogue else a.fact,
                "member": a.member,
                "policies": list(a.policies),
            }
            for a in asks
        ],
    }


def all_missing(result: MatchResult) -> list[str]:
    """Every fact still needed by any undetermined policy (一次性告知: ask for all at once)."""
    return sorted({m for r in result.results if r.status != "ineligible" for m in r.missing})


def describe_fact(name: str, facts: FactCatalogue) -> str:
    """`name（含义，来源）` for telling a person what to bring."""
    fact = facts.get(name)
    if fact is None:
        return name
    return f"{name}（{fact.meaning}，{fact.source}）"


def fact_labels(names: Sequence[str], catalogue: Catalogue) -> str:
    """Facts by their Chinese labels, joined for a line of text (`在校学生，学段`)."""
    return "，".join(dict.fromkeys(fact_label(n, catalogue) for n in names))


def person_text(index: int, person: Person) -> str:
    """A member as a notice names them: `王小（孙子女，522***********0016）`, ID masked."""
    name, relation, number = person
    who = name or f"第 {index + 1} 位成员"
    details = [RELATION_LABELS.get(relation or "", relation or ""), mask_id(number or "")]
    shown = "，".join(d for d in details if d)
    return f"{who}（{shown}）" if shown else who


def ask_groups(
    asks: Sequence[Ask], catalogue: Catalogue, people: Sequence[Person], whole: str = "全户"
) -> list[tuple[str, list[str]]]:
    """一次性告知 as text: (whose: `whole` — 全户, 本企业 — or a member, [label（含义，来源）；
    涉及 …]) in order."""
    groups: dict[int | None, list[str]] = {}
    for a in asks:
        fact = catalogue.facts.get(a.fact)
        about = f"（{fact.meaning}，{fact.source}）" if fact is not None else ""
        line = f"{fact_label(a.fact, catalogue)}{about}；涉及：{'、'.join(a.policies)}"
        groups.setdefault(a.member, []).append(line)
    return [
        (whole if m is None or m >= len(people) else person_text(m, people[m]), lines)
        for m, lines in groups.items()
    ]
