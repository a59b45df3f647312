"""Deadlines (承诺时限) of claim steps turned into office notices: reminders and escalations.

`due_notices(session, today=…, root=…)` is what the scheduler's `claim_deadlines` job runs
(hourly). For every open `claim_deadline` row (`done_at IS NULL`) whose reminder day has come
(`remind_on <= today`):

1. **Moved on?** The claim (`part_id` NULL) or the part must still be in the row's `state` at
   the row's `version`; if it moved on (the step was taken, returned, withdrawn…), the row is
   closed (`done_at` set) and nothing is sent.
2. **Overdue** (`due_on < today`, `escalated_at IS NULL`): `claim.overdue` to the county's
   supervisors (the 6-digit county code) **and** to the office responsible for the step;
   `escalated_at` set. A reminder not sent yet is not sent any more (`reminded_at` is set
   too): the escalation says more.
3. **Reminder** (`remind_on <= today <= due_on`, `reminded_at IS NULL`): `claim.reminder` to
   the responsible office; `reminded_at` set.

Rows not yet at their reminder day are left alone: `store.claims.steps` closes a row when its
step is taken, and one it missed is closed here when its day comes.

The responsible office is that of the step due from the row's state:

| state | office |
|---|---|
| prepared, confirmed, returned | the village centre (the claim's 12-digit region) |
| village_accepted | the township (the region's first 9 digits) |
| township_checked, county_approved, granted | the county department (`{county}/{department}`) |

A row without a department at a department's state goes to every department with a part in
the claim. Payload (besides `type`, `office`, `claim_id`): `deadline_id`, `part_id`, `title`,
`state`, `state_label`, `entered_on`, `due_on`, `department`, `subject` (户编号 or credit
code, never an ID number), and for `claim.overdue` `days_overdue`, the working days from
`due_on` to today — left out (`days_overdue: null`, `calendar` saying why) when the calendar
does not know a year of the span, rather than not escalating.

Run twice (or by two processes at once), it sends each notice once: the marks are
compare-and-set (`UPDATE … WHERE id=:id AND reminded_at IS NULL AND done_at IS NULL`; only the
run whose update took queues), and the notices' dedup keys (`claim.reminder:{deadline id}`,
`claim.overdue:{deadline id}:{office}`) are unique in the outbox besides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Table, and_, select, update
from sqlmodel import Session

from rules.workdays import CalendarUnknown, WorkCalendar
from rules.workflow import Workflow
from store.claims.notices import department_office, queue_office_notices
from store.tables.claims import Claim, ClaimDeadline, ClaimPart
from store.tables.types import utcnow

__all__ = ["DeadlineReport", "due_notices", "responsible_offices"]

_CLAIM: Table = Claim.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_PART: Table = ClaimPart.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_DEADLINE: Table = ClaimDeadline.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__

_VILLAGE = frozenset({"prepared", "confirmed", "returned"})
_TOWNSHIP = frozenset({"village_accepted"})
_DEPARTMENT = frozenset({"township_checked", "county_approved", "granted"})


@dataclass
class DeadlineReport:
    """What one run did: rows closed, reminders and escalations sent, notices queued."""

    closed: int = 0  # the claim or part had moved on: no notice
    reminded: int = 0
    escalated: int = 0
    notices: int = 0  # office notices queued (an escalation queues two or more)
    uncounted: int = 0  # escalations without a count of days (calendar unknown)


def responsible_offices(
    state: str, region: str, department: str | None, departments: Sequence[str] = ()
) -> list[str]:
    """The offices responsible for the step due from `state` (see the module docstring).

    Args:
        state: the state the step is due from.
        region: the claim's 12-digit region code.
        department: the row's department (a part's), or None.
        departments: the claim's parts' departments, used when `department` is None.

    Returns:
        Office keys: a village code, a township code or `{county}/{department}`.
    """
    if state in _TOWNSHIP:
        return [region[:9]]
    if state in _DEPARTMENT:
        names = [department] if department else sorted(set(departments))
        if names:
            return [department_office(region, d) for d in names]
    return [region]  # the village centre: its own states, and the fallback for the rest


def _open_rows(session: Session, today: date) -> list[Any]:
    """Open deadlines whose reminder day has come, with their claim's and part's state."""
    d, c, p = _DEADLINE.c, _CLAIM.c, _PART.c
    columns = (
        d.id, d.claim_id, d.part_id, d.state, d.version, d.department, d.entered_on, d.due_on,
        d.remind_on, d.reminded_at, d.escalated_at, c.title, c.region, c.subject_kind,
        c.subject_key, c.state.label("claim_state"), c.version.label("claim_version"),
        p.state.label("part_state"), p.version.label("part_version"),
        p.department.label("part_department"),
    )  # fmt: skip
    query = (
        select(*columns)
        .select_from(_DEADLINE)
        .join(_CLAIM, c.id == d.claim_id)
        .outerjoin(_PART, p.id == d.part_id)
        .where(d.done_at.is_(None), d.remind_on <= today)
        .order_by(d.id)
    )
    return list(session.connection().execute(query))


def _moved_on(row: Any) -> bool:
    if row.part_id is None:
        return bool(row.claim_state != row.state or row.claim_version != row.version)
    return bool(row.part_state != row.state or row.part_version != row.version)


def _mark(session: Session, deadline_id: int, **values: Any) -> bool:
    """Set `values` on an open row where each is still NULL; whether this call set them."""
    d = _DEADLINE.c
    unset = [d[name].is_(None) for name in values]
    done = session.connection().execute(
        update(_DEADLINE)
        .where(and_(d.id == deadline_id, d.done_at.is_(None), *unset))
        .values(**values)
    )
    return done.rowcount == 1


def _departments(session: Session, claim_ids: set[int]) -> dict[int, list[str]]:
    if not claim_ids:
        return {}
    p, out = _PART.c, dict[int, list[str]]()
    for claim_id, name in session.connection().execute(
        select(p.claim_id, p.department).where(p.claim_id.in_(claim_ids))
    ):
        out.setdefault(claim_id, []).append(name)
    return out


@dataclass(frozen=True)
class _Context:
    today: date
    workflow: Workflow
    calendar: WorkCalendar


def _payload(row: Any, ctx: _Context) -> dict[str, Any]:
    return {
        "deadline_id": row.id,
        "part_id": row.part_id,
        "title": row.title,
        "state": row.state,
        "state_label": ctx.workflow.state_label(row.state),
        "entered_on": row.entered_on.isoformat(),
        "due_on": row.due_on.isoformat(),
        "department": row.department or row.part_department,
        "subject": {"kind": row.subject_kind, "key": row.subject_key},
    }


def _overdue(
    row: Any, ctx: _Context, offices: list[str], report: DeadlineReport
) -> list[dict[str, Any]]:
    payload = _payload(row, ctx)
    try:
        payload["days_overdue"] = ctx.calendar.workdays_between(row.due_on, ctx.today)
    except CalendarUnknown as exc:
        payload |= {"days_overdue": None, "calendar": str(exc)}
        report.uncounted += 1
    supervisors = row.region[:6]
    return [
        {"dedup_key": f"claim.overdue:{row.id}:{office}", "claim_id": row.claim_id,
         "kind": "claim.overdue", "office": office, "payload": payload}
        for office in dict.fromkeys([supervisors, *offices])
    ]  # fmt: skip


def _reminders(row: Any, ctx: _Context, offices: list[str]) -> list[dict[str, Any]]:
    payload = _payload(row, ctx)
    one = len(offices) == 1
    return [
        {"dedup_key": f"claim.reminder:{row.id}" + ("" if one else f":{office}"),
         "claim_id": row.claim_id, "kind": "claim.reminder", "office": office,
         "payload": payload}
        for office in offices
    ]  # fmt: skip


def due_notices(session: Session, *, today: date, root: Path) -> DeadlineReport:
    """Close moved-on deadlines, send due reminders and escalations (module docstring).

    Args:
        session: a write transaction (the caller commits).
        today: the county's day (`rules.clock.today()` for the scheduler).
        root: the policies folder (`workflow.yaml` for state labels, `holidays.yaml`).

    Returns:
        The counts of what was done.

    Raises:
        RuleError: `workflow.yaml` or `holidays.yaml` is wrong.
    """
    ctx = _Context(today, Workflow.load(root), WorkCalendar.load(root))
    rows, report = _open_rows(session, today), DeadlineReport()
    notices: list[dict[str, Any]] = []
    now = utcnow()
    departments = _departments(session, {r.claim_id for r in rows if not r.department})
    for row in rows:
        if _moved_on(row):
            report.closed += _mark(session, row.id, done_at=now)
            continue
        offices = responsible_offices(
            row.state, row.region, row.department or row.part_department,
            departments.get(row.claim_id, ()),
        )  # fmt: skip
        if row.due_on < today and row.escalated_at is None:
            if _mark(session, row.id, escalated_at=now):
                _mark(session, row.id, reminded_at=now)  # too late for a reminder
                notices += _overdue(row, ctx, offices, report)
                report.escalated += 1
        elif row.due_on >= today and row.reminded_at is None:
            if _mark(session, row.id, reminded_at=now):
                notices += _reminders(row, ctx, offices)
                report.reminded += 1
    queue_office_notices(session, notices)
    report.notices = len(notices)
    return report
