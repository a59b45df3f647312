"""The vectorised engine agrees with the interpreter, row by row, on random catalogues and
populations: status, amount, missing facts and `excludes`, for well over 10,000 cases."""

from __future__ import annotations

import math
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher.columns import from_facts
from matcher.interpreter import match
from matcher.vector import compile_catalogue, run
from rules.catalogue import Catalogue, CompiledPolicy
from rules.schema import Benefit
from tests.strategies import ON, catalogues, facts, make_catalogue, num_exprs

PROFILES_PER_EXAMPLE = 40  # at least 35 each: 300 × 35 = 10,500 profiles
EXAMPLES = 300
CASES = {"profiles": 0, "policy_results": 0}


@st.composite
def priced(draw: st.DrawFn) -> Catalogue:
    """A random catalogue whose policies have amounts and may exclude each other."""
    base = draw(catalogues())
    policies: list[CompiledPolicy] = []
    ids = sorted(base.policies)
    for pid in ids:
        policy = base.policies[pid]
        subject = policy.spec.subject
        amount = draw(st.none() | num_exprs(subject, 2))
        same = [o for o in ids if o != pid and base.policies[o].spec.subject == subject]
        excludes = draw(st.lists(st.sampled_from(same), max_size=2, unique=True)) if same else []
        spec = policy.spec.model_copy(
            update={
                "benefit": Benefit(amount="0") if amount is not None else None,
                "excludes": excludes,
            }
        )
        policies.append(replace(policy, spec=spec, amount=amount))
    return make_catalogue(policies, list(base.bundles.values()))


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=0.011)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(catalogue=priced(), data=st.data())
def test_vectorised_engine_equals_interpreter(catalogue: Catalogue, data: st.DataObject) -> None:
    """Every row and policy: same status, amount (to the cent), missing facts, dropped-for."""
    subject = data.draw(st.sampled_from(["household", "enterprise"]))
    profiles = data.draw(
        st.lists(facts(subject), min_size=PROFILES_PER_EXAMPLE - 5, max_size=PROFILES_PER_EXAMPLE)
    )
    result = run(compile_catalogue(catalogue, ON, subject), from_facts(profiles, catalogue.facts))
    for row, profile in enumerate(profiles):
        expected = match(catalogue, profile, ON, subject).results
        got = result.results(row)
        assert [r.policy_id for r in got] == [r.policy_id for r in expected]
        for g, e in zip(got, expected, strict=True):
            assert (g.status, g.missing, g.dropped_for) == (e.status, e.missing, e.dropped_for), (
                g.policy_id,
                profile,
            )
            assert close(g.amount, e.amount), (g.policy_id, g.amount, e.amount, profile)
        for bundle in match(catalogue, profile, ON, subject).bundles:
            gate = int(result.gates[bundle.bundle_id][row])
            assert {2: True, 0: False, 1: None}[gate] == bundle.gate.verdict
    CASES["profiles"] += len(profiles)
    CASES["policy_results"] += len(profiles) * len(result.engine.policies)


def test_enough_cases_were_compared() -> None:
    """The property above really compared at least 10,000 profiles (it runs first)."""
    assert CASES["profiles"] >= 10_000, CASES
