"""Regression tests for bugs the claims tests found in the claims store (store/claims/*), now
fixed: a stale version on a one-part step, and the deadlines of parts the system withdraws."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine

from store.claims.errors import ClaimError
from tests.store.test_claims_opening import (
    CHECKER,
    DIBAO,
    ELDERLY,
    VILLAGER,
    add_users,
    bundle_of,
    change,
    dept_user,
    parts_of,
    scalar,
    seed,
    step,
)

WATER = "县自来水公司"


def test_a_stale_version_on_a_part_step_is_a_conflict(engine: Engine) -> None:
    """store/claims/steps.py, take_step: the `version` check runs only `if … part is None`, so a
    part-scope step (approve, pay, a department's return, a re-check) ignores `req.version`.

    Input: the water part is returned, resubmitted and checked again (part version 1 → 7,
    claim version 4); the department then approves with `version=1`, a version the caller
    cannot have seen now, neither the claim's nor the part's.
    Expected: ClaimError why="conflict" (RELIABILITY S2, the StepRequest.version docstring:
    "a moved claim is a conflict"), nothing changed. Found: the approve is taken."""
    seed(engine, households=1)
    add_users(engine)
    claim = bundle_of(engine, DIBAO)
    step(engine, claim, "confirmed", VILLAGER, date(2025, 3, 3))
    step(engine, claim, "village_accepted", VILLAGER, date(2025, 3, 3))
    step(engine, claim, "township_checked", CHECKER, date(2025, 3, 4))
    step(engine, claim, "returned", dept_user(WATER), date(2025, 3, 5), reason="户号不符")
    step(engine, claim, "village_accepted", VILLAGER, date(2025, 3, 6))
    step(engine, claim, "township_checked", CHECKER, date(2025, 3, 6))
    part = parts_of(engine, claim)[WATER]
    claim_version = scalar(engine, "SELECT version FROM claim WHERE id = :c", c=claim)
    stale = 1
    assert stale not in (part.version, claim_version)
    with pytest.raises(ClaimError) as caught:
        step(engine, claim, "county_approved", dept_user(WATER), date(2025, 3, 7), version=stale)
    assert caught.value.why == "conflict"
    assert parts_of(engine, claim)[WATER].state == "township_checked"


def test_a_claim_withdrawn_by_the_system_has_no_open_deadline(engine: Engine) -> None:
    """store/claims/opening.py, _end_all / _withdraw_emptied: withdrawing parts (and the claim)
    when an entitlement ends never closes their claim_deadline rows (steps.py's `_deadlines`
    does, for every step a person takes).

    Input: ELDERLY becomes 低保 on 2025-03-01, its bundle claim is confirmed on 2025-03-03 (a
    deadline row for `confirmed`, due 2025-03-05, opens), then 低保 lapses on 2025-03-20 and the
    claim and all its parts are withdrawn by the system.
    Expected: no claim_deadline row of the claim with done_at NULL (a withdrawn claim has no
    step due; the deadline job would remind and escalate it). Found: the `confirmed` row stays
    open."""
    seed(engine, households=3)
    add_users(engine)
    change(engine, ELDERLY, dibao_status="active")
    claim = bundle_of(engine, ELDERLY)
    step(engine, claim, "confirmed", VILLAGER, date(2025, 3, 3))
    assert scalar(engine, "SELECT COUNT(*) FROM claim_deadline WHERE claim_id = :c AND done_at "
                          "IS NULL", c=claim) == 1  # fmt: skip
    change(engine, ELDERLY, on=date(2025, 3, 20), dibao_status="none")
    assert scalar(engine, "SELECT state FROM claim WHERE id = :c", c=claim) == "withdrawn"
    assert scalar(engine, "SELECT COUNT(*) FROM claim_deadline WHERE claim_id = :c AND done_at "
                          "IS NULL", c=claim) == 0  # fmt: skip
