"""From a raw profile (JSON, a test case, a spreadsheet row) to the facts engines evaluate."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from matcher.profiles.derive import enterprise_facts, household_facts
from matcher.profiles.facts import Facts
from matcher.profiles.parse import parse_enterprise, parse_household
from rules.facts import FactCatalogue


def facts_for(
    raw: Mapping[str, Any], subject: str, catalogue: FactCatalogue, on: date, *, source: str
) -> Facts:
    """Validate a flat profile of `subject` kind and derive its facts at `on`.

    Raises:
        ProfileError: every problem in the profile, with JSON paths.
    """
    if subject == "household":
        return household_facts(parse_household(raw, catalogue, source=source, today=on), on)
    return enterprise_facts(parse_enterprise(raw, catalogue, source=source, today=on), on)
