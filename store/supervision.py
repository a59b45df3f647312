"""Supervision (督查): coverage per policy and region, overdue claim steps, the 应享未享 list.

Every function takes the region prefix to report on — the caller's county, or a township or
village inside it (the API narrows it, `narrowed`) — and filters in SQL.

**Coverage** (`coverage`), per policy and region group — the townships of a county (a 6-digit
prefix), the villages of a township (9 digits) or one village (12) — counted in one SQL query
over the subjects (households and enterprises, by their `region_code`) **eligible on `on`**
(an entitlement interval with status `eligible` covering the day), as a funnel:

- `eligible`: subjects eligible on `on`;
- `notified`: of those, the ones with a `newly_eligible` notice queued for the policy;
- `delivered`: of those, the ones with such a notice delivered (`sent`) on some channel;
- `claimed`: of the eligible, the ones a live claim holds the policy for (a claim part in any
  state but `withdrawn` or `rejected` whose sections name the policy; a 免申即享 grant counts);
- `paid`: of the eligible, the ones with such a part `granted` or `paid`.

A claim part's policies are the `policy_id`s of its `sections` (JSON), read in SQL with
`json_each` on SQLite and `jsonb_array_elements` on PostgreSQL.

**Overdue** (`overdue`): open claim deadlines (`done_at` NULL) whose `due_on` is before `on`,
with the office responsible (`store.claims.deadlines.responsible_offices`) and the working days
overdue by the county's calendar (`holidays.yaml`; None when the calendar does not cover the
dates).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Table, and_, case, exists, func, literal, or_, select, true, union_all
from sqlmodel import Session

from rules.workdays import CalendarUnknown, WorkCalendar
from store.claims.deadlines import responsible_offices
from store.claims.report import DEAD_STATES, DELIVERED, OutcomesReport
from store.delivery.offices import office_label
from store.tables.claims import Claim, ClaimDeadline, ClaimPart
from store.tables.entitlements import Entitlement, OutboxMessage
from store.tables.profiles import EnterpriseRow, HouseholdRow

__all__ = [
    "CoverageRow",
    "OverdueStep",
    "coverage",
    "mask_household",
    "narrowed",
    "overdue",
    "overdue_count",
    "part_policies",
    "unclaimed_rows",
]

_ENT: Table = Entitlement.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_OUTBOX: Table = OutboxMessage.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_CLAIM: Table = Claim.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_PART: Table = ClaimPart.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_DEADLINE: Table = ClaimDeadline.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_HOUSEHOLD: Table = HouseholdRow.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_ENTERPRISE: Table = EnterpriseRow.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__


def narrowed(scope_region: str, asked: str | None) -> str | None:
    """The prefix to report on: `asked` inside the caller's region, the caller's region when
    `asked` is a parent of it or absent, None when the two do not overlap (nothing to see)."""
    if not asked or scope_region.startswith(asked):
        return scope_region or None
    return asked if asked.startswith(scope_region) and scope_region else None


def group_length(prefix: str) -> int:
    """How many digits name a region group under `prefix`: townships (9) under a county,
    villages (12) under a township or a village."""
    return 9 if len(prefix) < 9 else 12


@dataclass(frozen=True)
class CoverageRow:
    """One policy in one region group (module docstring)."""

    policy_id: str
    region: str
    eligible: int
    notified: int
    delivered: int
    claimed: int
    paid: int


def _eligible(prefix: str, on: date) -> Any:
    """(subject_kind, subject_id, policy_id, grp) of every subject eligible on `on`."""
    e, size = _ENT.c, group_length(prefix)
    parts = []
    for kind, table in (("household", _HOUSEHOLD), ("enterprise", _ENTERPRISE)):
        region = table.c.region_code
        parts.append(
            select(e.subject_kind, e.subject_id, e.policy_id,
                   func.substr(region, 1, size).label("grp"))
            .join(table, table.c.id == e.subject_id)
            .where(e.subject_kind == kind, e.status == "eligible", e.valid_from <= on,
                   or_(e.valid_to.is_(None), e.valid_to > on),
                   region.startswith(prefix, autoescape=True))
        )  # fmt: skip
    return union_all(*parts).subquery("eligible")


def part_policies(dialect: str) -> tuple[Any, Any]:
    """A claim part's sections as rows, and the policy id of one row (dialect-specific)."""
    if dialect == "postgresql":
        rows = func.jsonb_array_elements(_PART.c.sections).table_valued("value").alias("sec")
        return rows, rows.c.value.op("->>")("policy_id")
    rows = func.json_each(_PART.c.sections).table_valued("value").alias("sec")
    return rows, func.json_extract(rows.c.value, "$.policy_id")


