"""Request and response shapes of the rule service (`POST /api/match` and the catalogue reads)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import msgspec

__all__ = [
    "AskOut",
    "BenefitOut",
    "BundleOut",
    "CaseOut",
    "CatalogueOut",
    "ConditionOut",
    "ConditionText",
    "DatedValue",
    "FactOut",
    "MatchIn",
    "MatchOut",
    "MaterialOut",
    "ParameterOut",
    "PolicyDetailOut",
    "PolicyOut",
    "PolicyResultOut",
]


class MatchIn(msgspec.Struct, forbid_unknown_fields=True):
    """A profile to match: a household (`members`, …) or an enterprise (`credit_code`, …), in
    the JSON `zhida match FILE` reads, and the evaluation date (default: today, Asia/Shanghai)."""

    profile: Annotated[dict[str, Any], msgspec.Meta(max_length=500)]
    on: date | None = None


class ConditionOut(msgspec.Struct):
    """One condition: its verdict (null: not known), the values seen, the threshold."""

    says: str
    text: str
    verdict: bool | None
    seen: dict[str, str]
    threshold: str | None
    missing: list[str]


class PolicyResultOut(msgspec.Struct):
    """What one policy says: status, amount to the fen (a string), each condition, what is
    missing."""

    policy_id: str
    title: str
    department: str
    delivery: str
    status: str
    amount: str | None
    unit: str | None
    period: str | None
    conditions: list[ConditionOut]
    missing: list[str]
    note: str | None
    dropped_for: str | None
    bundle: str | None
    amount_bounds: list[str | None] | None


class BundleOut(msgspec.Struct):
    """A bundle (一件事): whether its gate is open (null: not known) and each member's status."""

    bundle_id: str
    title: str
    gate: bool | None
    members: dict[str, str]


class AskOut(msgspec.Struct):
    """一次性告知: a fact to bring, of which member (its position; null: the whole subject),
    for which policies."""

    fact: str
    label: str
    member: int | None
    policies: list[str]


class MatchOut(msgspec.Struct):
    """A profile matched against the catalogue, explained (`zhida match --explain` as data)."""

    subject: str
    on: date
    catalogue_version: str
    results: list[PolicyResultOut]
    bundles: list[BundleOut]
    missing_facts: list[str]
    asks: list[AskOut]


class PolicyOut(msgspec.Struct):
    """One policy as `zhida policies` lists it."""

    id: str
    title: str
    department: str
    subject: str
    subject_label: str
    delivery: str
    delivery_label: str
    kind: str
    bundle: str | None
    regions: list[str]
    effective_from: date
    effective_until: date | None
    basis: str


class DatedValue(msgspec.Struct, rename={"start": "from"}):
    """A parameter's value from a date on (a string: exact, never a float)."""

    start: date
    value: str


class ParameterOut(msgspec.Struct):
    """A parameter with its dated values, unit and reference."""

    name: str
    values: list[DatedValue]
    unit: str
    reference: str
    illustrative: bool
    description: str | None


class MaterialOut(msgspec.Struct, rename={"source": "from"}):
    """A material the claim needs, and the fact it comes from."""

    name: str
    source: str | None
    waivable: bool


class ConditionText(msgspec.Struct):
    """A condition as written."""

    when: str
    says: str


class BenefitOut(msgspec.Struct):
    """The benefit: the amount expression, unit and period."""

    amount: str
    unit: str
    period: str


class CaseOut(msgspec.Struct):
    """A test case of the policy file (its profile with ID numbers masked)."""

    name: str
    on: date
    subject: str
    profile: dict[str, Any]
    expect: dict[str, Any]


class PolicyDetailOut(PolicyOut):
    """One policy whole."""

    parameters: list[ParameterOut]
    conditions: list[ConditionText]
    benefit: BenefitOut | None
    materials: list[MaterialOut]
    excludes: list[str]
    tests: list[CaseOut]


class FactOut(msgspec.Struct):
    """A declared fact (facts.yaml)."""

    name: str
    label: str | None
    type: str
    level: str
    unit: str | None
    meaning: str
    source: str
    sensitive: bool
    derived: bool
    values: list[str] | None
    value_labels: dict[str, str] | None
    min: str | None
    max: str | None


class CatalogueOut(msgspec.Struct):
    """The served catalogue: its version (the content hash), its size, whether it is published."""

    version: str
    policies: int
    bundles: int
    facts: int
    published: bool
    published_at: datetime | None
    published_by: str | None
