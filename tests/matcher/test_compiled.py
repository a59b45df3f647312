"""The compiled explainer gives exactly the interpreter's `MatchResult` (the reference)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher.interpreter.compiled import _cached, _key, explain_plan, match_compiled
from matcher.interpreter.match import match
from matcher.interpreter.results import ConditionResult, MatchResult, PolicyResult, build
from matcher.profiles.derive import enterprise_facts, household_facts
from matcher.profiles.facts import Facts
from matcher.profiles.parse import parse_enterprise, parse_household
from rules.catalogue import Catalogue, load_catalogue
from synth.demo import demo_village
from synth.households import Population, generate_households, raw_households
from tests.strategies import ON, Subject, catalogues, facts
from tests.strategies import raw_enterprises as raw_enterprise_profiles
from tests.strategies import raw_households as raw_household_profiles

POLICIES = Path(__file__).resolve().parents[2] / "policies"
_SETTINGS = settings(
    deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


def _same(catalogue: Catalogue, f: Facts, on: date, subject: str) -> MatchResult:
    expected = match(catalogue, f, on, subject)
    got = match_compiled(catalogue, f, on, subject)
    assert got == expected, f
    assert [type(r) for r in got.results] == [PolicyResult] * len(got.results)
    return got


def test_random_catalogues_and_profiles_match_the_interpreter() -> None:
    """Random policies (unknown facts, ranges, regions, dates, parameters, bundles) × profiles."""
    counted = {"undetermined": 0, "eligible": 0}

    @settings(_SETTINGS, max_examples=30)
    @given(data=st.data(), catalogue=catalogues())
    def check(data: st.DataObject, catalogue: Catalogue) -> None:
        for _ in range(12):
            subject: Subject = data.draw(st.sampled_from(["household", "enterprise"]))
            f = data.draw(facts(subject))
            for r in _same(catalogue, f, ON, subject).results:
                if r.status in counted:
                    counted[r.status] += 1

    check()
    assert counted["undetermined"] > 10 and counted["eligible"] > 10, counted


def test_real_catalogue_generated_profiles_match_at_several_dates() -> None:
    """The real catalogue (amounts, formulas, excludes, bundles) on generated raw profiles."""
    catalogue = load_catalogue(POLICIES)
    days = (date(2024, 1, 1), ON, date(2026, 7, 1))

    @settings(_SETTINGS, max_examples=40)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        on = data.draw(st.sampled_from(days))
        raw = data.draw(raw_household_profiles(catalogue.facts, on))
        h = household_facts(parse_household(raw, catalogue.facts, today=on), on)
        _same(catalogue, h, on, "household")
        e_raw = data.draw(raw_enterprise_profiles(catalogue.facts, on))
        e = enterprise_facts(parse_enterprise(e_raw, catalogue.facts, today=on), on)
        _same(catalogue, e, on, "enterprise")

    check()


def test_real_catalogue_demo_village_and_synthetic_population_match() -> None:
    """The demo village and 300 households of the synthetic population (1 % blank cells)."""
    catalogue = load_catalogue(POLICIES)
    profiles = [parse_household(raw, catalogue.facts, today=ON) for _, raw in demo_village(60, ON)]
    chunk = next(generate_households(Population(households=300, seed=3, as_of=ON)))
    profiles += [parse_household(raw, catalogue.facts, today=ON) for raw in raw_households(chunk)]
    amounts = 0
    for household in profiles:
        results = _same(catalogue, household_facts(household, ON), ON, "household").results
        amounts += sum(r.amount is not None for r in results)
    assert amounts > 50


def test_a_division_by_zero_and_unknown_members_go_to_the_interpreter() -> None:
    """Values the fast path cannot give (x / 0, a member fact outside a member) are the
    interpreter's: a per-capita income over no members is unknown, not an error."""
    catalogue = load_catalogue(POLICIES)
    alone = Facts({"household_size": 0, "local_hukou": True}, (), "520602100201")
    nobody = Facts({}, (), None)
    some = Facts({"local_hukou": True}, ({"age": 70}, {"monthly_income": Decimal("0.5")}), "52")
    for f in (alone, nobody, some):
        _same(catalogue, f, ON, "household")


def test_the_plan_is_kept_per_catalogue_date_and_subject() -> None:
    """The same plan is reused; another date, subject or catalogue object gets its own."""
    catalogue = load_catalogue(POLICIES)
    plan = explain_plan(catalogue, ON, "household")
    assert explain_plan(catalogue, ON, "household") is plan
    assert explain_plan(catalogue, date(2024, 1, 1), "household") is not plan
    assert explain_plan(catalogue, ON, "enterprise") is not plan
    assert explain_plan(load_catalogue(POLICIES), ON, "household") is not plan


def test_match_compiled_interprets_the_first_profile_of_a_date_and_compiles_on_the_second() -> None:
    """A date used once costs no compilation; the second use builds and keeps the plan."""
    catalogue = load_catalogue(POLICIES)
    f = Facts({"household_size": 1}, ({"age": 80},), "520602100201")
    day = date(2025, 6, 7)
    assert match_compiled(catalogue, f, day, "household") == match(catalogue, f, day, "household")
    assert _cached(_key(catalogue, day, "household"), catalogue) is None
    assert match_compiled(catalogue, f, day, "household") == match(catalogue, f, day, "household")
    assert _cached(_key(catalogue, day, "household"), catalogue) is not None


def test_build_makes_the_object_the_constructor_makes() -> None:
    """`build` is `cls(**values)` without `__init__`: equal, hashing alike, still frozen."""
    values: dict[str, Any] = {
        "says": "年满 60 周岁", "text": "age >= 60", "verdict": True,
        "seen": (("age", "61"),), "threshold": ">= 60", "missing": (),
    }  # fmt: skip
    made = build(ConditionResult, values)
    assert made == ConditionResult(**values) and hash(made) == hash(ConditionResult(**values))
    try:
        made.verdict = False  # type: ignore[misc]
    except AttributeError:
        pass
    else:  # pragma: no cover
        raise AssertionError("a built result must stay frozen")


def test_a_plan_spells_out_only_the_irs_own_operators() -> None:
    """No text from a rule can become code: an operator outside the IR's closed set (as a
    future node or a tampered IR might carry) is refused when the plan is generated."""
    from matcher.interpreter.compiled import _Gen
    from rules import ir

    one = ir.Const(1, "number")
    ok = _Gen({}, None).expr(ir.Compare("<=", one, one), None)
    assert "<=" in ok
    bad = ir.Compare("== 1 or __import__('os').system('true') ==", one, one)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cannot appear in a compiled plan"):
        _Gen({}, None).expr(bad, None)
    call = ir.Call("exec", (one,))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cannot appear in a compiled plan"):
        _Gen({}, None).expr(call, None)
