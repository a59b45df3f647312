"""The durable-rules event engine agrees with the interpreter (the reference semantics)."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher.events.runtime import EventEngine
from matcher.interpreter.evaluate import evaluate_expr
from matcher.interpreter.match import eligible_ids
from matcher.profiles.derive import enterprise_facts, household_facts
from matcher.profiles.facts import Facts
from matcher.profiles.parse import parse_enterprise, parse_household
from rules.catalogue import Catalogue, load_catalogue
from tests.strategies import ON, catalogues, facts, raw_enterprises, raw_households

POLICIES = Path(__file__).resolve().parents[2] / "policies"
EXAMPLES = 250
PROFILES_PER_EXAMPLE = 42
MIN_CASES = 10_000
SUBJECTS = st.sampled_from(["household", "enterprise"])  # one object: see tests.strategies.facts
_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


def _expected(catalogue: Catalogue, f: Facts, on: date, subject: str) -> tuple[set[str], set[str]]:
    gates = {
        bid
        for bid, b in catalogue.bundles.items()
        if b.spec.subject == subject and evaluate_expr(b.gate.expr, f)[0] is True
    }
    return eligible_ids(catalogue, f, on, subject), gates


def _agree(engine: EventEngine, f: Facts, subject: str) -> None:
    fired = engine.match(f, subject)
    policies, gates = _expected(engine.catalogue, f, engine.on, subject)
    assert set(fired.policies) == policies, f
    assert set(fired.bundles) == gates, f


def test_random_policies_and_profiles_agree_on_at_least_10000_cases() -> None:
    """On random catalogues and ≥ 10,000 random profiles, durable fires exactly the eligible set."""
    seen: Counter[str] = Counter()

    @_SETTINGS
    @given(data=st.data(), catalogue=catalogues())
    def check(data: st.DataObject, catalogue: Catalogue) -> None:
        engine = EventEngine(catalogue, ON)
        for _ in range(PROFILES_PER_EXAMPLE):
            subject = data.draw(SUBJECTS)
            f = data.draw(facts(subject))
            _agree(engine, f, subject)
            seen["profiles"] += 1
            seen["policy checks"] += len(catalogue.for_subject(subject))
        assert engine.fallbacks == 0, "no profile may need the interpreter"

    check()
    assert seen["profiles"] >= MIN_CASES, seen


def test_real_catalogue_agrees_on_generated_households_and_enterprises() -> None:
    """On the real catalogue, at several dates, generated profiles fire the eligible set."""
    catalogue = load_catalogue(POLICIES)
    engines = {on: EventEngine(catalogue, on) for on in (date(2024, 1, 1), ON, date(2026, 7, 1))}
    seen: Counter[str] = Counter()
    dates = st.sampled_from(sorted(engines))

    @settings(_SETTINGS, max_examples=800)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        on = data.draw(dates)
        raw = data.draw(raw_households(catalogue.facts, on))
        h = household_facts(parse_household(raw, catalogue.facts, today=on), on)
        _agree(engines[on], h, "household")
        seen["eligible"] += len(engines[on].eligible(h, "household"))
        e_raw = data.draw(raw_enterprises(catalogue.facts, on))
        e = enterprise_facts(parse_enterprise(e_raw, catalogue.facts, today=on), on)
        _agree(engines[on], e, "enterprise")
        seen["eligible"] += len(engines[on].eligible(e, "enterprise"))

    check()
    assert seen["eligible"] > 0, "generated profiles should make some policy eligible"
