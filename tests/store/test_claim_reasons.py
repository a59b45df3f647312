"""Why a claim's subject qualifies (store/claims/reasons.py), on both databases: each section's
conditions that held, in the policy file's words, read from the entitlement the claim opened
with — still there after the entitlement ended, and never paired with the wrong condition."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, text

from store.claims.reads import show_claim
from store.claims.reasons import SectionReason, claim_reasons
from store.db import read_session, write_session
from tests.store.test_claims_opening import DIBAO, ON, bundle_of, catalogue, change, seed

DIBAO_SAYS = "家庭为在册城乡低保对象"


def _reasons(engine: Engine, claim_id: int) -> dict[str, SectionReason]:
    with read_session(engine) as s:
        view = show_claim(s, claim_id)
        assert view is not None
        sections = [x for p in view.parts for x in p.sections]
        said = claim_reasons(s, claim_id=claim_id, sections=sections, catalogue=catalogue())
    assert [r.policy_id for r in said] == [x["policy_id"] for x in sections]
    return {r.policy_id: r for r in said}


def test_each_section_says_the_conditions_that_held_even_after_the_entitlement_ended(
    engine: Engine,
) -> None:
    """The 低保 bundle claim: every member policy says the household is 低保, in the policy's
    own words, with its basis and the day it began; a policy with two conditions says both;
    after the household stops being 低保 the claim still shows why it was opened."""
    seed(engine, households=1)
    claim = bundle_of(engine, DIBAO)
    said = _reasons(engine, claim)
    assert len(said) >= 3
    for pid, reason in said.items():
        policy = catalogue().policies[pid]
        assert any(x.startswith(DIBAO_SAYS) for x in reason.says), pid
        assert reason.says == tuple(c.says for c in policy.conditions)
        assert reason.title == policy.spec.title and reason.basis == policy.spec.basis
        assert reason.since == ON and reason.current
    assert any(len(r.says) >= 2 for r in said.values())
    change(engine, DIBAO, on=date(2025, 4, 1), dibao_status="none")
    after = _reasons(engine, claim)
    assert {p: r.says for p, r in after.items()} == {p: r.says for p, r in said.items()}


def test_verdicts_that_no_longer_line_up_with_the_policy_say_nothing(engine: Engine) -> None:
    """An interval decided under a policy with another number of conditions: no condition is
    named (current is False) rather than a verdict paired with the wrong one; a policy the
    catalogue does not know is left out."""
    seed(engine, households=1)
    claim = bundle_of(engine, DIBAO)
    pid = next(iter(_reasons(engine, claim)))
    with write_session(engine) as s:
        s.execute(text("UPDATE entitlement SET conditions = 'TTTTTTT' WHERE policy_id = :p"),
                  {"p": pid})  # fmt: skip
    said = _reasons(engine, claim)
    assert said[pid].says == () and not said[pid].current
    with read_session(engine) as s:
        unknown = [{"policy_id": "household.no_such_policy", "from": "2025-03-01"}]
        assert claim_reasons(s, claim_id=claim, sections=unknown, catalogue=catalogue()) == []
        assert claim_reasons(s, claim_id=10**9, sections=unknown, catalogue=catalogue()) == []
