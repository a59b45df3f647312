"""Steps on claims (store/claims/steps.py), on both databases: the whole path of a bundle claim,
separation of duties, region and department, the refusals (invalid, conflict, refused,
calendar), idempotency keys, a department's return, and the deadlines in working days."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import Engine

from rules.workdays import WorkCalendar, add_workdays
from store.claims.errors import ClaimError
from store.claims.reads import show_claim
from store.db import read_session
from tests.store.test_claims_opening import (
    CHECKER,
    DIBAO,
    NEIGHBOUR,
    ROOT,
    VILLAGER,
    add_users,
    bundle_of,
    dept_user,
    parts_of,
    rows,
    scalar,
    seed,
    step,
)

MEDICAL, WATER, POWER = "县医疗保障局", "县自来水公司", "县供电公司"
D1, D2, D3, D4, D5 = (date(2025, 3, d) for d in (3, 4, 5, 6, 7))


def _calendar() -> WorkCalendar:
    return WorkCalendar.load(ROOT)


def _ready(engine: Engine, both: str | None = None) -> int:
    """Household 1's 低保 bundle claim (prepared, a part per department) and the users."""
    seed(engine, households=1)
    add_users(engine, both=both)
    return bundle_of(engine, DIBAO)


def _to_checked(engine: Engine, claim: int) -> None:
    step(engine, claim, "confirmed", VILLAGER, D1)
    step(engine, claim, "village_accepted", VILLAGER, D1)
    step(engine, claim, "township_checked", CHECKER, D2)


def _open_deadlines(engine: Engine, claim: int) -> list[tuple[object, ...]]:
    found = rows(engine, "SELECT part_id, state, entered_on, due_on, remind_on FROM "
                         "claim_deadline WHERE claim_id = :c AND done_at IS NULL ORDER BY id",
                 c=claim)  # fmt: skip
    return [tuple(r) for r in found]


