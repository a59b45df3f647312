"""一次性告知: each missing fact asked of the members whose part it could change, with labels."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from matcher.explain.asks import asks_for, fact_label
from matcher.interpreter.match import match
from matcher.profiles.subjects import facts_for
from rules.catalogue import Catalogue, load_catalogue
from synth.identifiers import make_ric

ROOT = Path(__file__).parents[2] / "policies"
ON = date(2025, 3, 1)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(ROOT)


def _asks(catalogue: Catalogue, raw: dict[str, Any]) -> dict[tuple[str, int | None], set[str]]:
    facts = facts_for(raw, "household", catalogue.facts, ON, source="test")
    result = match(catalogue, facts, ON, "household")
    return {
        (a.fact, a.member): set(a.policies) for a in asks_for(catalogue, facts, ON, result.results)
    }


def test_a_member_fact_is_asked_only_of_the_members_it_could_change(catalogue: Catalogue) -> None:
    """The pension policy asks the 30-year-old whether they study, not the 70-year-old."""
    old = {"id_number": make_ric(birth=date(1955, 1, 1), seq=1), "relation": "head",
           "has_employee_pension": False, "has_employee_medical": True}  # fmt: skip
    young = {"id_number": make_ric(birth=date(1995, 1, 1), seq=3), "relation": "child",
             "has_employee_pension": False, "has_employee_medical": True}  # fmt: skip
    raw = {"household_id": "H1", "region_code": "520602100201", "dibao_status": "active",
           "members": [old, young]}  # fmt: skip
    asks = _asks(catalogue, raw)
    pension = catalogue.policies["household.dibao.pension"].spec.title
    assert pension in asks[("is_student", 1)]
    assert pension not in asks.get(("is_student", 0), set())
    assert all(member in (0, 1) for fact, member in asks if fact == "is_student")
    assert ("dibao_status", None) not in asks  # known facts are never asked


def test_a_household_fact_is_asked_once_of_the_household(catalogue: Catalogue) -> None:
    """An unknown 低保状态 is one ask of the household, labelled in Chinese."""
    head = {"id_number": make_ric(birth=date(1980, 1, 1), seq=1), "relation": "head"}
    asks = _asks(catalogue, {"household_id": "H", "region_code": "520602100201",
                             "members": [head]})  # fmt: skip
    assert ("dibao_status", None) in asks
    assert not any(f == "dibao_status" and m is not None for f, m in asks)
    assert fact_label("dibao_status", catalogue) == "低保状态"
    assert fact_label("is_student", catalogue) == "在校学生"
