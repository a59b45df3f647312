"""Claim reads (store/claims/reads.py) and the audit of claim steps, on both databases: lists
filtered in SQL by state (the claim's or a part's), region prefix, department, kind and subject;
one claim outside the caller's region is None; after a path the audit chain verifies, every
claim.* record names its person, and no user took two different review steps on a claim."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import Engine

from store.audit.log import verify
from store.claims.reads import list_claims, show_claim
from store.db import read_session
from tests.store.test_claims_opening import (
    CHECKER,
    DIBAO,
    SIBLING,
    TOWNSHIP,
    VILLAGE,
    VILLAGER,
    add_users,
    bundle_of,
    dept_user,
    rows,
    seed,
    step,
)

MEDICAL, WATER = "县医疗保障局", "县自来水公司"
SIBLING_DIBAO = f"{SIBLING}0008"  # the 8th demo household (a 低保 family), moved next door


def _seeded(engine: Engine) -> tuple[int, int]:
    """Five households in the demo village and three next door; household 1's bundle claim is
    taken to the department stage and the water part approved."""
    seed(engine, households=7, sibling=1)
    add_users(engine)
    mine, theirs = bundle_of(engine, DIBAO), bundle_of(engine, SIBLING_DIBAO)
    step(engine, mine, "confirmed", VILLAGER, date(2025, 3, 3))
    step(engine, mine, "village_accepted", VILLAGER, date(2025, 3, 3))
    step(engine, mine, "township_checked", CHECKER, date(2025, 3, 4))
    step(engine, mine, "county_approved", dept_user(WATER), date(2025, 3, 5))
    return mine, theirs


def test_lists_filter_by_state_region_department_and_subject(engine: Engine) -> None:
    """list_claims filters in SQL: by the claim's or a part's state, by region prefix (a
    village never lists its sibling's claims; the township lists both), by department, by
    kind and by subject; show_claim outside the caller's region is None."""
    mine, theirs = _seeded(engine)
    with read_session(engine) as s:
        every = list_claims(s)
        assert {c.region for c in every} == {VILLAGE, SIBLING}
        village = list_claims(s, region=VILLAGE)
        assert village and {c.region for c in village} == {VILLAGE}
        assert theirs not in {c.id for c in village} and mine in {c.id for c in village}
        assert {c.id for c in list_claims(s, region=SIBLING)} == {
            c.id for c in every if c.region == SIBLING}  # fmt: skip
        assert len(list_claims(s, region=TOWNSHIP)) == len(every)
        assert [c.id for c in list_claims(s, state="county_approved")] == [mine]  # a part's
        assert [c.id for c in list_claims(s, state="township_checked")] == [mine]  # the claim's
        prepared = list_claims(s, state="prepared", region=VILLAGE)
        assert prepared and mine not in {c.id for c in prepared}
        assert all("prepared" in (c.state, *[p.state for p in c.parts]) for c in prepared)
        medical = list_claims(s, department=MEDICAL)
        assert medical and all(MEDICAL in {p.department for p in c.parts} for c in medical)
        assert {mine, theirs} <= {c.id for c in medical}
        assert len(medical) < len(every)
        assert {c.kind for c in list_claims(s, kind="grant")} == {"grant"}
        subject = list_claims(s, subject=("household", DIBAO))
        assert subject and {c.subject_key for c in subject} == {DIBAO}
        assert mine in {c.id for c in subject}
        assert [c.id for c in list_claims(s, ids=[mine, theirs], region=VILLAGE)] == [mine]
        assert show_claim(s, theirs, region=VILLAGE) is None
        assert show_claim(s, 10**9) is None
        view = show_claim(s, mine, region=TOWNSHIP)
    assert view is not None and view.overall == "township_checked"
    assert [x["action"] for x in view.steps] == ["confirm", "accept", "check", "approve"]
    assert view.steps[-1]["part"] == WATER
    assert {d["part"] for d in view.deadlines} == {p.department for p in view.parts}
    shown = view.as_json()
    assert json.loads(json.dumps(shown)) == shown  # plain JSON: dates as ISO strings
    assert shown["eligible_on"] == "2025-03-01"


def test_after_a_path_the_audit_verifies_names_people_and_no_one_reviews_twice(
    engine: Engine,
) -> None:
    """The audit chain verifies after opening and steps; every claim.* record names who acted
    (the system's under the sweep's actor, a step under the person); and no claim has one
    user taking two different review actions (accept, check, approve)."""
    mine, _ = _seeded(engine)
    step(engine, mine, "paid", dept_user(WATER), date(2025, 3, 6), payment_ref="P-9")
    with read_session(engine) as s:
        report = verify(session=s)
    assert report.ok, report.reason
    records = rows(engine, "SELECT actor, action, subject FROM audit WHERE action LIKE 'claim.%'")
    assert {r.action for r in records} >= {"claim.open", "claim.grant", "claim.confirm",
                                           "claim.accept", "claim.check", "claim.approve",
                                           "claim.pay"}  # fmt: skip
    assert all(r.actor and r.actor.strip() for r in records)
    people = {r.actor for r in records if r.subject == f"claim:{mine}" and r.action not in
              ("claim.open", "claim.join")}  # fmt: skip
    assert people == {VILLAGER, CHECKER, dept_user(WATER)}
    twice = rows(engine, "SELECT claim_id, actor FROM claim_step WHERE action IN "
                         "('accept', 'check', 'approve') GROUP BY claim_id, actor "
                         "HAVING COUNT(DISTINCT action) > 1")  # fmt: skip
    assert twice == []
    reviews = rows(engine, "SELECT COUNT(*) FROM claim_step WHERE claim_id = :c AND action IN "
                           "('accept', 'check', 'approve')", c=mine)  # fmt: skip
    assert reviews[0][0] == 3  # the query above had something to look at
