"""Derived facts at an evaluation date: age (29 February too), sex, relation, household size;
per-capita income, exactly, from its formula."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from matcher.interpreter.evaluate import Range, evaluate_expr
from matcher.profiles.derive import enterprise_facts, household_facts, whole_years
from matcher.profiles.parse import Enterprise, Household, Member
from rules.facts import FactValue
from rules.ir import Aggregate, Arith, FactRef
from synth.identifiers import make_ric, make_uscc

HEAD = make_ric(birth=date(1964, 3, 15), seq=1)
SPOUSE = make_ric(birth=date(1966, 7, 1), seq=2)
LEAP = make_ric(birth=date(2000, 2, 29), seq=3)


def family(*incomes: FactValue | None) -> Household:
    """A head and a spouse (and a leap-day child when three incomes are given)."""
    ids = [(HEAD, "head"), (SPOUSE, "spouse"), (LEAP, "child")][: len(incomes)]
    members = [
        Member(
            id_number=number,
            relation=relation,
            facts={} if income is None else {"monthly_income": income},
        )
        for (number, relation), income in zip(ids, incomes, strict=True)
    ]
    return Household(region_code="520602001201", members=members, facts={"dibao_status": "active"})


@pytest.mark.parametrize(
    ("on", "age"),
    [(date(2024, 3, 14), 59), (date(2024, 3, 15), 60), (date(2024, 3, 16), 60)],
)
def test_age_changes_on_the_birthday(on: date, age: int) -> None:
    """The head is 59 the day before the 60th birthday and 60 on it."""
    assert household_facts(family(1, 1), on).members[0]["age"] == age


@pytest.mark.parametrize(
    ("on", "age"),
    [
        (date(2018, 2, 27), 17),
        (date(2018, 2, 28), 18),
        (date(2018, 3, 1), 18),
        (date(2020, 2, 28), 19),
        (date(2020, 2, 29), 20),
    ],
)
def test_leap_day_birthday_is_reached_on_28_february_in_common_years(on: date, age: int) -> None:
    """Born on 29 Feb: 18 on 28 Feb of a common year (民法典 第二百零二条: no 29th, the month's
    last day ends the period); in a leap year the birthday is 29 Feb itself."""
    assert household_facts(family(1, 1, 1), on).members[2]["age"] == age
    assert whole_years(date(2000, 2, 29), on) == age


def test_age_is_absent_before_birth() -> None:
    """On a date before a member was born, age is unknown rather than negative."""
    assert "age" not in household_facts(family(1, 1, 1), date(1999, 1, 1)).members[2]


def test_sex_and_relation_come_from_the_member() -> None:
    """Sex follows the 17th digit; relation is available as a member fact."""
    facts = household_facts(family(1, 1), date(2024, 1, 1))
    assert [(m["sex"], m["relation"]) for m in facts.members] == [
        ("male", "head"),
        ("female", "spouse"),
    ]


def test_household_size_and_supplied_facts() -> None:
    """household_size counts members; supplied facts and the region are carried over."""
    facts = household_facts(family(1, 2, 3), date(2024, 1, 1))
    assert facts.subject["household_size"] == 3
    assert facts.subject["dibao_status"] == "active"
    assert facts.region_code == "520602001201"


PER_CAPITA = FactRef(
    "per_capita_monthly_income",
    "number",
    formula=Arith(
        "/",
        Aggregate("sum", FactRef("monthly_income", "number", True, (), 0, 1_000_000)),
        FactRef("household_size", "number"),
    ),
)


@pytest.mark.parametrize(
    ("incomes", "per_capita"),
    [
        ((300, Decimal("450.5")), Fraction(75050, 200)),
        ((100, 0, 0), Fraction(100, 3)),
        ((Decimal("0.01"), 0), Fraction(1, 200)),
        ((1, 1), 1),
    ],
)
def test_per_capita_income_is_exact(incomes: tuple[FactValue, ...], per_capita: Fraction) -> None:
    """Per-capita monthly income is the exact mean: a third of a yuan stays a third."""
    value, missing = evaluate_expr(PER_CAPITA, household_facts(family(*incomes), date(2024, 1, 1)))
    assert (value, missing) == (per_capita, frozenset())


def test_per_capita_income_with_one_income_unknown_is_a_range() -> None:
    """One member without monthly_income: at least the known incomes over the size, and the
    unknown income is asked for."""
    facts = household_facts(family(300, None), date(2024, 1, 1))
    assert "per_capita_monthly_income" not in facts.subject
    value, missing = evaluate_expr(PER_CAPITA, facts)
    assert value == Range(150, 500150)
    assert missing == {"monthly_income"}


def test_numbers_keep_their_type() -> None:
    """An int income stays an int and a decimal stays a Decimal in the member mappings."""
    members = household_facts(family(300, Decimal("450.5")), date(2024, 1, 1)).members
    assert type(members[0]["monthly_income"]) is int
    assert members[1]["monthly_income"] == Decimal("450.5")


@pytest.mark.parametrize(
    ("on", "years"),
    [
        (date(2021, 6, 30), 2),
        (date(2021, 7, 1), 3),
        (date(2019, 6, 30), 0),
        (date(2018, 6, 30), None),
    ],
)
def test_years_since_founded(on: date, years: int | None) -> None:
    """Whole years since founded_on; absent before the founding date."""
    e = Enterprise(credit_code=make_uscc(), facts={"founded_on": date(2018, 7, 1)})
    assert enterprise_facts(e, on).subject.get("years_since_founded") == years


def test_years_since_founded_absent_without_founded_on() -> None:
    """Without founded_on, years_since_founded is unknown; the region is carried over."""
    e = Enterprise(credit_code=make_uscc(), region_code="520602", facts={"employees": 3})
    facts = enterprise_facts(e, date(2024, 1, 1))
    assert facts.subject == {"employees": 3}
    assert (facts.members, facts.region_code) == ((), "520602")


def test_whole_years() -> None:
    """whole_years counts anniversaries reached, and is None when `on` is before `start`."""
    assert whole_years(date(2000, 1, 1), date(2000, 1, 1)) == 0
    assert whole_years(date(2000, 1, 2), date(2000, 1, 1)) is None
