"""Every numeric and date fact of the shipped catalogue declares its domain (issue 8)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from rules.catalogue import load_facts
from rules.facts import FactDef

FACTS = load_facts(Path(__file__).resolve().parents[2] / "policies").facts
NUMBERS = sorted(n for n, f in FACTS.items() if f.type == "number")
DATES = sorted(n for n, f in FACTS.items() if f.type == "date")


@pytest.mark.parametrize("name", NUMBERS)
def test_every_number_fact_has_a_minimum_below_its_maximum(name: str) -> None:
    """A number fact declares both `min` and `max`, as numbers, with min < max."""
    fact: FactDef = FACTS[name]
    assert isinstance(fact.minimum, Decimal), f"{name}: no numeric `min`"
    assert isinstance(fact.maximum, Decimal), f"{name}: no numeric `max`"
    assert fact.minimum < fact.maximum, name


@pytest.mark.parametrize("name", [n for n in NUMBERS if FACTS[n].integer])
def test_integer_facts_have_whole_number_bounds(name: str) -> None:
    """An `integer: true` fact is bounded by whole numbers."""
    bounds = (FACTS[name].minimum, FACTS[name].maximum)
    assert all(isinstance(b, Decimal) and b % 1 == 0 for b in bounds), name


@pytest.mark.parametrize("name", DATES)
def test_every_date_fact_has_a_maximum(name: str) -> None:
    """A date fact declares `max` (a date, or `today`); a `min`, when given, comes before it."""
    fact = FACTS[name]
    assert fact.maximum == "today" or isinstance(fact.maximum, date), f"{name}: no `max`"
    if isinstance(fact.minimum, date) and isinstance(fact.maximum, date):
        assert fact.minimum < fact.maximum, name


def test_the_catalogue_has_number_and_date_facts() -> None:
    """The parametrised checks above are not vacuous."""
    assert len(NUMBERS) >= 10 and DATES
