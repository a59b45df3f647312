"""应享未享 with its stages (store/supervision_gaps.py), on both databases: the gaps are coverage's
eligible minus its paid, policy by policy; a confirmed claim is 办理中, a rejected one 无申领 and
then exactly the outcomes report's 应享未享; the notice stage follows the outbox; filters by
region, days, policy and stage narrow in SQL, and the count is the list's length."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import Engine, text

from rules.catalogue import load_catalogue
from store.claims.report import outcomes
from store.db import read_session, write_session
from store.supervision import coverage, mask_household
from store.supervision_gaps import Gap, GapFilter, gap_count, gaps
from tests.store.test_claims_opening import (
    COUNTY,
    DIBAO,
    ON,
    ROOT,
    SIBLING,
    VILLAGER,
    add_users,
    bundle_of,
    catalogue,
    seed,
    step,
)

POLICIES = sorted(p for p, x in catalogue().policies.items() if x.spec.delivery != "notify")


def _all(engine: Engine, prefix: str = COUNTY, **narrow: Any) -> list[Gap]:
    """Every gap the filter selects, checking the count agrees."""
    with read_session(engine) as s:
        f = GapFilter(prefix=prefix, on=ON, policies=POLICIES, **narrow)
        found = gaps(s, f, limit=1000)
        assert gap_count(s, f) == len(found)
    return found


def test_gaps_are_the_eligible_not_paid_with_their_claim_and_notice_stages(engine: Engine) -> None:
    """Per policy: gaps = coverage's eligible − paid; stages follow claims and the outbox."""
    seed(engine, households=7, sibling=1)
    add_users(engine)
    with read_session(engine) as s:
        cover = coverage(s, prefix=COUNTY, on=ON)
    owed = Counter[str]()
    for r in cover:
        owed[r.policy_id] += r.eligible - r.paid
    found = _all(engine)
    assert +owed == Counter(g.policy_id for g in found)
    assert {(g.notice, g.claim) for g in found} == {("pending", "prepared")}
    _filters_narrow(engine, found)

    mine = bundle_of(engine, DIBAO)
    step(engine, mine, "confirmed", VILLAGER, date(2025, 3, 3))
    confirmed = _all(engine, claim="in_progress")
    assert confirmed and {(g.state, g.subject_key) for g in confirmed} == {
        ("confirmed", mask_household(DIBAO))
    }
    step(engine, mine, "rejected", VILLAGER, date(2025, 3, 3), reason="户籍不在本村")
    unclaimed = _all(engine, claim="none")
    with read_session(engine) as s:
        report = outcomes(s, region=COUNTY, today=ON, root=ROOT, days=0,
                          catalogue=load_catalogue(ROOT))  # fmt: skip
    assert unclaimed and {(g.subject_key, g.policy_id) for g in unclaimed} == {
        (mask_household(u.subject_key), u.policy_id) for u in report.unclaimed
    }

    with write_session(engine) as s:
        s.execute(text("UPDATE outbox SET state = 'sent' WHERE kind = 'newly_eligible' "
                       "AND policy_id = :p"), {"p": unclaimed[0].policy_id})  # fmt: skip
        s.execute(text("UPDATE outbox SET state = 'dead' WHERE kind = 'newly_eligible' "
                       "AND policy_id <> :p"), {"p": unclaimed[0].policy_id})  # fmt: skip
    sent = _all(engine, notice="sent")
    assert sent and {g.policy_id for g in sent} == {unclaimed[0].policy_id}
    assert len(_all(engine, notice="failed")) == len(found) - len(sent)


def _filters_narrow(engine: Engine, every: list[Gap]) -> None:
    """A village prefix keeps its rows; eligible since ON is not yet 1 day old on ON; pages
    cut the same ordered list; a policy keeps its own rows."""
    sibling = _all(engine, prefix=SIBLING)
    assert sibling and {g.region for g in sibling} == {SIBLING}
    assert len(sibling) < len(every)
    assert _all(engine, days=1) == []
    with read_session(engine) as s:
        f = GapFilter(prefix=COUNTY, on=ON, policies=POLICIES)
        pages = gaps(s, f, limit=3) + gaps(s, f, limit=3, offset=3)
    assert pages == every[:6]
    first = every[0].policy_id
    assert _all(engine, policy=first) == [g for g in every if g.policy_id == first]
