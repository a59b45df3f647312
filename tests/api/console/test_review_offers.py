"""The buttons of the claim page are the workflow's own decision (api/console/pages/review/views):
each role is offered exactly what `policies/workflow.yaml` lets it do from the current state, on
its own part, never a second review step of the same claim; deadlines read in working days."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from api.auth import Caller
from api.console.pages.review.views import due, offers
from api.routes.claims.schemas import ClaimOut, PartOut
from rules.workdays import WorkCalendar
from rules.workflow import Workflow

ROOT = Path(__file__).parents[3] / "policies"
VILLAGE, WATER, MEDICAL = "520602101201", "县自来水公司", "县医疗保障局"
WF = Workflow.load(ROOT)


def _part(department: str, state: str, version: int = 1) -> PartOut:
    return PartOut(id=hash(department) % 1000, department=department, state=state,
                   state_label=WF.state_label(state), version=version,
                   entered_on=date(2025, 3, 3), sections=[], paid_on=None, payment_ref=None,
                   ends_on=None, end_reason=None)  # fmt: skip


def _claim(state: str, parts: list[PartOut], steps: list[dict[str, Any]] | None = None) -> ClaimOut:
    return ClaimOut(id=7, kind="bundle", title="低保一件事", subject_kind="household",
                    subject_key=f"{VILLAGE}-00017", region=VILLAGE, bundle_id="household.dibao",
                    state=state, overall=state, overall_label=WF.state_label(state), version=4,
                    eligible_on=date(2025, 3, 1), entered_on=date(2025, 3, 3), form={},
                    materials=[], parts=parts, steps=steps or [], deadlines=[])  # fmt: skip


def _step(
    action: str, actor: str, role: str, region: str, dept: str | None = None
) -> dict[str, Any]:
    return {"action": action, "actor": actor, "role": role, "region": region,
            "department": dept, "from": "x", "to": "y"}  # fmt: skip


VILLAGER = Caller("cun", "village", VILLAGE)
TOWNSHIP = Caller("xiang", "township", VILLAGE[:9])
OTHER_TOWNSHIP = Caller("xiang2", "township", "520602003")
WATER_CLERK = Caller("bumen10", "department", "520602", WATER)


def _said(claim: ClaimOut, viewer: Caller) -> list[tuple[str, str | None, int]]:
    return [(o.action, o.part, o.version) for o in offers(WF, claim, viewer)]


def test_each_role_is_offered_what_the_workflow_allows_from_the_state() -> None:
    """Prepared: the village confirms for the household; accepted: the township checks,
    returns or rejects with a reason, another township nothing; checked: the department acts
    on its own part with that part's version; a claim the village may not touch: nothing."""
    both = [_part(WATER, "prepared"), _part(MEDICAL, "prepared")]
    assert _said(_claim("prepared", both), VILLAGER) == [("confirm", None, 4)]
    assert _said(_claim("prepared", both), TOWNSHIP) == []
    accepted = _claim("village_accepted", both)
    assert [a for a, _, _ in _said(accepted, TOWNSHIP)] == ["check", "return", "reject"]
    reasons = {o.action: o.reason for o in offers(WF, accepted, TOWNSHIP)}
    assert reasons["check"] is None and reasons["return"] and reasons["reject"]
    assert _said(accepted, OTHER_TOWNSHIP) == []
    checked = _claim("township_checked", [_part(WATER, "township_checked", 6)])
    assert _said(checked, WATER_CLERK) == [
        ("approve", WATER, 6),
        ("return", WATER, 6),
        ("reject", WATER, 6),
    ]
    assert _said(checked, TOWNSHIP) == []
    assert _said(_claim("paid", [_part(WATER, "paid")]), WATER_CLERK) == []


def test_a_person_who_took_one_review_step_is_not_offered_another() -> None:
    """Separation of duties: a township checker who also accepted the claim at the village is
    offered no check; one who did not is."""
    both = [_part(WATER, "village_accepted")]
    accepted = [_step("accept", "xiang", "village", VILLAGE)]
    assert "check" not in [a for a, _, _ in _said(_claim("village_accepted", both, accepted),
                                                  TOWNSHIP)]  # fmt: skip
    by_other = [_step("accept", "cun", "village", VILLAGE)]
    assert "check" in [a for a, _, _ in _said(_claim("village_accepted", both, by_other),
                                              TOWNSHIP)]  # fmt: skip


def test_a_deadline_reads_in_working_days_and_past_it_is_overdue() -> None:
    """Due Thursday 2025-03-06: from Monday 3 working days left, on the day 0, after the
    weekend 2 days over; a date in a year with no known holidays shows its date only."""
    cal = WorkCalendar.load(ROOT)
    on = date(2025, 3, 6)
    assert due(on, date(2025, 3, 3), cal).text == "剩 3 个工作日"  # type: ignore[union-attr]
    assert due(on, on, cal).text == "今天到期"  # type: ignore[union-attr]
    late = due(on, date(2025, 3, 10), cal)
    assert late is not None and late.overdue and late.text == "已超时 2 个工作日"
    unknown = due(date(2031, 1, 6), date(2025, 3, 3), cal)
    assert unknown is not None and unknown.left is None and unknown.text == ""
    assert due(None, on, cal) is None
