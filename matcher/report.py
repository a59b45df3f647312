"""Plain, serialisable shapes of match results (for `--json`, files and, later, the API)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from matcher.interpreter import MatchResult, PolicyResult
from rules.facts import FactCatalogue
from rules.numbers import fen_text

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


def match_dict(result: MatchResult) -> dict[str, Any]:
    """A whole match as JSON-ready data."""
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
