"""The vectorised engine gives the interpreter's results: every policy test case, a village."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from matcher.explain.cases import case_facts
from matcher.interpreter.match import PolicyResult, evaluate_policy, match
from matcher.profiles.facts import Facts
from matcher.profiles.subjects import facts_for
from matcher.vector.columns import from_facts
from matcher.vector.engine import compile_catalogue, run
from rules.catalogue import Catalogue, load_catalogue
from rules.schema import TestCase
from synth.demo import demo_village
from synth.identifiers import make_ric

ROOT = Path(__file__).parents[2] / "policies"
CATALOGUE = load_catalogue(ROOT)
CASES = [
    (p.id, i)
    for p in sorted(CATALOGUE.policies.values(), key=lambda p: p.id)
    for i in range(len(p.spec.tests))
]


def key(r: PolicyResult) -> tuple[str, str, Decimal | None, tuple[str, ...], str | None]:
    """What every engine must agree on."""
    return r.policy_id, r.status, r.amount, r.missing, r.dropped_for


def vector_results(
    catalogue: Catalogue, profiles: list[Facts], on: date, subject: str
) -> list[list[PolicyResult]]:
    engine = compile_catalogue(catalogue, on, subject)
    result = run(engine, from_facts(profiles, catalogue.facts))
    return [result.results(row) for row in range(len(profiles))]


@pytest.mark.parametrize(("policy_id", "index"), CASES, ids=[f"{p}[{i}]" for p, i in CASES])
def test_policy_case_on_the_vectorised_engine(policy_id: str, index: int) -> None:
    """Each `tests:` case gives the same status, amount and missing facts as the interpreter."""
    policy = CATALOGUE.policies[policy_id]
    case: TestCase = policy.spec.tests[index]
    facts = case_facts(policy, case, index, CATALOGUE)
    (row,) = vector_results(CATALOGUE, [facts], case.on, policy.spec.subject)
    got = next(r for r in row if r.policy_id == policy_id)
    assert key(got) == key(evaluate_policy(policy, facts, case.on))
    assert got.status == case.expect.expected_status


def test_village_matches_the_interpreter_with_excludes_and_bundles() -> None:
    """Every household of a 70-household village: same results, same bundle gates."""
    on = date(2025, 3, 1)
    profiles = [
        facts_for(raw, "household", CATALOGUE.facts, on, source=label)
        for label, raw in demo_village(70, on)
    ]
    engine = compile_catalogue(CATALOGUE, on, "household")
    result = run(engine, from_facts(profiles, CATALOGUE.facts))
    for row, facts in enumerate(profiles):
        expected = match(CATALOGUE, facts, on, "household")
        assert [key(r) for r in result.results(row)] == [key(r) for r in expected.results]
        for bundle in expected.bundles:
            gate = int(result.gates[bundle.bundle_id][row])
            assert {2: True, 0: False, 1: None}[gate] == bundle.gate.verdict
    counts = result.counts()
    assert sum(counts["household.dibao.electricity"]) == 70
    assert counts["household.dibao.electricity"][0] > 0


def test_empty_households_and_no_members() -> None:
    """A chunk with a household without members evaluates any() as false, not as an error."""
    on = date(2025, 3, 1)
    facts = [Facts({"dibao_status": "active", "household_size": 0}, (), "520602100201")]
    (row,) = vector_results(CATALOGUE, facts, on, "household")
    by_id = {r.policy_id: r for r in row}
    assert by_id["household.dibao.electricity"].status == "eligible"
    assert by_id["household.dibao.student_aid"].status == "ineligible"
    assert by_id["household.dibao.electricity"].amount is not None


def test_a_household_wider_than_the_slot_layout_uses_reduceat() -> None:
    """A 20-member household (past the 16-slot layout) gives the interpreter's results too."""
    on = date(2025, 3, 1)
    label, raw = demo_village(1, on)[0]
    head = raw["members"][0]
    members = [head] + [
        {
            **raw["members"][1],
            "id_number": make_ric(region="522201", birth=date(1980, 1, 1), seq=k, sex="female"),
            "relation": "other",
        }
        for k in range(2, 40, 2)
    ]
    wide = facts_for({**raw, "members": members}, "household", CATALOGUE.facts, on, source=label)
    narrow = facts_for(raw, "household", CATALOGUE.facts, on, source=label)
    population = from_facts([wide, narrow], CATALOGUE.facts)
    assert population.member_slots() is None and len(wide.members) == 20
    result = run(compile_catalogue(CATALOGUE, on, "household"), population)
    for row, facts in enumerate((wide, narrow)):
        expected = match(CATALOGUE, facts, on, "household").results
        assert [key(r) for r in result.results(row)] == [key(r) for r in expected]
