"""Failing tests for bugs found in the claims store (store/claims/*), kept apart so the lead sees
them: each docstring says the file, the input, what is expected and what is found. Delete a
test's note (or move the test to its topic's file) once the bug is fixed."""

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


def test_a_grant_has_the_deadline_of_its_payment(engine: Engine) -> None:
    """store/claims/opening.py, _open_claim: a grant enters `granted` with no claim_deadline
    row, though workflow.yaml gives `pay` from `granted` 10 working days
    (`Workflow.deadline_days("granted") == 10`) and docs/claims.md says a deadline row is
    written when a claim enters a state with one (steps.py does so for every step).

    Input: the first sweep of the demo village (2025-03-01) grants the elderly couple's
    longevity allowance (delivery: auto). Expected: one open deadline row for the grant's part
    in state `granted`, due 10 working days after 2025-03-01 (2025-03-14). Found: none.
    (If a grant is meant to have no payment deadline, say so in opening.py's docstring and
    drop this test.)"""
    seed(engine, households=2)
    grant = scalar(engine, "SELECT id FROM claim WHERE kind = 'grant' AND subject_key = :k",
                   k=ELDERLY)  # fmt: skip
    assert grant is not None
    due = scalar(engine, "SELECT due_on FROM claim_deadline WHERE claim_id = :c AND state = "
                         "'granted' AND done_at IS NULL", c=grant)  # fmt: skip
    assert due is not None and str(due)[:10] == "2025-03-14"