def _day(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def test_the_whole_path_confirm_accept_check_approve_pay(engine: Engine) -> None:
    """confirm (the village on the household's behalf) → accept → check move the claim and
    every part as one; approve and pay move only the acting department's part; each step is
    recorded with who, role, region and on_behalf, and each state's deadline is counted in
    working days and closed by the next step."""
    claim = _ready(engine)
    cal = _calendar()
    parts = parts_of(engine, claim)
    assert len(parts) > 2 and MEDICAL in parts and WATER in parts
    done = step(engine, claim, "confirmed", VILLAGER, D1)
    assert (done.action, done.from_state, done.to_state, done.replayed) == (
        "confirm", "prepared", "confirmed", False)  # fmt: skip
    (dl,) = _open_deadlines(engine, claim)
    assert (dl[0], dl[1], _day(dl[3])) == (None, "confirmed", add_workdays(D1, 2, calendar=cal))
    step(engine, claim, "village_accepted", VILLAGER, D1)
    (dl,) = _open_deadlines(engine, claim)
    assert (dl[1], _day(dl[3]), _day(dl[4])) == (
        "village_accepted",
        add_workdays(D1, 3, calendar=cal),
        add_workdays(D1, 2, calendar=cal),
    )
    step(engine, claim, "township_checked", CHECKER, D2)
    open_ = _open_deadlines(engine, claim)
    assert {r[0] for r in open_} == {p.id for p in parts.values()}  # one per part now
    assert {(r[1], _day(r[3])) for r in open_} == {
        ("township_checked", add_workdays(D2, 5, calendar=cal))}  # fmt: skip
    done = step(engine, claim, "county_approved", dept_user(MEDICAL), D3)
    assert done.part_ids == (parts[MEDICAL].id,) and done.action == "approve"
    states = {d: p.state for d, p in parts_of(engine, claim).items()}
    assert states.pop(MEDICAL) == "county_approved"
    assert set(states.values()) == {"township_checked"}  # only its own part moved
    done = step(engine, claim, "paid", dept_user(MEDICAL), D4, payment_ref="PAY-2025-03-0001")
    assert done.part_ids == (parts[MEDICAL].id,) and done.to_state == "paid"
    medical = parts_of(engine, claim)[MEDICAL]
    assert (medical.state, _day(medical.paid_on), medical.payment_ref, medical.version) == (
        "paid", D4, "PAY-2025-03-0001", parts[MEDICAL].version + 5)  # fmt: skip
    # the medical part's approve deadline closed, pay's opened and closed; the others still open
    open_ = _open_deadlines(engine, claim)
    assert parts[MEDICAL].id not in {r[0] for r in open_}
    assert len(open_) == len(parts) - 1
    assert scalar(engine, "SELECT COUNT(*) FROM claim_deadline WHERE part_id = :p AND state = "
                          "'county_approved'", p=parts[MEDICAL].id) == 1  # fmt: skip
    steps = rows(engine, "SELECT action, part_id, actor, role, region, department, on_behalf "
                         "FROM claim_step WHERE claim_id = :c ORDER BY id", c=claim)  # fmt: skip
    assert [(s.action, s.actor, s.role, bool(s.on_behalf)) for s in steps] == [
        ("confirm", VILLAGER, "village", True),
        ("accept", VILLAGER, "village", False),
        ("check", CHECKER, "township", False),
        ("approve", dept_user(MEDICAL), "department", False),
        ("pay", dept_user(MEDICAL), "department", False),
    ]
    assert [s.part_id for s in steps[3:]] == [parts[MEDICAL].id] * 2
    assert steps[3].department == MEDICAL and steps[0].region == "520602100201"
    with read_session(engine) as session:
        view = show_claim(session, claim)
    assert view is not None and view.state == "township_checked"
    assert view.overall == "township_checked"  # the least advanced open part


def test_one_person_holding_village_and_township_roles_cannot_accept_and_check(
    engine: Engine,
) -> None:
    """Separation of duties (RELIABILITY D7): a user granted the township role besides the
    village one accepts, then is refused the check as the same person; the refusal is audited
    (claim.refused naming the person) and nothing moved."""
    claim = _ready(engine, both="赵双岗")
    step(engine, claim, "confirmed", "赵双岗", D1, role="village")
    step(engine, claim, "village_accepted", "赵双岗", D1, role="village")
    version = scalar(engine, "SELECT version FROM claim WHERE id = :c", c=claim)
    with pytest.raises(ClaimError, match="同一人不能办理两个审查环节") as caught:
        step(engine, claim, "township_checked", "赵双岗", D2, role="township")
    assert caught.value.why == "refused" and caught.value.claim_id == claim
    assert scalar(engine, "SELECT state FROM claim WHERE id = :c", c=claim) == "village_accepted"
    assert scalar(engine, "SELECT version FROM claim WHERE id = :c", c=claim) == version
    (audit,) = rows(engine, "SELECT actor, subject, details FROM audit WHERE action = "
                            "'claim.refused'")  # fmt: skip
    assert (audit.actor, audit.subject) == ("赵双岗", f"claim:{claim}")
    assert "同一人不能办理两个审查环节" in str(audit.details)
    step(engine, claim, "township_checked", CHECKER, D2)  # another person may


def test_a_sibling_village_and_another_department_are_refused_in_chinese(engine: Engine) -> None:
    """A village operator of a sibling village cannot confirm; a department user cannot approve
    another department's part (named explicitly), and one with no part gets not_found."""
    claim = _ready(engine)
    with pytest.raises(ClaimError, match=r"你的辖区 520602100202 不是") as caught:
        step(engine, claim, "confirmed", NEIGHBOUR, D1)
    assert caught.value.why == "refused"
    _to_checked(engine, claim)
    with pytest.raises(ClaimError, match=f"本分项属于「{WATER}」，你所在的部门是「{MEDICAL}」"):
        step(engine, claim, "county_approved", dept_user(MEDICAL), D3, department=WATER)
    with pytest.raises(ClaimError, match="没有「县公安局（户籍派出所）」的分项") as caught:
        step(engine, claim, "county_approved", dept_user("县公安局（户籍派出所）"), D3)
    assert caught.value.why == "not_found"
    assert {p.state for p in parts_of(engine, claim).values()} == {"township_checked"}
    refused = scalar(engine, "SELECT COUNT(*) FROM audit WHERE action = 'claim.refused'")
    assert refused == 2  # not_found is not a workflow refusal


def test_an_unknown_target_state_a_second_confirm_and_a_stale_version(engine: Engine) -> None:
    """A state the claim cannot go to is invalid, naming the states it can; confirming twice
    is invalid; a version that moved since the caller read it is a conflict."""
    claim = _ready(engine)
    with pytest.raises(ClaimError, match=re.escape("'nowhere'（未知状态）")) as caught:
        step(engine, claim, "nowhere", VILLAGER, D1)
    assert caught.value.why == "invalid" and "「已确认」(confirmed)" in str(caught.value)
    with pytest.raises(ClaimError, match=re.escape("不能转到「已发放」；此时可转到：")) as caught:
        step(engine, claim, "paid", VILLAGER, D1)
    assert caught.value.why == "invalid" and "(confirmed)" in str(caught.value)
    step(engine, claim, "confirmed", VILLAGER, D1, version=1)
    with pytest.raises(ClaimError) as caught:
        step(engine, claim, "confirmed", VILLAGER, D1)
    assert caught.value.why == "invalid" and "「村级已受理」(village_accepted)" in str(caught.value)
    with pytest.raises(ClaimError, match="你看到的是第 1 版，现为第 2 版") as caught:
        step(engine, claim, "village_accepted", VILLAGER, D1, version=1)
    assert caught.value.why == "conflict"
    assert scalar(engine, "SELECT COUNT(*) FROM claim_step WHERE claim_id = :c", c=claim) == 1
    step(engine, claim, "village_accepted", VILLAGER, D1, version=2)


def test_the_same_idempotency_key_replays_and_another_step_under_it_is_invalid(
    engine: Engine,
) -> None:
    """The same key twice: one step, the second answer replayed; the same key for another step
    is invalid and takes nothing."""
    claim = _ready(engine)
    first = step(engine, claim, "confirmed", VILLAGER, D1, key="k-confirm-1")
    again = step(engine, claim, "confirmed", VILLAGER, D1, key="k-confirm-1")
    assert (first.replayed, again.replayed) == (False, True)
    assert (again.claim_id, again.action, again.from_state, again.to_state) == (
        claim, "confirm", "prepared", "confirmed")  # fmt: skip
    assert scalar(engine, "SELECT COUNT(*) FROM claim_step WHERE claim_id = :c", c=claim) == 1
    assert scalar(engine, "SELECT version FROM claim WHERE id = :c", c=claim) == 2
    with pytest.raises(ClaimError, match="幂等键 'k-confirm-1' 已用于另一操作") as caught:
        step(engine, claim, "village_accepted", VILLAGER, D1, key="k-confirm-1")
    assert caught.value.why == "invalid"
    assert scalar(engine, "SELECT state FROM claim WHERE id = :c", c=claim) == "confirmed"


def test_a_departments_return_sends_only_its_part_back_then_resubmit_and_check_again(
    engine: Engine,
) -> None:
    """A department returns its part (with what to fix): only that part is `returned`; the
    village resubmits it, the same township checker checks it again (the same review step is
    allowed) and the department approves it."""
    claim = _ready(engine)
    _to_checked(engine, claim)
    with pytest.raises(ClaimError, match="须写明理由") as caught:
        step(engine, claim, "returned", dept_user(WATER), D3)
    assert caught.value.why == "refused"
    done = step(engine, claim, "returned", dept_user(WATER), D3, reason="水费户号与户主不符")
    parts = parts_of(engine, claim)
    assert done.part_ids == (parts[WATER].id,)
    assert {d for d, p in parts.items() if p.state == "returned"} == {WATER}
    assert scalar(engine, "SELECT state FROM claim WHERE id = :c", c=claim) == "township_checked"
    (returned,) = [r for r in _open_deadlines(engine, claim) if r[0] == parts[WATER].id]
    assert (returned[1], _day(returned[3])) == (
        "returned",
        add_workdays(D3, 5, calendar=_calendar()),
    )
    done = step(engine, claim, "village_accepted", VILLAGER, D4)
    assert (done.action, done.part_ids) == ("resubmit", (parts[WATER].id,))
    done = step(engine, claim, "township_checked", CHECKER, D4)
    assert (done.action, done.part_ids) == ("check", (parts[WATER].id,))
    step(engine, claim, "county_approved", dept_user(WATER), D5)
    states = {d: p.state for d, p in parts_of(engine, claim).items()}
    assert states.pop(WATER) == "county_approved" and set(states.values()) == {"township_checked"}
    reasons = rows(engine, "SELECT reason FROM claim_step WHERE action = 'return'")
    assert [r.reason for r in reasons] == ["水费户号与户主不符"]


def test_reject_needs_a_reason_and_ends_only_that_part(engine: Engine) -> None:
    """A department's reject without a reason is refused; with one, its part is rejected with
    the reason kept; the other parts go on."""
    claim = _ready(engine)
    _to_checked(engine, claim)
    with pytest.raises(ClaimError, match="须写明理由"):
        step(engine, claim, "rejected", dept_user(POWER), D3, reason="  ")
    step(engine, claim, "rejected", dept_user(POWER), D3, reason="电费户号不属于本户")
    parts = parts_of(engine, claim)
    assert (parts[POWER].state, parts[POWER].end_reason) == ("rejected", "电费户号不属于本户")
    assert {p.state for d, p in parts.items() if d != POWER} == {"township_checked"}
    assert parts[POWER].id not in {r[0] for r in _open_deadlines(engine, claim)}


def test_a_deadline_across_national_day_2025_counts_working_days(engine: Engine) -> None:
    """Accepted on 2025-09-30: three working days are Oct 9, Oct 10 and Saturday Oct 11 (调休),
    so the check is due 2025-10-11 and reminded 2025-10-10."""
    claim = _ready(engine)
    step(engine, claim, "confirmed", VILLAGER, date(2025, 9, 30))
    step(engine, claim, "village_accepted", VILLAGER, date(2025, 9, 30))
    (dl,) = _open_deadlines(engine, claim)
    assert (dl[1], _day(dl[2]), _day(dl[3]), _day(dl[4])) == (
        "village_accepted",
        date(2025, 9, 30),
        date(2025, 10, 11),
        date(2025, 10, 10),
    )


def test_a_deadline_reaching_a_year_with_no_holiday_schedule_refuses_the_step(
    engine: Engine,
) -> None:
    """A check on 2026-12-28 needs a deadline five working days on, in 2027, whose holidays are
    unknown: ClaimError why="calendar", and nothing changed (state, versions, steps, deadlines,
    audit)."""
    claim = _ready(engine)
    step(engine, claim, "confirmed", VILLAGER, date(2026, 12, 28))
    step(engine, claim, "village_accepted", VILLAGER, date(2026, 12, 28))
    tables = ("claim_step", "claim_deadline", "audit")
    counts = [scalar(engine, f"SELECT COUNT(*) FROM {t}") for t in tables]
    versions = [tuple(r) for r in rows(engine, "SELECT id, state, version FROM claim_part")]
    with pytest.raises(ClaimError, match="2027") as caught:
        step(engine, claim, "township_checked", CHECKER, date(2026, 12, 28))
    assert caught.value.why == "calendar" and "承诺时限" in str(caught.value)
    assert scalar(engine, "SELECT state FROM claim WHERE id = :c", c=claim) == "village_accepted"
    assert [scalar(engine, f"SELECT COUNT(*) FROM {t}") for t in tables] == counts
    assert [tuple(r) for r in rows(engine, "SELECT id, state, version FROM claim_part")] == versions
    (dl,) = _open_deadlines(engine, claim)
    assert dl[1] == "village_accepted"  # still open: the accept's deadline was not closed
