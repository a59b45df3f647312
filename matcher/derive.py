"""Derived facts, computed at an evaluation date (docs/rule-language.md, "The fact catalogue").

Member `age` and `sex` (from the ID number), `relation` (kept for rules); household
`household_size` and `per_capita_monthly_income`; enterprise `years_since_founded`.
A derived fact that cannot be computed is left out, so rules see it as unknown.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from matcher.facts import Facts
from matcher.identifiers import parse_ric
from matcher.profiles import Enterprise, Household, Member
from rules.facts import FactValue

__all__ = ["enterprise_facts", "household_facts", "whole_years"]


def whole_years(start: date, on: date) -> int | None:
    """Whole years completed from `start` to `on`; None when `on` is before `start`.

    A 29 February anniversary is reached on 1 March in common years.

    Args:
        start: the first day (a birth date, a founding date).
        on: the evaluation date.

    Returns:
        The number of anniversaries reached by `on`, or None.
    """
    if on < start:
        return None
    return on.year - start.year - ((on.month, on.day) < (start.month, start.day))


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


def _per_capita(incomes: list[FactValue | None], size: int) -> float | None:
    """Mean monthly income rounded half-up to 2 decimals; None if any income is unknown."""
    if not size or any(isinstance(x, bool) or not isinstance(x, int | float) for x in incomes):
        return None
    total = sum((Decimal(str(x)) for x in incomes), Decimal(0))
    return float((total / size).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def household_facts(h: Household, on: date) -> Facts:
    """The facts of a household at a date: supplied ones plus derived ones.

    Args:
        h: the household.
        on: the evaluation date.

    Returns:
        Household facts with `household_size` and (when every member's `monthly_income` is
        known) `per_capita_monthly_income`; one mapping per member with `relation`, `sex`
        and `age`; the household's region code.
    """
    members = tuple(_member_facts(m, on) for m in h.members)
    subject: dict[str, FactValue] = dict(h.facts)
    subject["household_size"] = len(members)
    per_capita = _per_capita([m.get("monthly_income") for m in members], len(members))
    if per_capita is None:
        subject.pop("per_capita_monthly_income", None)
    else:
        subject["per_capita_monthly_income"] = per_capita
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
