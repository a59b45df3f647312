"""Claims ended by entitlement changes (store/claims/opening.py), on both databases: 低保 lapsing
withdraws the open parts of the bundle claim (by the system, with the reason) and the claim
once every part is withdrawn; a paid part stays paid and gets `ends_on` (the first of next month,
the reaction's end-from-date); each department concerned gets an office notice."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine

from store.claims.notices import department_office
from tests.store.test_claims_opening import (
    CHECKER,
    ELDERLY,
    TEKUN,
    VILLAGER,
    add_users,
    bundle_of,
    change,
    dept_user,
    js,
    parts_of,
    rows,
    scalar,
    seed,
    step,
)

MEDICAL = "县医疗保障局"
LAPSED_ON = date(2025, 3, 20)
NEXT_MONTH = date(2025, 4, 1)


def _day(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def test_dibao_lapsing_withdraws_open_parts_and_ends_the_paid_one_next_month(
    engine: Engine,
) -> None:
    """The bundle claim of a household that became 低保 is taken to the department stage and
    the medical part paid; then 低保 lapses (dibao_status none): every other part is withdrawn
    by the system with the reason; the paid part stays paid with ends_on = the first of next
    month on it and its section; the claim is not withdrawn (a part was paid); each department
    gets one office notice claim.ended."""
    seed(engine, households=3)
    add_users(engine)
    change(engine, ELDERLY, dibao_status="active")
    claim = bundle_of(engine, ELDERLY)
    step(engine, claim, "confirmed", VILLAGER, date(2025, 3, 3))
    step(engine, claim, "village_accepted", VILLAGER, date(2025, 3, 3))
    step(engine, claim, "township_checked", CHECKER, date(2025, 3, 4))
    step(engine, claim, "county_approved", dept_user(MEDICAL), date(2025, 3, 5))
    step(engine, claim, "paid", dept_user(MEDICAL), date(2025, 3, 6), payment_ref="P-1")
    before = parts_of(engine, claim)
    assert len(before) > 2
    outbox = scalar(engine, "SELECT COALESCE(MAX(id), 0) FROM outbox")
    change(engine, ELDERLY, on=LAPSED_ON, dibao_status="none")
    after = parts_of(engine, claim)
    medical = after.pop(MEDICAL)
    assert (medical.state, medical.version) == ("paid", before[MEDICAL].version)
    assert _day(medical.ends_on) == NEXT_MONTH and medical.end_reason
    assert {s["ends_on"] for s in js(medical.sections)} == {NEXT_MONTH.isoformat()}
    for dept, part in after.items():
        assert (part.state, part.version) == ("withdrawn", before[dept].version + 1), dept
        assert part.end_reason and part.end_reason.startswith("不再符合「")
    withdrawn = rows(engine, "SELECT part_id, from_state, actor, role, reason FROM claim_step "
                             "WHERE claim_id = :c AND action = 'withdraw'", c=claim)  # fmt: skip
    assert {w.part_id for w in withdrawn} == {p.id for p in after.values()}
    for w in withdrawn:
        assert (w.from_state, w.actor, w.role) == ("township_checked", "system", "system")
        assert w.reason == next(p.end_reason for p in after.values() if p.id == w.part_id)
    assert scalar(engine, "SELECT state FROM claim WHERE id = :c", c=claim) == "township_checked"
    office = rows(
        engine,
        "SELECT kind, subject_kind, subject_id, claim_id, change_id, payload "
        "FROM outbox WHERE id > :n AND subject_kind = 'office'",
        n=outbox,
    )
    assert sorted(js(o.payload)["office"] for o in office) == sorted(
        department_office("520602100201", d) for d in before
    )  # one per department, the paid one's included
    for o in office:
        assert (o.kind, o.subject_id, o.claim_id, o.change_id) == ("claim.ended", claim, claim,
                                                                  None)  # fmt: skip
    paid_notice = next(js(o.payload) for o in office if js(o.payload)["office"].endswith(MEDICAL))
    assert (paid_notice["action"], paid_notice["ends_on"]) == ("end", NEXT_MONTH.isoformat())


def test_a_claim_all_of_whose_parts_are_withdrawn_is_withdrawn(engine: Engine) -> None:
    """低保 lapsing while the bundle claim is still prepared: every part withdrawn, then the
    claim itself, each by the system; a second sweep on that date changes nothing."""
    seed(engine, households=3)
    change(engine, ELDERLY, dibao_status="active")
    claim = bundle_of(engine, ELDERLY)
    change(engine, ELDERLY, on=LAPSED_ON, dibao_status="none")
    assert {p.state for p in parts_of(engine, claim).values()} == {"withdrawn"}
    assert tuple(rows(engine, "SELECT state, version FROM claim WHERE id = :c", c=claim)[0]) == (
        "withdrawn", 2)  # fmt: skip
    (last,) = rows(engine, "SELECT action, from_state, to_state, actor, reason FROM claim_step "
                           "WHERE claim_id = :c AND part_id IS NULL", c=claim)  # fmt: skip
    assert (last.action, last.from_state, last.to_state, last.actor) == (
        "withdraw", "prepared", "withdrawn", "system")  # fmt: skip
    assert last.reason


def test_a_grant_ending_keeps_its_state_and_gets_ends_on(engine: Engine) -> None:
    """特困 lapsing: the household's grants (免申即享) stay granted and get ends_on; no claim
    of theirs is withdrawn; the department is told."""
    seed(engine, households=5)
    grants = rows(engine, "SELECT c.id, p.department FROM claim c JOIN claim_part p ON "
                          "p.claim_id = c.id WHERE c.kind = 'grant' AND c.subject_key = :k",
                  k=TEKUN)  # fmt: skip
    assert len(grants) == 2
    change(engine, TEKUN, on=LAPSED_ON, tekun_status="none")
    for g in grants:
        (part,) = parts_of(engine, g.id).values()
        assert part.state == "granted" and part.ends_on is not None
        assert _day(part.ends_on) >= LAPSED_ON
        assert scalar(engine, "SELECT state FROM claim WHERE id = :c", c=g.id) == "granted"
        offices = rows(engine, "SELECT payload FROM outbox WHERE subject_kind = 'office' AND "
                               "claim_id = :c", c=g.id)  # fmt: skip
        assert [js(o.payload)["office"] for o in offices] == [
            department_office("520602100201", g.department)]  # fmt: skip
