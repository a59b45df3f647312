"""The explaining interpreter: Kleene logic, missing facts, dates, scope, excludes and bundles."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from matcher.interpreter.evaluate import Range
from matcher.interpreter.match import evaluate_expr, evaluate_policy, match, resolve_excludes
from matcher.profiles.facts import Facts
from matcher.profiles.subjects import facts_for
from rules.catalogue import load_catalogue
from rules.errors import Location
from rules.expr import Scope, parse

ROOT = Path(__file__).parents[1] / "fixtures" / "policies_min"
CATALOGUE = load_catalogue(ROOT)
ON = date(2024, 3, 1)
HEAD = "520602198003010022"
CHILD = "52060220120301003X"


def household(**facts: object) -> Facts:
    members = facts.pop("members", [{"id_number": HEAD, "relation": "head"}])
    raw = {"region_code": "520602001201", "members": members, **facts}
    return facts_for(raw, "household", CATALOGUE.facts, ON, source="test")


def value(text: str, facts: Facts) -> tuple[object, frozenset[str]]:
    expr = parse(text, Scope(CATALOGUE.facts, "household"), Location("t", 1, 1))
    return evaluate_expr(expr, facts)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('dibao_status == "active" and tekun_status == "active"', (None, {"dibao_status"})),
        ('dibao_status == "active" and tekun_status == "none"', (False, set())),
        ('dibao_status == "active" or tekun_status == "active"', (True, set())),
        ('dibao_status == "active" or tekun_status == "none"', (None, {"dibao_status"})),
        ('not dibao_status == "active"', (None, {"dibao_status"})),
        ('not tekun_status == "none"', (True, set())),
    ],
)
def test_kleene_logic_with_one_unknown(text: str, expected: tuple[object, set[str]]) -> None:
    """false decides `and`, true decides `or`; otherwise unknown carries its missing fact."""
    facts = household(tekun_status="active")
    got, missing = value(text, facts)
    assert (got, set(missing)) == expected


def test_missing_facts_come_only_from_unknown_parts() -> None:
    """A member whose other fact already decides contributes no missing fact."""
    members = [
        {"id_number": HEAD, "relation": "head", "disability_grade": 4},
        {"id_number": CHILD, "relation": "child", "monthly_income": 0},
    ]
    facts = household(members=members)
    got, missing = value("any(members, age >= 60 or disability_grade <= 2)", facts)
    assert got is None and missing == {"disability_grade"}  # the child's grade, not the head's
    got, missing = value("any(members, age < 60 and disability_grade <= 2)", facts)
    assert got is None and missing == {"disability_grade"}
    got, missing = value("count(members, monthly_income > 100) >= 1", facts)
    assert got is None and missing == {"monthly_income"}


def test_aggregates_over_no_members_and_division_by_zero() -> None:
    """any over nobody is false, all is true, and x/0 is unknown without a missing fact."""
    empty = Facts({"household_size": 0})
    assert value("any(members, age >= 60)", empty) == (False, frozenset())
    assert value("all(members, age >= 60)", empty) == (True, frozenset())
    assert value("sum(members, monthly_income) >= 0", empty) == (True, frozenset())
    assert value("1 / household_size > 0", empty) == (None, frozenset())


def test_a_sum_with_an_undefined_part_is_undefined_not_zero() -> None:
    """x/0 inside a sum leaves the sum undefined (as in the vectorised engine: NaN), with
    nothing missing; it is not counted as 0 (a differential test found this)."""
    zero = Facts({"household_size": 0}, members=({},))
    assert value("sum(members, household_size / household_size) == 0", zero) == (None, frozenset())
    two = Facts({"household_size": 0}, members=({}, {}))
    assert value("sum(members, 1 / household_size) > 0", two) == (None, frozenset())
    nobody = Facts({"household_size": 0})
    assert value("sum(members, 1 / household_size) == 0", nobody) == (True, frozenset())


def test_dated_parameter_changes_the_result() -> None:
    """Income 650 is below the 2024 line (705) but not the 2023 line (600)."""
    facts = household(members=[{"id_number": HEAD, "relation": "head", "monthly_income": 650}])
    policy = CATALOGUE.policies["household.demo.dibao"]
    now = evaluate_policy(policy, facts, ON)
    then = evaluate_policy(policy, facts, date(2023, 6, 1))
    assert (now.status, now.amount, then.status) == ("eligible", 55.0, "ineligible")
    assert now.conditions[0].threshold == "< 705" and then.conditions[0].threshold == "< 600"


def test_scope_and_effective_dates_come_first() -> None:
    """A household outside the region, or a date past `until`, is ineligible with a note."""
    inside = household(dibao_status="active")
    outside = facts_for(
        {
            "region_code": "350322111201",
            "dibao_status": "active",
            "members": [{"id_number": HEAD, "relation": "head"}],
        },
        "household",
        CATALOGUE.facts,
        ON,
        source="t",
    )
    dibao = CATALOGUE.policies["household.demo.dibao"]
    assert evaluate_policy(dibao, outside, ON).note is not None
    assert evaluate_policy(dibao, outside, ON).status == "ineligible"
    late = evaluate_policy(CATALOGUE.policies["household.demo.disabled"], inside, date(2030, 1, 1))
    assert late.status == "ineligible" and "有效期" in (late.note or "")


def test_undetermined_lists_every_missing_fact() -> None:
    """A household lacking two facts is told both at once."""
    result = evaluate_policy(CATALOGUE.policies["household.demo.disabled"], household(), ON)
    assert result.status == "undetermined"
    assert result.missing == ("dibao_status", "disability_grade")


def test_excludes_keep_the_larger_amount_and_say_why() -> None:
    """低保 (705 here) and 特困 (900) exclude each other: 特困 is kept, 低保 dropped for it."""
    members = [{"id_number": HEAD, "relation": "head", "monthly_income": 0}]
    result = match(CATALOGUE, household(tekun_status="active", members=members), ON, "household")
    by_id = result.by_id()
    assert by_id["household.demo.tekun"].status == "eligible"
    dropped = by_id["household.demo.dibao"]
    assert (dropped.status, dropped.dropped_for) == ("ineligible", "household.demo.tekun")
    assert "特困供养" in (dropped.note or "")


def test_excludes_tie_keeps_the_smaller_id() -> None:
    """Equal amounts keep the policy whose id sorts first."""
    facts = household(
        tekun_status="active",
        members=[{"id_number": HEAD, "relation": "head", "monthly_income": 0}],
    )
    raw = [
        evaluate_policy(CATALOGUE.policies[p], facts, date(2021, 1, 1))
        for p in ("household.demo.tekun", "household.demo.dibao")
    ]
    assert raw[1].amount == 600 and raw[0].amount == 900
    even = [replace(r, amount=Decimal("100.00")) for r in raw]
    kept = resolve_excludes(even, lambda pid: CATALOGUE.policies[pid].spec.excludes)
    assert [r.status for r in kept] == ["ineligible", "eligible"]


def test_bundle_shows_the_gate_and_each_member() -> None:
    """The 低保 bundle lists its gate verdict and both members' results."""
    members = [
        {"id_number": HEAD, "relation": "head", "monthly_income": 100, "disability_grade": 1}
    ]
    result = match(CATALOGUE, household(dibao_status="active", members=members), ON, "household")
    (bundle,) = result.bundles
    assert bundle.gate.verdict is True
    assert {m.policy_id: m.status for m in bundle.members} == {
        "household.demo.dibao": "eligible",
        "household.demo.disabled": "eligible",
    }
    assert result.by_id()["household.demo.disabled"].amount == 100


