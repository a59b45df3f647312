"""The catalogue as data: its policies, one policy whole, and its facts (the rule service's reads).

`policy_rows` is what `zhida policies` lists; `policy_detail` adds each parameter with its
dated values, unit and reference, the conditions, the benefit, materials and the test cases
(their profiles with ID numbers masked: a case's profile is a made-up person, but a made-up
ID number with a valid check digit looks like a real one to anyone who copies it);
`fact_rows` is facts.yaml. Values are JSON-ready: dates ISO, numbers as strings
(`"2.6"`, never a float).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from matcher.explain.report import delivery_label
from matcher.profiles.masking import mask_ids_in_data
from matcher.profiles.subjects import KINDS
from rules.catalogue import Catalogue, CompiledPolicy
from rules.facts import FactDef

__all__ = ["fact_rows", "plain", "policy_detail", "policy_row", "policy_rows"]


def plain(value: Any) -> Any:
    """JSON-ready data: dates ISO, Decimals and other numbers (not bools) as strings."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, Decimal | int | float):
        return str(value)
    return str(value)


def policy_row(policy: CompiledPolicy) -> dict[str, Any]:
    """One policy as `zhida policies` lists it."""
    s = policy.spec
    return {
        "id": s.id,
        "title": s.title,
        "department": s.department,
        "subject": s.subject,
        "subject_label": KINDS[s.subject].label,
        "delivery": s.delivery,
        "delivery_label": delivery_label(s.delivery),
        "kind": s.kind,
        "bundle": s.bundle,
        "regions": list(s.regions or []),
        "effective_from": s.effective.start.isoformat(),
        "effective_until": s.effective.until.isoformat() if s.effective.until else None,
        "basis": s.basis,
    }


def policy_rows(catalogue: Catalogue) -> list[dict[str, Any]]:
    """Every policy, by id."""
    return [policy_row(p) for _, p in sorted(catalogue.policies.items())]


def policy_detail(policy: CompiledPolicy) -> dict[str, Any]:
    """One policy whole: parameters with dated values and references, conditions, benefit,
    materials, excludes and test cases (profiles masked)."""
    s = policy.spec
    parameters = [
        {
            "name": name,
            "values": [
                {"from": d.isoformat(), "value": str(v)} for d, v in sorted(p.values.items())
            ],
            "unit": p.unit,
            "reference": p.reference,
            "illustrative": p.illustrative,
            "description": p.description,
        }
        for name, p in s.parameters.items()
    ]
    benefit = s.benefit
    return {
        **policy_row(policy),
        "parameters": parameters,
        "conditions": [{"when": c.when, "says": c.says} for c in s.eligible],
        "benefit": None
        if benefit is None
        else {"amount": str(benefit.amount), "unit": benefit.unit, "period": benefit.period},
        "materials": [
            {"name": m.name, "from": m.source, "waivable": m.waivable} for m in s.materials
        ],
        "excludes": list(s.excludes),
        "tests": [
            {
                "name": t.name,
                "on": t.on.isoformat(),
                "subject": "household" if t.household is not None else "enterprise",
                "profile": plain(mask_ids_in_data(t.household or t.enterprise or {})),
                "expect": plain(t.expect.model_dump(exclude_none=True)),
            }
            for t in s.tests
        ],
    }


def _fact(name: str, f: FactDef) -> dict[str, Any]:
    return {
        "name": name,
        "label": f.label,
        "type": f.type,
        "level": f.level,
        "unit": f.unit,
        "meaning": f.meaning,
        "source": f.source,
        "sensitive": f.sensitive,
        "derived": f.derived,
        "values": list(f.values) if f.values else None,
        "value_labels": dict(f.value_labels) if f.value_labels else None,
        "min": None if f.minimum is None else plain(f.minimum),
        "max": None if f.maximum is None else plain(f.maximum),
    }


def fact_rows(catalogue: Catalogue) -> list[dict[str, Any]]:
    """Every declared fact, by name."""
    return [_fact(n, f) for n, f in sorted(catalogue.facts.facts.items())]
