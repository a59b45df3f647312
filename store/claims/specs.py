"""What a claim needs of each policy and bundle: delivery, department, materials, titles.

Worked out once per catalogue content hash (`claim_specs`), like the notices' notes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rules.catalogue import Catalogue

__all__ = ["BundleSpec", "ClaimSpecs", "MaterialSpec", "PolicySpec", "claim_specs"]


@dataclass(frozen=True)
class MaterialSpec:
    """A material a policy requires: filled from a fact (`source`), waivable (容缺), or asked."""

    name: str
    source: str | None
    waivable: bool


@dataclass(frozen=True)
class PolicySpec:
    """A policy as a claim names it."""

    id: str
    title: str
    department: str
    delivery: str  # auto | confirm | notify
    subject: str
    materials: tuple[MaterialSpec, ...]
    unit: str | None
    period: str | None
    basis: str
    bundles: tuple[str, ...]  # the bundles listing it as a member, by id


@dataclass(frozen=True)
class BundleSpec:
    """A bundle (一件事) as its claim names it."""

    id: str
    title: str
    subject: str
    members: tuple[str, ...]
    basis: str


@dataclass(frozen=True)
class ClaimSpecs:
    """Every policy's and bundle's claim facts, and the labels and sensitivity of facts."""

    version: str
    policies: Mapping[str, PolicySpec]
    bundles: Mapping[str, BundleSpec]
    labels: Mapping[str, str]  # fact → its Chinese label
    sensitive: frozenset[str]  # facts shown masked outside the department export


_CACHE: dict[str, ClaimSpecs] = {}


def claim_specs(catalogue: Catalogue) -> ClaimSpecs:
    """The claim facts of a catalogue (cached per content hash)."""
    found = _CACHE.get(catalogue.version)
    if found is not None:
        return found
    bundles = {
        bid: BundleSpec(bid, b.spec.title, b.spec.subject, tuple(b.spec.members), b.spec.basis)
        for bid, b in sorted(catalogue.bundles.items())
    }
    policies = {}
    for pid, p in catalogue.policies.items():
        s = p.spec
        policies[pid] = PolicySpec(
            id=pid, title=s.title, department=s.department, delivery=s.delivery,
            subject=s.subject,
            materials=tuple(MaterialSpec(m.name, m.source, m.waivable) for m in s.materials),
            unit=s.benefit.unit if s.benefit else None,
            period=s.benefit.period if s.benefit else None, basis=s.basis,
            bundles=tuple(b for b, spec in bundles.items() if pid in spec.members),
        )  # fmt: skip
    facts = catalogue.facts.facts
    specs = ClaimSpecs(
        version=catalogue.version,
        policies=policies,
        bundles=bundles,
        labels={name: f.label or name for name, f in facts.items()},
        sensitive=frozenset(name for name, f in facts.items() if f.sensitive),
    )
    _CACHE[catalogue.version] = specs
    return specs
