"""The form of a claim filled from the profile, and its materials resolved (一次性告知).

Each material a policy requires is, for the subject at hand:

- `held`: its `from` fact has a value in the stored profile: filled from data we hold, never
  asked (the value is kept masked when the fact is sensitive; the department export reads the
  profile itself);
- `waived` (容缺): not held, but `waivable`: the claim goes ahead and the material is due later;
- `asked`: neither: the person provides it, once, with every other asked material at once;
- `exempt`: a grant's material not held (免申即享: nobody is asked for anything; the
  department grants from the data it has).

A bundle claim merges its policies' materials by name (居民户口簿, 低保证 and the 一卡通 account are
asked once whatever number of departments need them): held when any policy's source holds it,
waived only when every policy may waive it, else asked; each merged material lists the
policies and departments needing it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, select
from sqlmodel import Session

from matcher.profiles.masking import mask_id
from store.claims.specs import ClaimSpecs, PolicySpec
from store.tables.profiles import EnterpriseRow, HouseholdRow, MemberRow

__all__ = ["Subject", "form_of", "materials_of", "subjects"]

_HOUSEHOLD: Table = HouseholdRow.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_MEMBER: Table = MemberRow.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_ENTERPRISE: Table = EnterpriseRow.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
Subject = dict[str, Any]  # key, region, name, facts, members


def subjects(session: Session, kind: str, ids: Iterable[int]) -> dict[int, Subject]:
    """The stored profiles of `ids` as claims read them: key, region, name, facts, members."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    conn = session.connection()
    out: dict[int, Subject] = {}
    if kind == "enterprise":
        e = _ENTERPRISE.c
        for r in conn.execute(select(_ENTERPRISE).where(e.id.in_(wanted))):
            out[r.id] = {"key": r.credit_code, "region": r.region_code or "", "name": r.name,
                         "facts": dict(r.facts or {}), "members": []}  # fmt: skip
        return out
    h, m = _HOUSEHOLD.c, _MEMBER.c
    for r in conn.execute(select(_HOUSEHOLD).where(h.id.in_(wanted))):
        out[r.id] = {"key": r.household_no, "region": r.region_code or "", "name": None,
                     "facts": dict(r.facts or {}), "members": []}  # fmt: skip
    query = select(m.household_id, m.name, m.id_number, m.relation, m.position)
    query = query.where(m.household_id.in_(wanted)).order_by(m.household_id, m.position)
    for r in conn.execute(query):
        out[r.household_id]["members"].append(
            {"name": r.name, "id_number": mask_id(r.id_number), "relation": r.relation}
        )
    for s in out.values():
        head = next((x for x in s["members"] if x["relation"] == "head"), None)
        s["name"] = head["name"] if head else None
    return out


def _held(subject: Subject, fact: str | None) -> Any:
    if fact is None:
        return None
    value = subject["facts"].get(fact)
    return None if value in (None, "") else value


@lru_cache(maxsize=256)
def _merged(policies: tuple[PolicySpec, ...]) -> tuple[dict[str, Any], ...]:
    """The policies' materials merged by name (what depends on the policies alone, computed
    once per set of policies: a sweep opens thousands of claims of the same few)."""
    merged: dict[str, dict[str, Any]] = {}
    for p in policies:
        for m in p.materials:
            entry = merged.setdefault(m.name, {"name": m.name, "sources": [], "waivable": True,
                                                "policies": [], "departments": []})  # fmt: skip
            entry["waivable"] = entry["waivable"] and m.waivable
            if m.source is not None and m.source not in entry["sources"]:
                entry["sources"].append(m.source)
            if p.id not in entry["policies"]:
                entry["policies"].append(p.id)
            if p.department not in entry["departments"]:
                entry["departments"].append(p.department)
    return tuple(merged.values())


def materials_of(
    specs: ClaimSpecs, policies: Sequence[PolicySpec], subject: Subject, *, grant: bool = False
) -> list[dict[str, Any]]:
    """Every material the policies require, merged by name, each resolved (module docstring);
    for a grant (免申即享) what is not held is `exempt`: nobody is asked for anything."""
    out = []
    for entry in _merged(tuple(policies)):
        found = [(f, v) for f in entry["sources"] if (v := _held(subject, f)) is not None]
        material: dict[str, Any] = {"name": entry["name"], "policies": list(entry["policies"]),
                                    "departments": list(entry["departments"])}  # fmt: skip
        if found:
            fact, value = found[0]
            shown = mask_id(str(value)) if fact in specs.sensitive else str(value)
            material |= {"status": "held", "from": fact, "label": specs.labels.get(fact, fact),
                         "value": shown}  # fmt: skip
        elif grant:
            material |= {"status": "exempt", "from": (entry["sources"] or [None])[0]}
        elif entry["waivable"]:
            material |= {"status": "waived", "from": (entry["sources"] or [None])[0]}
        else:
            material |= {"status": "asked", "from": (entry["sources"] or [None])[0]}
        out.append(material)
    return out


def form_of(
    specs: ClaimSpecs,
    kind: str,
    subject: Subject,
    sections: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """The form (一表申请): who applies, the household's members (ID numbers masked) and the
    facts the sections' materials are filled from."""
    wanted = {
        m.source for s in sections for m in specs.policies[s["policy_id"]].materials if m.source
    }
    facts = {}
    for fact in sorted(wanted):
        value = _held(subject, fact)
        if value is not None:
            shown = mask_id(str(value)) if fact in specs.sensitive else value
            facts[fact] = {"label": specs.labels.get(fact, fact), "value": shown}
    return {
        "subject": {"kind": kind, "key": subject["key"], "name": subject["name"],
                    "region": subject["region"]},
        "members": subject["members"],
        "facts": facts,
    }  # fmt: skip
