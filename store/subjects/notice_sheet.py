"""一次性告知单: everything a household must still bring, on one page, for every policy it may get.

    with read_session(engine) as s:
        sheet = notice_sheet(session=s, scope=scope, household_no="…-00014",
                             catalogue=catalogue, on=date(2026, 11, 30))

The household's stored profile is matched against the catalogue on `on` (the explaining
interpreter, as `zhida match` and `POST /api/match` do), so the sheet says what is needed on the
day it is printed even when the nightly sweep has not run since the profile changed. It lists:

- `policies`: every policy the household is eligible for or may be (undetermined), with its
  amount (`金额待核定` while a fact the amount needs is missing) — not those dropped for another;
- `facts`: every fact still missing (一次性告知, `matcher.explain.asks`), of the whole household
  or of the member whose part it could change (named with the ID number masked), with what it
  means, the department that holds it, and the policies needing it;
- `materials`: what those policies require that is not filled from data we hold
  (`store.claims.forms.materials_of`, merged by name across policies, as a bundle claim merges
  them): `asked` — bring it; `waived` — 容缺, the claim goes ahead and it is due later. A
  免申即享 (`auto`) policy asks for nothing.

None when the household is outside `scope` (not found).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session

from matcher.explain.asks import Ask, asks_for, fact_label
from matcher.explain.report import amount_text, person_text
from matcher.interpreter.match import match
from matcher.interpreter.results import PolicyResult
from matcher.profiles.subjects import facts_for
from rules.catalogue import Catalogue
from store.claims.forms import materials_of, subjects
from store.claims.specs import claim_specs
from store.ingest.documents import household_rows, stored_households
from store.scope import Scope
from store.subjects.reads import find_subject

__all__ = ["NoticeSheet", "SheetFact", "SheetMaterial", "SheetPolicy", "notice_sheet"]

WHOLE = "全户"


@dataclass(frozen=True)
class SheetPolicy:
    """A policy the household gets or may get."""

    policy_id: str
    title: str
    department: str
    delivery: str  # auto | confirm | notify
    status: str  # eligible | undetermined
    amount: str  # `465.00 元/月`, 金额待核定, or "" (no amount)


@dataclass(frozen=True)
class SheetFact:
    """A fact to bring: whose, what it is, who holds it, which policies need it."""

    whose: str  # 全户, or the member (`王小（孙子女，522***********0016）`)
    label: str
    meaning: str
    source: str
    policies: tuple[str, ...]  # titles


@dataclass(frozen=True)
class SheetMaterial:
    """A material to bring (`asked`) or to bring later (`waived`, 容缺)."""

    name: str
    status: str
    policies: tuple[str, ...]  # titles
    departments: tuple[str, ...]


@dataclass(frozen=True)
class NoticeSheet:
    """The 一次性告知单 of one household on `on` (module docstring)."""

    household_no: str
    region_code: str | None
    head: str | None
    members: int
    on: date
    policies: list[SheetPolicy]
    facts: list[SheetFact]
    materials: list[SheetMaterial]


def _profile(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A stored household document as the profile `zhida match` reads (facts inline)."""
    members = [
        {**m["facts"], **{k: m[k] for k in ("id_number", "name", "relation") if m[k] is not None}}
        for m in doc["members"]
    ]
    head = {"household_id": doc["household_no"], "region_code": doc["region_code"]}
    return {**doc["facts"], **{k: v for k, v in head.items() if v is not None}, "members": members}


def _fact(ask: Ask, catalogue: Catalogue, people: list[Any]) -> SheetFact:
    fact = catalogue.facts.get(ask.fact)
    m = ask.member
    whose = WHOLE if m is None or m >= len(people) else person_text(m, people[m])
    return SheetFact(whose, fact_label(ask.fact, catalogue), fact.meaning if fact else "",
                     fact.source if fact else "", ask.policies)  # fmt: skip


def _materials(
    session: Session, subject_id: int, catalogue: Catalogue, wanted: list[PolicyResult]
) -> list[SheetMaterial]:
    specs = claim_specs(catalogue)
    policies = [specs.policies[r.policy_id] for r in wanted if r.delivery != "auto"]
    if not policies:
        return []
    subject = subjects(session, "household", [subject_id])[subject_id]
    titles = {p.id: p.title for p in policies}
    return [
        SheetMaterial(m["name"], m["status"], tuple(titles[p] for p in m["policies"]),
                      tuple(m["departments"]))
        for m in materials_of(specs, policies, subject)
        if m["status"] in ("asked", "waived")
    ]  # fmt: skip


def notice_sheet(
    *, session: Session, scope: Scope, household_no: str, catalogue: Catalogue, on: date
) -> NoticeSheet | None:
    """The 一次性告知单 of `household_no` on `on`, or None outside `scope`.

    Args:
        session: a read session.
        scope: the caller's scope.
        household_no: the 户编号.
        catalogue: the catalogue served (the policies, facts and materials).
        on: the day the profile is matched on (usually today).

    Raises:
        ProfileError: the stored profile no longer validates on `on` (named by JSON path).
    """
    ref = find_subject(session=session, scope=scope, kind="household", key=household_no)
    if ref is None:
        return None
    doc = stored_households(session, household_rows(session, [ref.id]))[ref.id]
    facts = facts_for(_profile(doc), "household", catalogue.facts, on, source=household_no)
    result = match(catalogue, facts, on, "household")
    wanted = [r for r in result.results
              if r.status in ("eligible", "undetermined") and r.dropped_for is None]  # fmt: skip
    people = [(m["name"], m["relation"], m["id_number"]) for m in doc["members"]]
    head = next((p[0] for p in people if p[1] == "head"), people[0][0] if people else None)
    return NoticeSheet(
        household_no=household_no, region_code=ref.region_code, head=head, members=len(people),
        on=on,
        policies=[SheetPolicy(r.policy_id, r.title, r.department, r.delivery, r.status,
                              amount_text(r)) for r in wanted],
        facts=[_fact(a, catalogue, people) for a in asks_for(catalogue, facts, on, wanted)],
        materials=_materials(session, ref.id, catalogue, wanted),
    )  # fmt: skip
