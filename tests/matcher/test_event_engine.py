"""The durable-rules event engine: life events, bundles, normalisation and its failure paths."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from matcher.events.life import (
    ChildBorn,
    DibaoGranted,
    DibaoLapsed,
    EnterpriseRegistered,
    ProfileChanged,
    apply_event,
    react,
)
from matcher.events.runtime import EventEngine
from matcher.interpreter.match import eligible_ids
from matcher.profiles.derive import household_facts
from matcher.profiles.errors import EngineError, ProfileError
from matcher.profiles.facts import Facts
from matcher.profiles.parse import Household, parse_household
from rules import ir
from rules.catalogue import Catalogue, load_catalogue
from synth.identifiers import make_ric, make_uscc
from tests.strategies import ON, expr, make_bundle, make_catalogue, make_policy

POLICIES = Path(__file__).resolve().parents[2] / "policies"
DIBAO_FOLLOW_ONS = {
    "household.dibao.cable_tv",
    "household.dibao.electricity",
    "household.dibao.water",
    "household.dibao.medical",
    "household.dibao.pension",
}


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(POLICIES)


@pytest.fixture(scope="module")
def engine(catalogue: Catalogue) -> EventEngine:
    return EventEngine(catalogue, ON)


@pytest.fixture
def household(catalogue: Catalogue) -> Household:
    raw = {
        "region_code": "520602001201",
        "dibao_status": "none",
        "members": [
            {"id_number": make_ric(birth=date(1980, 5, 1)), "relation": "head",
             "is_student": False, "has_employee_pension": False, "has_employee_medical": False,
             "monthly_income": 300},
            {"id_number": make_ric(birth=date(2012, 5, 6), seq=3), "relation": "child",
             "is_student": True, "school_stage": "junior", "monthly_income": 0},
        ],
    }  # fmt: skip
    return parse_household(raw, catalogue.facts, today=ON)


def _eligible(catalogue: Catalogue, h: Household) -> set[str]:
    return eligible_ids(catalogue, household_facts(h, ON), ON, "household")


def test_dibao_granted_opens_the_bundle_and_its_matching_follow_ons(
    engine: EventEngine, catalogue: Catalogue, household: Household
) -> None:
    """Granting 低保 opens the 低保 bundle and every member policy the household now meets."""
    reaction = react(household, DibaoGranted(certificate_no="DB2025-001"), ON, engine=engine)
    assert reaction.bundles_opened == {"household.dibao"}
    assert DIBAO_FOLLOW_ONS <= reaction.newly_eligible
    after = _eligible(catalogue, reaction.profile)
    assert reaction.newly_eligible == after - _eligible(catalogue, household)
    members = engine.bundle_members(household_facts(reaction.profile, ON), "household")
    assert members["household.dibao"] == DIBAO_FOLLOW_ONS
    assert reaction.profile.facts["dibao_certificate_no"] == "DB2025-001"


def test_dibao_lapsed_lists_the_follow_ons_to_stop(
    engine: EventEngine, household: Household
) -> None:
    """When 低保 lapses, the follow-on entitlements are the ones to stop and the bundle closes."""
    granted = apply_event(household, DibaoGranted())
    reaction = react(granted, DibaoLapsed(), ON, engine=engine)
    assert reaction.to_stop == DIBAO_FOLLOW_ONS
    assert reaction.newly_eligible == set()
    assert reaction.bundles_closed == {"household.dibao"}
    assert reaction.profile.facts["dibao_status"] == "lapsed"


def test_child_born_opens_the_newborn_bundle(engine: EventEngine, household: Household) -> None:
    """A child born a month ago opens 新生儿出生一件事 with the services the baby still needs."""
    baby = make_ric(birth=ON - timedelta(days=30), seq=5)
    needs = {"born_in_hospital": True, "has_birth_certificate": False, "hukou_registered": False}
    reaction = react(household, ChildBorn(id_number=baby, facts=needs), ON, engine=engine)
    assert reaction.bundles_opened == {"household.newborn"}
    assert {"household.newborn.birth_certificate", "household.newborn.hukou"} <= (
        reaction.newly_eligible
    )
    assert len(reaction.profile.members) == 3


def test_enterprise_registered_starts_a_profile(engine: EventEngine) -> None:
    """A registered enterprise is a new profile; nothing is stopped."""
    facts = {"employees": 12, "founded_on": date(2025, 1, 2)}
    event = EnterpriseRegistered(credit_code=make_uscc(seq=7), region_code="520602", facts=facts)
    reaction = react(None, event, ON, engine=engine)
    assert reaction.to_stop == set()
    assert reaction.profile.facts["employees"] == 12


def test_profile_changed_sets_and_removes_facts(household: Household) -> None:
    """`profile_changed` sets facts, and None removes one, on the household or a member."""
    head = household.members[0].id_number
    changed = apply_event(household, ProfileChanged(facts={"local_hukou": True}))
    assert changed.facts["local_hukou"] is True and "local_hukou" not in household.facts
    removed = apply_event(changed, ProfileChanged(facts={"local_hukou": None}))
    assert "local_hukou" not in removed.facts
    member = apply_event(household, ProfileChanged(facts={"has_disability": True}, member=head))
    assert isinstance(member, Household) and member.members[0].facts["has_disability"] is True


def test_a_number_given_as_text_is_refused_by_the_profile(
    catalogue: Catalogue, engine: EventEngine, household: Household
) -> None:
    """Text "9000" for a number is refused when the profile is read, and after a profile change."""
    head_raw = {"id_number": make_ric(), "relation": "head", "monthly_income": "9000"}
    raw = {"region_code": "520602001201", "members": [head_raw]}
    with pytest.raises(ProfileError, match="monthly_income"):
        parse_household(raw, catalogue.facts, today=ON)
    head = household.members[0].id_number
    event = ProfileChanged(facts={"monthly_income": "9000"}, member=head)
    with pytest.raises(ProfileError, match="monthly_income"):
        react(household, event, ON, engine=engine)


@pytest.mark.parametrize(
    ("subject", "members"),
    [
        ({"dibao_status": 1}, ()),  # a number for a string
        ({"dibao_status": "active"}, ({"disability_grade": "2"},)),  # text for a number
        ({"local_hukou": 1}, ()),  # 1 is not true
        ({"dibao_status": "active"}, ({"age": True},)),  # true is not 1
        ({"dibao_status": "active"}, ({"age": "45"},)),
    ],
)
def test_the_engine_normaliser_refuses_a_wrong_type(
    engine: EventEngine, subject: dict[str, object], members: tuple[dict[str, object], ...]
) -> None:
    """Facts of the wrong type never reach durable-rules, where they would compare silently."""
    facts = Facts(subject, members, "520602001201")  # type: ignore[arg-type]
    with pytest.raises(ProfileError, match="must be a"):
        engine.eligible(facts, "household")


def test_an_unmatched_profile_is_no_match(engine: EventEngine) -> None:
    """A profile that matches no rule gives empty sets, not an error."""
    assert engine.eligible(Facts({}, (), None), "household") == set()
    assert engine.bundles_open(Facts({}, (), None), "enterprise") == set()


def test_missing_facts_and_empty_member_lists_follow_kleene_logic() -> None:
    """`!=` on an absent fact is unknown; `all` over no members holds and `any` does not."""
    cat = make_catalogue(
        [
            make_policy("t.neq", "household", [expr("h_num != 5")]),
            make_policy("t.all", "household", [expr("all(members, m_num > 1)")]),
            make_policy("t.any", "household", [expr("not any(members, m_num > 1)")]),
            make_policy("t.tiny", "household", [expr("h_num >= 0.00001 and h_num < 10000")]),
        ]
    )
    engine = EventEngine(cat, ON)
    assert engine.eligible(Facts({}, ()), "household") == {"t.all", "t.any"}
    assert engine.eligible(Facts({"h_num": Decimal("0.00001")}, ({"m_num": 0},)), "household") == {
        "t.neq", "t.any", "t.tiny"
    }  # fmt: skip
    assert engine.eligible(Facts({"h_num": Decimal("0.0000099")}, ({},)), "household") == {"t.neq"}


ZERO = Facts({"h_num": 0}, ())


def _always(n: int) -> Catalogue:
    """`n` distinct policies that all hold for `ZERO` (identical rules would share nodes)."""
    return make_catalogue(
        [
            make_policy(f"t.always{i:03d}", "household", [expr(f"h_num > -{i + 1}")])
            for i in range(n)
        ]
    )


def test_303_falls_back_to_the_interpreter_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    """70 rules matching one fact in one ruleset (durable error 303): the interpreter answers."""
    cat = _always(70)
    engine = EventEngine(cat, ON, max_rules=100)
    with caplog.at_level(logging.WARNING, logger="matcher.events.runtime"):
        assert engine.eligible(ZERO, "household") == eligible_ids(cat, ZERO, ON, "household")
    assert engine.fallbacks == 1
    assert "error 303" in caplog.text


def test_large_catalogues_are_split_into_rulesets_that_never_303() -> None:
    """150 policies make rulesets of at most 64 rules, named by version and date."""
    cat = _always(150)
    engine = EventEngine(cat, ON)
    household_sets = [n for n in engine.ruleset_names if ".household." in n]
    assert len(household_sets) == 3
    assert all(n.startswith(f"zhida.{cat.version}.20250301.household.") for n in household_sets)
    assert len(engine.eligible(ZERO, "household")) == 150
    assert engine.fallbacks == 0
    assert EventEngine(cat, ON).ruleset_names == engine.ruleset_names  # built once per process
    with pytest.raises(ValueError, match="max_rules"):
        EventEngine(cat, ON, max_rules=101)


def test_a_rule_too_large_for_durable_is_precomputed_and_still_agrees() -> None:
    """A condition past durable's 32-expression limit (error 113) is precomputed, same answer."""
    big = " or ".join(f"(h_num2 * {i} > h_num and h_flag)" for i in range(40))
    cat = make_catalogue([make_policy("t.big", "household", [expr(big), expr("h_num > 0")])])
    engine = EventEngine(cat, ON)
    for subject in ({"h_num": 1, "h_num2": 1, "h_flag": True}, {"h_num": 1, "h_flag": False}):
        facts = Facts(subject, ())
        assert engine.eligible(facts, "household") == eligible_ids(cat, facts, ON, "household")


