"""Derived facts, computed at an evaluation date (docs/rule-language.md, "The fact catalogue").

Member `age` and `sex` (from the ID number), `relation` (kept for rules); household
`household_size`; enterprise `years_since_founded`. A derived fact that cannot be computed is
left out, so rules see it as unknown. A derived fact with a `formula` in facts.yaml
(`per_capita_monthly_income`) is not computed here: every engine evaluates its formula, exactly.
"""

from __future__ import annotations

import calendar
from datetime import date

from matcher.profiles.facts import Facts
from matcher.profiles.identifiers import parse_ric
from matcher.profiles.parse import Enterprise, Household, Member
from rules.facts import FactValue

__all__ = ["enterprise_facts", "household_facts", "whole_years"]


def whole_years(start: date, on: date) -> int | None:
    """Whole years completed from `start` to `on`; None when `on` is before `start`.

    The N-th anniversary is the same month and day N years on; one born on 29 February
    reaches it on 28 February in a common year — 民法典 第二百零二条: where the month has no
    corresponding day, its last day ends the period (docs/rule-language.md, "Ages").

    Args:
        start: the first day (a birth date, a founding date).
        on: the evaluation date.

    Returns:
        The number of anniversaries reached by `on`, or None.
    """
    if on < start:
        return None
    day = start.day
    if (start.month, start.day) == (2, 29) and not calendar.isleap(on.year):
        day = 28
    return on.year - start.year - ((on.month, on.day) < (start.month, day))


def _member_facts(member: Member, on: date) -> dict[str, FactValue]:
    """A member's supplied facts plus `relation`, `sex` and `age` (absent before birth)."""
    person = parse_ric(member.id_number, today=date.max)
    facts: dict[str, FactValue] = dict(member.facts)
    facts["relation"] = member.relation
    facts["sex"] = person.sex
    age = whole_years(person.birth_date, on)
    if age is not None:
        facts["age"] = age
    else:
        facts.pop("age", None)
    return facts


def household_facts(h: Household, on: date) -> Facts:
    """The facts of a household at a date: supplied ones plus derived ones.

    Args:
        h: the household.
        on: the evaluation date.

    Returns:
        Household facts with `household_size`; one mapping per member with `relation`, `sex`
        and `age`; the household's region code.
    """
    members = tuple(_member_facts(m, on) for m in h.members)
    subject: dict[str, FactValue] = dict(h.facts)
    subject["household_size"] = len(members)
    return Facts(subject=subject, members=members, region_code=h.region_code)


def enterprise_facts(e: Enterprise, on: date) -> Facts:
    """The facts of an enterprise at a date: supplied ones plus `years_since_founded`.

    Args:
        e: the enterprise.
        on: the evaluation date.

    Returns:
        Enterprise facts; `years_since_founded` is absent when `founded_on` is unknown or
        after `on`.
    """
    subject: dict[str, FactValue] = dict(e.facts)
    founded = subject.get("founded_on")
    years = whole_years(founded, on) if isinstance(founded, date) else None
    if years is None:
        subject.pop("years_since_founded", None)
    else:
        subject["years_since_founded"] = years
    return Facts(subject=subject, members=(), region_code=e.region_code)
