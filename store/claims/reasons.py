"""Why a claim's subject qualifies: for each section (policy) of a claim, the conditions that
held when its entitlement opened, in the words of the policy file (`says`).

    said = claim_reasons(session, claim_id=12, policy_ids=["household.dibao.water"],
                         catalogue=catalogue)

A claim keeps its sections (policy, amount, from) but not the reasons: those live on the
entitlement interval the claim was opened for (`entitlement.conditions`, one of T/F/U per
condition of the policy, in order). The interval read is the subject's eligible one for the
policy that began last on or before the section's `from` date (the one the claim opened with,
even if it has ended since); failing that, the latest eligible one.

The verdicts are read against the catalogue being served. An interval is cut whenever its
policy's file changes (`rule_hash`), so an interval's verdicts line up with the policy's
conditions as long as the served file is the one it was decided under; when the number of
verdicts and conditions differ (the policy changed since), `says` is empty and `current` is
False, rather than pair a verdict with the wrong condition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Table, select
from sqlmodel import Session

from rules.catalogue import Catalogue
from store.tables.claims import Claim
from store.tables.entitlements import Entitlement

__all__ = ["SectionReason", "claim_reasons"]

_CLAIM: Table = Claim.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_ENTITLEMENT: Table = Entitlement.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__


@dataclass(frozen=True)
class SectionReason:
    """Why the subject qualifies for one policy of a claim."""

    policy_id: str
    title: str
    department: str
    says: tuple[str, ...]  # the conditions that held, as the policy file words them
    basis: str  # the document the policy rests on
    since: date | None  # when the entitlement began (None: no eligible interval found)
    current: bool = True  # False: the verdicts no longer line up with the served policy


def _section_from(section: Mapping[str, Any]) -> date | None:
    value = section.get("from")
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _interval(rows: Sequence[Any], start: date | None) -> Any:
    """The eligible interval the section opened with (module docstring), or None."""
    before = [r for r in rows if start is None or r.valid_from <= start]
    chosen = before or list(rows)
    return max(chosen, key=lambda r: (r.valid_from, r.id)) if chosen else None


def claim_reasons(
    session: Session,
    *,
    claim_id: int,
    sections: Sequence[Mapping[str, Any]],
    catalogue: Catalogue,
) -> list[SectionReason]:
    """The reasons behind each of `sections` (a claim's, or the part of it a caller sees).

    Args:
        session: a read session.
        claim_id: the claim.
        sections: its sections (`PartView.sections`: policy_id, from, …), in the order shown.
        catalogue: the catalogue served (the policies' conditions, titles and basis).

    Returns:
        One entry per section whose policy the catalogue knows, in the order given.
    """
    c, e = _CLAIM.c, _ENTITLEMENT.c
    conn = session.connection()
    subject = conn.execute(select(c.subject_kind, c.subject_id).where(c.id == claim_id)).first()
    wanted = [s for s in sections if str(s.get("policy_id")) in catalogue.policies]
    if subject is None or not wanted:
        return []
    query = select(e.id, e.policy_id, e.valid_from, e.conditions).where(
        e.subject_kind == subject.subject_kind,
        e.subject_id == subject.subject_id,
        e.policy_id.in_(sorted({str(s["policy_id"]) for s in wanted})),
        e.status == "eligible",
    )
    by_policy: dict[str, list[Any]] = {}
    for row in conn.execute(query):
        by_policy.setdefault(row.policy_id, []).append(row)
    out = []
    for section in wanted:
        policy = catalogue.policies[str(section["policy_id"])]
        row = _interval(by_policy.get(policy.id, []), _section_from(section))
        verdicts = row.conditions if row is not None else ""
        current = row is None or len(verdicts) == len(policy.conditions)
        says = tuple(
            cond.says for cond, v in zip(policy.conditions, verdicts, strict=False) if v == "T"
        ) if current else ()  # fmt: skip
        out.append(SectionReason(
            policy_id=policy.id, title=policy.spec.title, department=policy.spec.department,
            says=says, basis=policy.spec.basis, since=row.valid_from if row else None,
            current=current,
        ))  # fmt: skip
    return out
