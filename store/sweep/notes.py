"""What a notice says about its policy, worked out once per catalogue rather than per notice.

A notice must be self-contained: whoever renders it (the drain's templates, a receiver of a
webhook) needs no catalogue. So each outbox payload carries the policy's title, department,
delivery mode, basis, and the period and unit of its amount (`policy`), the `says` of the
conditions that held (T in the decision's verdicts, in the policy's order) and those that did
not (`not_met`), and the facts still missing with their Chinese labels (`missing`).

    notes = policy_notes(catalogue)               # once per sweep run / per catalogue
    said = notes[policy_id].said(decision.conditions)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rules.catalogue import Catalogue
from rules.facts import FactCatalogue

__all__ = ["PolicyNote", "missing_labels", "policy_notes"]


@dataclass(frozen=True)
class PolicyNote:
    """A policy as a notice names it, and the `says` of each of its conditions in order."""

    policy: Mapping[str, Any]
    says: tuple[str, ...]

    def said(self, verdicts: str) -> dict[str, list[str]]:
        """The `says` of the conditions that held (`says`) and of those that failed (`not_met`)."""
        held = [s for s, v in zip(self.says, verdicts, strict=False) if v == "T"]
        failed = [s for s, v in zip(self.says, verdicts, strict=False) if v == "F"]
        return {"says": held, "not_met": failed}


def policy_notes(catalogue: Catalogue) -> dict[str, PolicyNote]:
    """Every policy's note, by policy id."""
    notes = {}
    for pid, p in catalogue.policies.items():
        spec, benefit = p.spec, p.spec.benefit
        meta = {
            "title": spec.title,
            "department": spec.department,
            "delivery": spec.delivery,
            "basis": spec.basis,
            "period": benefit.period if benefit is not None else None,
            "unit": benefit.unit if benefit is not None else None,
        }
        notes[pid] = PolicyNote(meta, tuple(c.says for c in p.conditions))
    return notes


def missing_labels(missing: Sequence[str], facts: FactCatalogue | None) -> list[dict[str, str]]:
    """The missing facts with their Chinese labels (the name itself when it has none)."""
    out = []
    for name in missing:
        fact = facts.facts.get(name) if facts is not None else None
        label = (fact.label or fact.meaning) if fact is not None else name
        out.append({"fact": name, "label": label})
    return out