def test_building_that_exceeds_the_timeout_is_an_engine_error() -> None:
    """A ruleset build slower than `build_timeout` is stopped and reported."""
    cat = _always(3)
    with pytest.raises(EngineError, match="took over"):
        EventEngine(cat, ON + timedelta(days=400), build_timeout=1e-9)


def test_policies_out_of_force_or_region_are_left_out() -> None:
    """Dates and regions: out-of-force policies have no rule; regions are prefix equalities."""
    cat = make_catalogue(
        [
            make_policy("t.later", "household", [expr("true")], start=ON + timedelta(1)),
            make_policy("t.here", "household", [expr("true")], regions=["5206", "530102"]),
            make_policy("t.param", "household", [expr("h_num < 3")], p0={ON + timedelta(1): 1}),
        ],
        [make_bundle("t.bundle", "household", expr("h_flag"), ["t.here"])],
    )
    engine = EventEngine(cat, ON)
    assert engine.match(Facts({"h_flag": True}, (), "520602001201"), "household").bundles == {
        "t.bundle"
    }
    for region, expected in [("520602001201", {"t.here"}), ("520702001201", set()), (None, set())]:
        assert engine.eligible(Facts({"h_num": 1}, (), region), "household") == expected
    assert not any(isinstance(c.expr, ir.ParamRef) for c in cat.policies["t.param"].conditions)


def test_a_disjunction_inside_any_still_finds_the_later_member() -> None:
    """特困: a third member meeting every condition is found although the first meets the `or`
    part only (durable-rules missed it while the `or` stayed inside `$iany`)."""
    catalogue = load_catalogue(Path(__file__).parents[2] / "policies")
    on = date(2024, 1, 1)
    common = {"no_livelihood": True, "has_disability": False}
    members = (
        {**common, "age": 84, "no_work_capacity": False, "no_able_supporter": True},
        {**common, "age": 48, "has_disability": True, "no_able_supporter": False},
        {**common, "age": 12, "no_work_capacity": True, "no_able_supporter": True},
    )
    facts = Facts({"local_hukou": True}, members, "520602001201")
    assert "household.tekun.support" in eligible_ids(catalogue, facts, on, "household")
    assert "household.tekun.support" in EventEngine(catalogue, on).eligible(facts, "household")