def test_unknown_derived_fact_asks_for_what_can_be_supplied() -> None:
    """An unknown per-capita income asks for members' monthly_income, which a person can give."""
    result = evaluate_policy(CATALOGUE.policies["household.demo.dibao"], household(), ON)
    assert (result.status, result.missing) == ("undetermined", ("monthly_income",))


def test_a_household_that_plainly_fails_is_not_asked_for_its_region() -> None:
    """F ∧ U = F: without a region, a household over the income line is ineligible and asked
    nothing; one under it is undetermined and asked only for its region."""
    dibao = CATALOGUE.policies["household.demo.dibao"]
    assert dibao.spec.regions

    def nowhere(income: int) -> Facts:
        members = [{"id_number": HEAD, "relation": "head", "monthly_income": income}]
        return facts_for({"members": members}, "household", CATALOGUE.facts, ON, source="t")

    result = evaluate_policy(dibao, nowhere(1000), ON)
    assert (result.status, result.missing) == ("ineligible", ())
    result = evaluate_policy(dibao, nowhere(0), ON)
    assert (result.status, result.missing) == ("undetermined", ("region_code",))


def test_known_incomes_over_the_line_decide_without_the_missing_one() -> None:
    """Incomes are at least 0: a household whose known incomes already put it over the line
    is ineligible without being asked for the unknown income; one under it is asked."""
    rich = [
        {"id_number": HEAD, "relation": "head", "monthly_income": 1500},
        {"id_number": CHILD, "relation": "child"},
    ]
    dibao = CATALOGUE.policies["household.demo.dibao"]
    result = evaluate_policy(dibao, household(members=rich), ON)
    assert (result.status, result.missing) == ("ineligible", ())
    rich[0]["monthly_income"] = 1000
    result = evaluate_policy(dibao, household(members=rich), ON)
    assert (result.status, result.missing) == ("undetermined", ("monthly_income",))


