"""Matching many validated households at once: the one place a batch calls an engine.

`match_chunk` is what `zhida batch` calls per chunk. Today it runs the explaining interpreter
household by household; the vectorised engine replaces the body of this one function.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from matcher.derive import household_facts
from matcher.interpreter import PolicyResult, match
from matcher.profiles import Household
from rules.catalogue import Catalogue

__all__ = ["Outcome", "match_chunk"]

Outcome = tuple[Household, list[PolicyResult]]


def match_chunk(catalogue: Catalogue, households: Sequence[Household], on: date) -> list[Outcome]:
    """Every household's results that are not ineligible (eligible or undetermined).

    Args:
        catalogue: the policy catalogue.
        households: validated households.
        on: the evaluation date.

    Returns:
        One `(household, results)` per household, in order; `results` leaves out ineligible
        policies (and those dropped by `excludes`), so it may be empty.
    """
    outcomes: list[Outcome] = []
    for household in households:
        result = match(catalogue, household_facts(household, on), on, "household")
        outcomes.append((household, [r for r in result.results if r.status != "ineligible"]))
    return outcomes
