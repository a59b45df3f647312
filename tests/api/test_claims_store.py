"""store.claims.scoped on both databases: the scope filters in SQL, a claim outside it is
not found before the workflow is asked."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from rules.workflow import Actor, Workflow
from store.claims.errors import ClaimError
from store.claims.scoped import advance_in_scope, queue, show_in_scope
from store.claims.steps import StepRequest
from store.db import read_session
from store.scope import Scope
from synth.demo import VILLAGE
from tests.test_dibao_scenario import _seed

ROOT = Path(__file__).parents[2] / "policies"
TODAY = date(2025, 3, 3)
SIBLING = VILLAGE[:-3] + "999"


def test_scoped_queue_show_and_step_on_both_databases(engine: Engine) -> None:
    """A village sees its claims, a sibling village none (and cannot step on them), a
    department only its own parts."""
    _seed(engine)
    wf = Workflow.load(ROOT)
    village = Scope(user="v", role="village", region=VILLAGE)
    sibling = Scope(user="s", role="village", region=SIBLING)
    with read_session(engine) as s:
        mine = queue(s, village, workflow=wf, today=TODAY, waiting=False, limit=500)
        assert mine.total == len(mine.items) > 0
        assert {q.claim.region for q in mine.items} == {VILLAGE}
        assert queue(s, sibling, workflow=wf, today=TODAY, waiting=False).total == 0
        claim = mine.items[0].claim
        assert show_in_scope(s, sibling, claim.id) is None
        assert show_in_scope(s, village, claim.id) is not None
        dept = claim.parts[0].department
        scope = Scope(user="d", role="department", region=VILLAGE[:6], department=dept)
        theirs = queue(s, scope, workflow=wf, today=TODAY, waiting=False, limit=500)
        assert theirs.items
        assert {p.department for q in theirs.items for p in q.claim.parts} == {dept}
    req = StepRequest(claim_id=claim.id, actor=Actor("s", "village", SIBLING), person="s",
                      on=TODAY, action="confirm")  # fmt: skip
    with pytest.raises(ClaimError) as refused:
        advance_in_scope(engine, sibling, req, root=ROOT)
    assert refused.value.why == "not_found"