def test_counts_and_sums_with_unknown_members_are_ranges() -> None:
    """A count already reached by known members is decided; an unknown grade lies in 1–4."""
    members = [
        {"id_number": HEAD, "relation": "head", "monthly_income": 500},
        {"id_number": CHILD, "relation": "child"},
    ]
    facts = household(members=members)
    assert value("count(members, monthly_income > 100) >= 1", facts) == (True, frozenset())
    assert value("count(members, monthly_income > 100) >= 2", facts)[0] is None
    assert value("sum(members, monthly_income) >= 500", facts) == (True, frozenset())
    got = value("sum(members, monthly_income)", facts)
    assert got == (Range(500, 1_000_500), frozenset({"monthly_income"}))
    assert value("any(members, disability_grade <= 4)", facts) == (True, frozenset())
    assert value("any(members, disability_grade <= 2)", facts)[0] is None
    assert value("0 * sum(members, monthly_income) == 0", facts) == (True, frozenset())


def test_per_capita_is_exact_a_fraction_of_a_fen_below_the_line() -> None:
    """Three members earning 2,114.99 in all (704.9966… each) are below a 705 line, and the
    top-up is computed from the exact per-capita income, rounded once."""
    members = [
        {"id_number": HEAD, "relation": "head", "monthly_income": Decimal("704.99")},
        {"id_number": CHILD, "relation": "child", "monthly_income": 705},
        {"id_number": "520602201203010056", "relation": "child", "monthly_income": 705},
    ]
    facts = household(members=members)
    assert value("per_capita_monthly_income", facts)[0] == Fraction(211499, 300)
    result = evaluate_policy(CATALOGUE.policies["household.demo.dibao"], facts, ON)
    assert result.status == "eligible"
    assert result.amount == Decimal("0.01")  # (705 − 2114.99 / 3) × 3 = 0.01 exactly


def test_excludes_with_an_unknown_amount_is_not_decided_as_if_it_were_zero() -> None:
    """特困 pays 900; 低保's amount is unknown: if it may exceed 900, which one is kept is
    undetermined for both and the missing income is asked for; if it cannot, 特困 is kept."""
    members = [{"id_number": HEAD, "relation": "head", "monthly_income": 0}]
    facts = household(tekun_status="active", members=members)
    tekun, dibao = (
        evaluate_policy(CATALOGUE.policies[p], facts, ON)
        for p in ("household.demo.tekun", "household.demo.dibao")
    )
    assert tekun.amount == 900 and dibao.status == "eligible"

    def unknown(high: str) -> list[object]:
        pending = replace(
            dibao,
            amount=None,
            amount_bounds=(Decimal(0), Decimal(high)),
            missing=("monthly_income",),
        )
        return resolve_excludes([tekun, pending], lambda p: CATALOGUE.policies[p].spec.excludes)

    kept, other = unknown("1000")
    assert (kept.status, other.status) == ("undetermined", "undetermined")
    assert kept.missing == ("monthly_income",) and "暂无法判断" in (kept.note or "")
    kept, other = unknown("899.99")
    assert (kept.status, other.status, other.dropped_for) == (
        "eligible",
        "ineligible",
        "household.demo.tekun",
    )
