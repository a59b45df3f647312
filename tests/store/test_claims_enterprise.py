"""An enterprise's claim goes the whole way (both databases): the enterprise confirms it
itself, a county office accepts it and a second county user checks it (an enterprise has no
village or township), the department approves and pays; the same county user is refused the
second review step, and a village operator is refused the acceptance."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from rules.workflow import Actor
from store.claims.errors import ClaimError
from store.claims.reads import show_claim
from store.claims.steps import StepRequest, advance
from store.db import read_session
from tests.claim_kit import add_claim

ROOT = Path(__file__).parents[2] / "policies"
COUNTY, CODE, DEPT = "520602", "91520602MA0000001X", "县人力资源和社会保障局"
ON = date(2025, 3, 3)


def _step(engine: Engine, claim: int, to: str, actor: Actor, **kw: object) -> str:
    done = advance(engine, StepRequest(claim_id=claim, to_state=to, actor=actor,
                                       person=actor.user, on=ON, **kw), root=ROOT)  # type: ignore[arg-type]  # fmt: skip
    return done.to_state


def test_an_enterprise_claim_goes_county_county_department(engine: Engine) -> None:
    claim, _ = add_claim(engine, state="prepared", entered_on=ON, department=DEPT,
                         region=COUNTY, subject_kind="enterprise", subject_key=CODE)  # fmt: skip
    company = Actor(CODE, "enterprise", COUNTY)
    first, second = Actor("县甲", "county", COUNTY), Actor("县乙", "county", COUNTY)
    clerk = Actor("人社甲", "department", COUNTY, DEPT)
    assert _step(engine, claim, "confirmed", company) == "confirmed"
    with pytest.raises(ClaimError) as village:
        _step(engine, claim, "village_accepted", Actor("村甲", "village", "520602100201"))
    assert village.value.why == "refused"
    assert _step(engine, claim, "village_accepted", first) == "village_accepted"
    with pytest.raises(ClaimError) as same:
        _step(engine, claim, "township_checked", first)
    assert same.value.why == "refused" and "同一人不能办理两个审查环节" in str(same.value)
    assert _step(engine, claim, "township_checked", second) == "township_checked"
    assert _step(engine, claim, "county_approved", clerk) == "county_approved"
    assert _step(engine, claim, "paid", clerk, payment_ref="RS-1") == "paid"
    with read_session(engine) as session:
        view = show_claim(session, claim)
    assert view is not None and view.overall == "paid"
    assert [s["actor"] for s in view.steps] == [CODE, "县甲", "县乙", "人社甲", "人社甲"]