def _holds(b: Any, dialect: str, states: Any) -> Any:
    """EXISTS a claim part of `b`'s subject holding `b`'s policy in a state `states` admits."""
    c, p = _CLAIM.c, _PART.c
    sec, policy = part_policies(dialect)
    return exists(
        select(literal(1))
        .select_from(_PART.join(_CLAIM, c.id == p.claim_id).join(sec, true()))
        .where(c.subject_kind == b.c.subject_kind, c.subject_id == b.c.subject_id,
               policy == b.c.policy_id, states)
    )  # fmt: skip


def _noticed(b: Any, *, sent: bool) -> Any:
    o = _OUTBOX.c
    return exists(
        select(literal(1)).where(
            o.subject_kind == b.c.subject_kind, o.subject_id == b.c.subject_id,
            o.policy_id == b.c.policy_id, o.kind == "newly_eligible",
            *([o.state == "sent"] if sent else []),
        )
    )  # fmt: skip


def coverage(session: Session, *, prefix: str, on: date) -> list[CoverageRow]:
    """Coverage per policy and region group under `prefix` on `on` (module docstring)."""
    dialect = session.get_bind().dialect.name
    b = _eligible(prefix, on)

    def count(condition: Any) -> Any:
        return func.sum(case((condition, 1), else_=0))

    query = (
        select(b.c.policy_id, b.c.grp, func.count().label("eligible"),
               count(_noticed(b, sent=False)).label("notified"),
               count(_noticed(b, sent=True)).label("delivered"),
               count(_holds(b, dialect, _PART.c.state.not_in(DEAD_STATES))).label("claimed"),
               count(_holds(b, dialect, _PART.c.state.in_(DELIVERED))).label("paid"))
        .group_by(b.c.policy_id, b.c.grp)
        .order_by(b.c.policy_id, b.c.grp)
    )  # fmt: skip
    return [
        CoverageRow(r.policy_id, r.grp, r.eligible, int(r.notified), int(r.delivered),
                    int(r.claimed), int(r.paid))
        for r in session.connection().execute(query)
    ]  # fmt: skip


@dataclass(frozen=True)
class OverdueStep:
    """An open claim step past its due day."""

    claim_id: int
    part_id: int | None
    title: str
    state: str
    region: str
    department: str | None
    offices: list[str]  # office labels ("乡镇（街道）520602100", "县医疗保障局")
    due_on: date
    days_overdue: int | None  # working days; None when the calendar does not cover them


def _overdue_query(columns: Any, prefix: str, on: date) -> Any:
    """`columns` over the open deadlines due before `on` in claims under `prefix`."""
    d, c = _DEADLINE.c, _CLAIM.c
    return columns.join(_CLAIM, c.id == d.claim_id).where(
        and_(d.done_at.is_(None), d.due_on < on), c.region.startswith(prefix, autoescape=True)
    )


def overdue_count(session: Session, *, prefix: str, on: date) -> int:
    """How many open claim steps under `prefix` are overdue on `on` (the total of `overdue`)."""
    query = _overdue_query(select(func.count()).select_from(_DEADLINE), prefix, on)
    return int(session.connection().execute(query).scalar_one())


def overdue(
    session: Session, *, prefix: str, on: date, root: Path, limit: int, offset: int = 0
) -> list[OverdueStep]:
    """Open claim steps due before `on` in claims under `prefix`, the longest overdue first.

    Raises:
        RuleError: `holidays.yaml` is wrong.
    """
    d = _DEADLINE.c
    calendar = WorkCalendar.load(root)
    query = (
        _overdue_query(select(d.claim_id, d.part_id, d.state, d.department, d.due_on,
                              _CLAIM.c.title, _CLAIM.c.region), prefix, on)
        .order_by(d.due_on, d.id).limit(limit).offset(offset)
    )  # fmt: skip
    found = []
    for r in session.connection().execute(query):
        try:
            days: int | None = calendar.workdays_between(r.due_on, on)
        except CalendarUnknown:
            days = None
        offices = [office_label(k) for k in responsible_offices(r.state, r.region, r.department)]
        found.append(OverdueStep(r.claim_id, r.part_id, r.title, r.state, r.region,
                                 r.department, offices, r.due_on, days))  # fmt: skip
    return found


def mask_household(no: str) -> str:
    """A 户编号 as supervision shows it: its village, two stars, its last two digits."""
    return no[:-4] + "**" + no[-2:] if len(no) > 6 else "****"


def unclaimed_rows(report: OutcomesReport | None) -> list[dict[str, Any]]:
    """The 应享未享 list of an outcomes report as supervision shows it (households masked)."""
    found = [u.as_json() for u in report.unclaimed] if report else []
    for u in found:
        if u["subject_kind"] == "household":
            u["subject_key"] = mask_household(u["subject_key"])
        u.pop("subject_id", None)
    return found
