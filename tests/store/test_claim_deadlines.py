"""Claim deadlines (承诺时限) become office notices: a reminder on the working day before, an
escalation to the county's supervisors and the responsible office after, each once; nothing
for a claim that moved on. Dates straddle National Day 2025 (Oct 1–8 off, Sat Oct 11 worked)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from rules.workdays import add_workdays
from store.claims.deadlines import DeadlineReport, due_notices, responsible_offices
from store.db import read_session, write_session
from store.tables.claims import ClaimDeadline
from store.tables.entitlements import OutboxMessage
from tests.claim_kit import VILLAGE, add_claim, add_deadline, move_claim

POLICIES = Path(__file__).resolve().parents[2] / "policies"
ENTERED = date(2025, 9, 29)  # village_accepted on Monday 29 September: 3 working days to check


def _run(engine: Engine, today: date) -> DeadlineReport:
    with write_session(engine) as session:
        return due_notices(session, today=today, root=POLICIES)


def _notices(engine: Engine) -> list[tuple[str, str, str, dict[str, Any]]]:
    with read_session(engine) as session:
        rows = session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars()  # type: ignore[arg-type]
        return [(r.kind, r.dedup_key, r.payload["office"], r.payload) for r in rows]


def _marks(engine: Engine, deadline_id: int) -> tuple[bool, bool, bool]:
    """Whether the row is (reminded, escalated, done)."""
    with read_session(engine) as session:
        row = session.get(ClaimDeadline, deadline_id)
        assert row is not None
        return row.reminded_at is not None, row.escalated_at is not None, row.done_at is not None


def test_a_township_check_is_reminded_the_day_before_and_escalated_once_after(
    engine: Engine,
) -> None:
    """Due Friday 10 October (Sep 30, Oct 9, Oct 10: the holiday is not counted): reminded on
    the 9th, not on the 8th; escalated on Monday the 13th, two working days late (Sat 11th
    was worked); a second run the same day sends nothing."""
    remind, due = add_workdays(ENTERED, 2), add_workdays(ENTERED, 3)
    assert (remind, due) == (date(2025, 10, 9), date(2025, 10, 10))
    claim_id, _ = add_claim(engine, state="village_accepted", entered_on=ENTERED)
    deadline = add_deadline(
        engine, claim_id, state="village_accepted", entered_on=ENTERED, remind_on=remind,
        due_on=due,
    )  # fmt: skip
    assert _run(engine, date(2025, 10, 8)) == DeadlineReport()
    assert _run(engine, date(2025, 10, 9)) == DeadlineReport(reminded=1, notices=1)
    assert _run(engine, date(2025, 10, 9)) == DeadlineReport()
    assert _run(engine, date(2025, 10, 10)) == DeadlineReport()
    ((kind, key, office, payload),) = _notices(engine)
    assert (kind, key, office) == ("claim.reminder", f"claim.reminder:{deadline}", VILLAGE[:9])
    assert payload["state_label"] == "村级已受理" and payload["due_on"] == "2025-10-10"
    assert payload["claim_id"] == claim_id and "days_overdue" not in payload
    assert _run(engine, date(2025, 10, 13)) == DeadlineReport(escalated=1, notices=2)
    assert _run(engine, date(2025, 10, 14)) == DeadlineReport()
    overdue = [n for n in _notices(engine) if n[0] == "claim.overdue"]
    assert {(key, office) for _, key, office, _ in overdue} == {
        (f"claim.overdue:{deadline}:520602", "520602"),
        (f"claim.overdue:{deadline}:520602100", "520602100"),
    }
    assert {p["days_overdue"] for *_, p in overdue} == {2}
    assert _marks(engine, deadline) == (True, True, False)


def test_a_claim_that_moved_on_gets_nothing_and_its_deadline_is_closed(engine: Engine) -> None:
    claim_id, _ = add_claim(engine, state="village_accepted", entered_on=ENTERED)
    deadline = add_deadline(
        engine, claim_id, state="village_accepted", entered_on=ENTERED,
        remind_on=date(2025, 10, 9), due_on=date(2025, 10, 10),
    )  # fmt: skip
    move_claim(engine, claim_id, "township_checked")
    assert _run(engine, date(2025, 10, 13)) == DeadlineReport(closed=1)
    assert _notices(engine) == [] and _marks(engine, deadline) == (False, False, True)
    assert _run(engine, date(2025, 10, 14)) == DeadlineReport()


def test_a_late_run_escalates_without_a_reminder_and_without_a_count_past_the_calendar(
    engine: Engine,
) -> None:
    """A department's part due on the last day of 2026, first looked at in 2027 (a year whose
    holidays nobody knows yet): the escalation goes out to the supervisors and the department,
    saying the days could not be counted; no reminder is sent that late."""
    claim_id, part_id = add_claim(engine, state="township_checked", entered_on=date(2026, 12, 24))
    add_deadline(
        engine, claim_id, state="township_checked", part_id=part_id, department="县医疗保障局",
        entered_on=date(2026, 12, 24), remind_on=date(2026, 12, 30), due_on=date(2026, 12, 31),
    )  # fmt: skip
    report = _run(engine, date(2027, 1, 5))
    assert report == DeadlineReport(escalated=1, notices=2, uncounted=1)
    found = {office: (kind, p) for kind, _, office, p in _notices(engine)}
    assert set(found) == {"520602", "520602/县医疗保障局"}
    kind, payload = found["520602/县医疗保障局"]
    assert kind == "claim.overdue" and payload["days_overdue"] is None
    assert "2027" in payload["calendar"] and payload["department"] == "县医疗保障局"
    assert payload["subject"] == {"kind": "household", "key": "5206021002010002"}


def test_each_state_names_the_office_responsible_for_its_step() -> None:
    assert responsible_offices("confirmed", VILLAGE, None) == [VILLAGE]
    assert responsible_offices("returned", VILLAGE, "县民政局") == [VILLAGE]
    assert responsible_offices("village_accepted", VILLAGE, None) == ["520602100"]
    assert responsible_offices("county_approved", VILLAGE, "县民政局") == ["520602/县民政局"]
    assert responsible_offices("granted", VILLAGE, None, ["县水务局", "县民政局"]) == [
        "520602/县民政局", "520602/县水务局",
    ]  # fmt: skip
