"""The outcomes report (`zhida report outcomes`): the seeds' own measures, per policy and bundle.

A claim belongs to its bundle (一件事, `claim.bundle_id`) or, for a grant or a single-policy
claim, to its policy. For each such group, over the claims whose region starts with the
prefix (filtered in SQL):

- **claims** by kind (grant 免申即享 / claim 申领 / bundle 一件事) and state;
- **actions asked of the person**: 0 for a grant; 1 confirmation for a prepared or bundle
  claim, plus 1 when any of its materials is `asked` (the person provides it once, all at
  once). Reported in total over the claims, per claim, and **per delivered benefit**: over
  the claims with a delivered part (state `granted` or `paid`), their actions divided by
  their delivered sections (a bundle claim paying six departments asks one action for six
  benefits);
- **materials** required (every material of every claim, merged per claim) vs. asked of the
  person (status `asked`; `held` ones were filled from data we hold, `waived` ones are 容缺);
- **visits**: over the claims taken up — grants, and claims with a `confirm` step —
  the departments a household would have visited without zhida (the distinct departments
  of the claim's sections) vs. visits with zhida (1 for a claim confirmed at the village, 0
  for a grant). For the 低保 bundle of a household qualifying for every follow-on (人社, 医保,
  供电, 水务, 广电, 教育, 残联): 7 → 1 (常山). The 民政 office that recognised the household
  as 低保 is not counted on either side: the household applies for 低保 itself in both worlds;
- **days from eligibility to payment**: `part.paid_on − claim.eligible_on` over paid parts
  (median, max);
- **overdue steps**: `claim_deadline` rows not done whose `due_on` is before `today`.

And the **应享未享 list**: subjects with an open eligible entitlement (`valid_to` NULL, status
`eligible`) since at least `days` days (default 30) for a policy delivered `auto` or `confirm`,
that no claim part holds in a live state (any but `withdrawn` and `rejected`). The interval's
`valid_from` is the day counted from: an interval cut by a rule change or a new amount
restarts the count, which can only shorten the list, never add a subject that is claimed.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Table, select
from sqlmodel import Session

from rules.catalogue import Catalogue, load_catalogue
from store.claims.reads import overall_state
from store.claims.specs import ClaimSpecs, claim_specs
from store.tables.claims import Claim, ClaimDeadline, ClaimPart, ClaimStep
from store.tables.entitlements import Entitlement
from store.tables.profiles import EnterpriseRow, HouseholdRow

__all__ = ["DEAD_STATES", "DELIVERED", "GroupOutcome", "OutcomesReport", "Unclaimed", "outcomes"]

_CLAIM: Table = Claim.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_PART: Table = ClaimPart.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_STEP: Table = ClaimStep.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_DEADLINE: Table = ClaimDeadline.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_ENT: Table = Entitlement.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_HOUSEHOLD: Table = HouseholdRow.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_ENTERPRISE: Table = EnterpriseRow.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__

DELIVERED = ("granted", "paid")  # a part whose benefit reached the subject (or is being paid)
DEAD_STATES = ("withdrawn", "rejected")  # a part in any other state still holds its policies
_HUNDREDTH = Decimal("0.01")


def _ratio(a: int, b: int) -> str | None:
    """a / b to two places, as text (None when b is 0)."""
    if b == 0:
        return None
    return str((Decimal(a) / Decimal(b)).quantize(_HUNDREDTH, rounding=ROUND_HALF_UP))


@dataclass
class GroupOutcome:
    """The measures of one policy's or one bundle's claims (module docstring)."""

    kind: str  # policy | bundle
    id: str
    title: str
    claims: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    actions: int = 0
    delivered_actions: int = 0  # the actions of the claims with a delivered part
    delivered: int = 0  # sections of delivered parts
    materials_required: int = 0
    materials_asked: int = 0
    taken_up: int = 0  # claims counted for visits: grants and confirmed claims
    visits_without: int = 0
    visits_with: int = 0
    days_to_pay: list[int] = field(default_factory=list)
    overdue: int = 0

    @property
    def total(self) -> int:
        """Claims in the group."""
        return sum(sum(c.values()) for c in self.claims.values())

    def as_json(self) -> dict[str, Any]:
        """The group as JSON (ratios as strings with two places, None when undefined)."""
        days = self.days_to_pay
        return {
            "kind": self.kind, "id": self.id, "title": self.title, "total": self.total,
            "claims": {k: dict(sorted(c.items())) for k, c in sorted(self.claims.items())},
            "actions": self.actions, "actions_per_claim": _ratio(self.actions, self.total),
            "delivered": self.delivered,
            "actions_per_delivered": _ratio(self.delivered_actions, self.delivered),
            "materials_required": self.materials_required,
            "materials_asked": self.materials_asked, "taken_up": self.taken_up,
            "visits_without": self.visits_without, "visits_with": self.visits_with,
            "paid": len(days), "days_to_pay_median": statistics.median(days) if days else None,
            "days_to_pay_max": max(days) if days else None, "overdue": self.overdue,
        }  # fmt: skip


@dataclass(frozen=True)
class Unclaimed:
    """应享未享: an eligible entitlement no live claim holds, `days` days after it opened."""

    subject_kind: str
    subject_id: int
    subject_key: str
    region: str
    policy_id: str
    title: str
    department: str
    delivery: str
    eligible_since: date
    days: int

    def as_json(self) -> dict[str, Any]:
        """The entry as JSON (dates as ISO text)."""
        return {
            "subject_kind": self.subject_kind, "subject_id": self.subject_id,
            "subject_key": self.subject_key, "region": self.region,
            "policy_id": self.policy_id, "title": self.title, "department": self.department,
            "delivery": self.delivery, "eligible_since": self.eligible_since.isoformat(),
            "days": self.days,
        }  # fmt: skip


@dataclass
class OutcomesReport:
    """The report: one entry per policy and bundle with claims, and the 应享未享 list."""

    region: str | None
    today: date
    days: int
    groups: list[GroupOutcome]
    unclaimed: list[Unclaimed]

    def as_json(self) -> dict[str, Any]:
        """The report as JSON."""
        return {
            "region": self.region, "today": self.today.isoformat(), "days": self.days,
            "bundles": [g.as_json() for g in self.groups if g.kind == "bundle"],
            "policies": [g.as_json() for g in self.groups if g.kind == "policy"],
            "unclaimed": [u.as_json() for u in self.unclaimed],
        }  # fmt: skip


def _in_region(column: Any, region: str | None) -> list[Any]:
    return [] if not region else [column.startswith(region, autoescape=True)]


def _group_key(claim: Any, sections: list[dict[str, Any]]) -> tuple[str, str]:
    if claim.bundle_id:
        return "bundle", claim.bundle_id
    return "policy", sections[0]["policy_id"] if sections else claim.title


def _confirmed(session: Session, region: str | None) -> set[int]:
    c, s = _CLAIM.c, _STEP.c
    query = select(s.claim_id).join(_CLAIM, c.id == s.claim_id).where(s.action == "confirm")
    query = query.where(*_in_region(c.region, region)).distinct()
    return {r.claim_id for r in session.connection().execute(query)}


def _overdue(session: Session, region: str | None, today: date) -> Counter[int]:
    c, d = _CLAIM.c, _DEADLINE.c
    query = (
        select(d.claim_id).join(_CLAIM, c.id == d.claim_id)
        .where(d.done_at.is_(None), d.due_on < today, *_in_region(c.region, region))
    )  # fmt: skip
    return Counter(r.claim_id for r in session.connection().execute(query))


def _groups(
    session: Session, specs: ClaimSpecs, region: str | None, today: date
) -> list[GroupOutcome]:
    c, p = _CLAIM.c, _PART.c
    parts: dict[int, list[Any]] = defaultdict(list)
    query = select(p.claim_id, p.state, p.sections, p.paid_on).join(_CLAIM, c.id == p.claim_id)
    for r in session.connection().execute(query.where(*_in_region(c.region, region))):
        parts[r.claim_id].append(r)
    confirmed, overdue = _confirmed(session, region), _overdue(session, region, today)
    groups: dict[tuple[str, str], GroupOutcome] = {}
    query = select(c.id, c.kind, c.state, c.bundle_id, c.title, c.eligible_on, c.materials)
    for claim in session.connection().execute(query.where(*_in_region(c.region, region))):
        mine = parts[claim.id]
        sections = [s for part in mine for s in part.sections]
        key = _group_key(claim, sections)
        g = groups.get(key)
        if g is None:
            g = groups[key] = GroupOutcome(key[0], key[1], _title(specs, key, claim.title))
        _add(g, claim, mine, sections, claim.id in confirmed, overdue[claim.id])
    return sorted(groups.values(), key=lambda g: (g.kind != "bundle", g.id))


def _title(specs: ClaimSpecs, key: tuple[str, str], fallback: str) -> str:
    kind, gid = key
    found = specs.bundles.get(gid) if kind == "bundle" else specs.policies.get(gid)
    return found.title if found is not None else fallback


def _add(g: GroupOutcome, claim: Any, parts: list[Any], sections: list[dict[str, Any]],
         confirmed: bool, overdue: int) -> None:  # fmt: skip
    materials = claim.materials or []
    asked = sum(1 for m in materials if m.get("status") == "asked")
    actions = 0 if claim.kind == "grant" else 1 + (1 if asked else 0)
    g.claims[claim.kind][overall_state(claim.state, [p.state for p in parts])] += 1
    g.actions += actions
    g.materials_required += len(materials)
    g.materials_asked += asked
    delivered = sum(len(p.sections) for p in parts if p.state in DELIVERED)
    if delivered:
        g.delivered += delivered
        g.delivered_actions += actions
    if claim.kind == "grant" or confirmed:
        g.taken_up += 1
        g.visits_without += len({s["department"] for s in sections})
        g.visits_with += 0 if claim.kind == "grant" else 1
    g.days_to_pay += [(p.paid_on - claim.eligible_on).days for p in parts if p.paid_on]
    g.overdue += overdue


def _unclaimed(
    session: Session, specs: ClaimSpecs, region: str | None, today: date, days: int
) -> list[Unclaimed]:
    wanted = sorted(pid for pid, p in specs.policies.items() if p.delivery in ("auto", "confirm"))
    e = _ENT.c
    found: list[Unclaimed] = []
    for kind in ("household", "enterprise"):
        table = _ENTERPRISE if kind == "enterprise" else _HOUSEHOLD
        key = table.c.credit_code if kind == "enterprise" else table.c.household_no
        query = (
            select(e.subject_id, e.policy_id, e.valid_from, key.label("key"),
                   table.c.region_code)
            .join(table, table.c.id == e.subject_id)
            .where(e.subject_kind == kind, e.valid_to.is_(None), e.status == "eligible",
                   e.policy_id.in_(wanted), e.valid_from <= today - timedelta(days=days),
                   *_in_region(table.c.region_code, region))
        )  # fmt: skip
        rows = session.connection().execute(query).all()
        held = _held(session, kind, {r.subject_id for r in rows})
        for r in rows:
            if r.policy_id in held.get(r.subject_id, ()):
                continue
            spec = specs.policies[r.policy_id]
            found.append(Unclaimed(
                kind, r.subject_id, r.key, r.region_code or "", r.policy_id, spec.title,
                spec.department, spec.delivery, r.valid_from, (today - r.valid_from).days,
            ))  # fmt: skip
    return sorted(found, key=lambda u: (u.region, u.subject_key, u.policy_id))


def _held(session: Session, kind: str, ids: Iterable[int]) -> dict[int, set[str]]:
    """The policies each subject's live claim parts hold."""
    wanted = sorted(ids)
    out: dict[int, set[str]] = defaultdict(set)
    c, p = _CLAIM.c, _PART.c
    for chunk in (wanted[i : i + 1000] for i in range(0, len(wanted), 1000)):
        query = (
            select(c.subject_id, p.sections).join(_CLAIM, c.id == p.claim_id)
            .where(c.subject_kind == kind, c.subject_id.in_(chunk), p.state.not_in(DEAD_STATES))
        )  # fmt: skip
        for r in session.connection().execute(query):
            out[r.subject_id].update(s["policy_id"] for s in r.sections)
    return out


def outcomes(
    session: Session,
    *,
    region: str | None,
    today: date,
    root: Path,
    days: int = 30,
    catalogue: Catalogue | None = None,
) -> OutcomesReport:
    """The outcomes report (module docstring).

    Args:
        session: a session.
        region: only claims and subjects whose region code starts with these digits (None: all).
        today: the day overdue steps and the 应享未享 waiting time are counted at.
        root: the policies folder (titles, departments, each policy's delivery).
        days: an entitlement unclaimed for at least this many days is listed as 应享未享.
        catalogue: the catalogue of `root`, when the caller has it loaded already.

    Returns:
        The report; `as_json()` gives it as JSON.
    """
    specs = claim_specs(catalogue or load_catalogue(root))
    groups = _groups(session, specs, region, today)
    unclaimed = _unclaimed(session, specs, region, today, days)
    return OutcomesReport(region, today, days, groups, unclaimed)
