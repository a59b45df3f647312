"""应享未享 as the console's supervisor sees it: where each eligible benefit stopped short.

`gaps` lists, under a region prefix, every subject **eligible on `on`** for a policy (the
same entitlement intervals as `store.supervision.coverage`) for at least `days` days, whose
benefit has **not reached it** — no claim part holding the policy is `granted` or `paid`
(coverage's `paid`) — with the two stages of the funnel that say why:

- `notice` — the `newly_eligible` notice for the policy: `none` (never queued), `pending`
  (queued, not delivered yet), `failed` (`dead` or `undeliverable` on every channel),
  `sent` (delivered on some channel; the best state wins);
- `claim` — the live claim part holding the policy (any state but `withdrawn`/`rejected`, the
  latest part when there are several): `none` (no live claim: the API's 应享未享,
  `GET /api/supervision/unclaimed`), `prepared` (prepared, waiting for the household's or
  the village's confirmation), `in_progress` (confirmed and under review, or returned);
  `state` is that part's state.

`policies` names the policies to consider (the console passes those delivered `auto` or
`confirm`, as the outcomes report does: a `notify` policy has no claim by design). Both
stages are computed in one SQL query (a claim part's policies are read from its `sections`
JSON as `store.supervision` reads them), so filtering by stage, counting and paging happen in
the database. Subjects are shown as supervision shows them: a household's 户编号 masked
(`store.supervision.mask_household`), an enterprise's credit code masked like an ID number
(an all-digit code is ID-shaped).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Table, case, exists, func, literal, or_, select, true, union_all
from sqlmodel import Session

from matcher.profiles.masking import mask_id
from store.claims.report import DEAD_STATES, DELIVERED
from store.supervision import mask_household, part_policies
from store.tables.claims import Claim, ClaimPart
from store.tables.entitlements import Entitlement, OutboxMessage
from store.tables.profiles import EnterpriseRow, HouseholdRow

__all__ = ["CLAIM_STAGES", "NOTICE_STAGES", "Gap", "GapFilter", "gap_count", "gaps"]

_ENT: Table = Entitlement.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_OUTBOX: Table = OutboxMessage.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_CLAIM: Table = Claim.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_PART: Table = ClaimPart.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_HOUSEHOLD: Table = HouseholdRow.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_ENTERPRISE: Table = EnterpriseRow.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__

NOTICE_STAGES = ("none", "pending", "failed", "sent")
CLAIM_STAGES = ("none", "prepared", "in_progress")
_FAILED = ("dead", "undeliverable")


@dataclass(frozen=True)
class GapFilter:
    """Which gaps: under `prefix`, eligible on `on` for `days` days or more, for `policies`
    (narrowed to `policy` when given), at a `notice` and `claim` stage when given."""

    prefix: str
    on: date
    policies: Sequence[str]
    days: int = 0
    policy: str | None = None
    notice: str | None = None
    claim: str | None = None


@dataclass(frozen=True)
class Gap:
    """One eligible benefit not yet delivered, and the stages it reached (module docstring)."""

    subject_kind: str
    subject_key: str  # masked
    region: str
    policy_id: str
    eligible_since: date
    days: int
    notice: str
    claim: str
    state: str | None  # the live claim part's state; None when there is none


def _eligible(f: GapFilter) -> Any:
    """Every (subject, policy) eligible on `f.on` for `f.days` days under `f.prefix`."""
    e = _ENT.c
    wanted = [f.policy] if f.policy else list(f.policies)
    parts = []
    for kind, table, key in (("household", _HOUSEHOLD, _HOUSEHOLD.c.household_no),
                             ("enterprise", _ENTERPRISE, _ENTERPRISE.c.credit_code)):  # fmt: skip
        region = table.c.region_code
        parts.append(
            select(e.subject_kind, e.subject_id, e.policy_id, e.valid_from,
                   key.label("subject_key"), region.label("region"))
            .join(table, table.c.id == e.subject_id)
            .where(e.subject_kind == kind, e.status == "eligible",
                   e.valid_from <= f.on - timedelta(days=f.days),
                   or_(e.valid_to.is_(None), e.valid_to > f.on), e.policy_id.in_(wanted),
                   region.startswith(f.prefix, autoescape=True))
        )  # fmt: skip
    return union_all(*parts).subquery("eligible")


def _parts(b: Any, dialect: str) -> Any:
    """A select over the claim parts of `b`'s subject holding `b`'s policy (to be narrowed)."""
    c, p = _CLAIM.c, _PART.c
    sec, policy = part_policies(dialect)
    return (
        select(literal(1))
        .select_from(_PART.join(_CLAIM, c.id == p.claim_id).join(sec, true()))
        .where(c.subject_kind == b.c.subject_kind, c.subject_id == b.c.subject_id,
               policy == b.c.policy_id)
    )  # fmt: skip


def _notice(b: Any) -> Any:
    o = _OUTBOX.c

    def noticed(*states: Any) -> Any:
        return exists(
            select(literal(1)).where(
                o.subject_kind == b.c.subject_kind, o.subject_id == b.c.subject_id,
                o.policy_id == b.c.policy_id, o.kind == "newly_eligible", *states,
            )
        )  # fmt: skip

    return case(
        (noticed(o.state == "sent"), "sent"),
        (noticed(o.state.not_in(_FAILED)), "pending"),
        (noticed(), "failed"),
        else_="none",
    )


def _stages(f: GapFilter, dialect: str) -> Any:
    """The eligible rows not delivered, with their notice stage and live part state."""
    b = _eligible(f)
    live = (
        _parts(b, dialect).with_only_columns(_PART.c.state)
        .where(_PART.c.state.not_in(DEAD_STATES)).order_by(_PART.c.id.desc()).limit(1)
        .scalar_subquery()
    )  # fmt: skip
    delivered = exists(_parts(b, dialect).where(_PART.c.state.in_(DELIVERED)))
    return (
        select(b, _notice(b).label("notice"), live.label("state"))
        .where(~delivered)
        .subquery("stages")
    )


def _filtered(f: GapFilter, dialect: str) -> tuple[Any, Any, list[Any]]:
    s = _stages(f, dialect)
    claim = case((s.c.state.is_(None), "none"), (s.c.state == "prepared", "prepared"),
                 else_="in_progress")  # fmt: skip
    where = []
    if f.notice:
        where.append(s.c.notice == f.notice)
    if f.claim:
        where.append(claim == f.claim)
    return s, claim, where


def gap_count(session: Session, f: GapFilter) -> int:
    """How many gaps `f` selects (the total of `gaps`)."""
    s, _, where = _filtered(f, session.get_bind().dialect.name)
    query = select(func.count()).select_from(s).where(*where)
    return int(session.connection().execute(query).scalar_one())


def gaps(session: Session, f: GapFilter, *, limit: int, offset: int = 0) -> list[Gap]:
    """The gaps `f` selects, by region, subject and policy (module docstring)."""
    s, claim, where = _filtered(f, session.get_bind().dialect.name)
    query = (
        select(s, claim.label("claim")).where(*where)
        .order_by(s.c.region, s.c.subject_key, s.c.policy_id).limit(limit).offset(offset)
    )  # fmt: skip
    return [
        Gap(r.subject_kind, _shown(r.subject_kind, r.subject_key), r.region or "", r.policy_id,
            r.valid_from, (f.on - r.valid_from).days, r.notice, r.claim, r.state)
        for r in session.connection().execute(query)
    ]  # fmt: skip


def _shown(kind: str, key: str) -> str:
    return mask_household(key) if kind == "household" else mask_id(key)
