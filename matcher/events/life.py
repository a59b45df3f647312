"""Life events (低保 recognised or lapsed, a child born, an enterprise registered, a profile
changed) and the engine's reaction to them: what to grant, what to stop, which bundles open.

    >>> after = apply_event(household, DibaoGranted(certificate_no="DB2025-001"))
    >>> reaction = react(household, DibaoGranted(), on, engine=EventEngine(catalogue, on))
    >>> reaction.bundles_opened, reaction.newly_eligible      # 低保一件事 and its follow-ons

`apply_event` is pure. `react` diffs the event engine's eligible sets before and after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from matcher.events.runtime import EventEngine, Fired
from matcher.profiles.derive import enterprise_facts, household_facts
from matcher.profiles.facts import Facts
from matcher.profiles.parse import (
    Enterprise,
    Household,
    IdNumber,
    Member,
    parse_enterprise,
    parse_household,
)
from rules.facts import FactCatalogue, FactValue

__all__ = [
    "ChildBorn",
    "DibaoGranted",
    "DibaoLapsed",
    "EnterpriseRegistered",
    "LifeEvent",
    "ProfileChanged",
    "Reaction",
    "apply_event",
    "checked",
    "react",
]

Profile = Household | Enterprise


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DibaoGranted(_Event):
    """民政 recognises the household as 低保: `dibao_status` becomes active."""

    kind: Literal["dibao_granted"] = "dibao_granted"
    certificate_no: str | None = None


class DibaoLapsed(_Event):
    """The household leaves 低保: `dibao_status` becomes lapsed; follow-ons are stopped."""

    kind: Literal["dibao_lapsed"] = "dibao_lapsed"


class ChildBorn(_Event):
    """A child joins the household (relation `child`), identified by an ID number."""

    kind: Literal["child_born"] = "child_born"
    id_number: IdNumber
    name: str | None = None
    facts: dict[str, FactValue] = Field(default_factory=dict)


class EnterpriseRegistered(_Event):
    """A new enterprise is registered: its profile starts here."""

    kind: Literal["enterprise_registered"] = "enterprise_registered"
    credit_code: str
    name: str | None = None
    region_code: str | None = None
    facts: dict[str, FactValue] = Field(default_factory=dict)


class ProfileChanged(_Event):
    """Facts are set (None removes one), on the subject or on the member `member`."""

    kind: Literal["profile_changed"] = "profile_changed"
    facts: dict[str, FactValue | None]
    member: IdNumber | None = None


LifeEvent = Annotated[
    DibaoGranted | DibaoLapsed | ChildBorn | EnterpriseRegistered | ProfileChanged,
    Field(discriminator="kind"),
]


@dataclass(frozen=True)
class Reaction:
    """What an event changes: entitlements to start and to stop, bundles opened and closed."""

    newly_eligible: frozenset[str]
    to_stop: frozenset[str]
    bundles_opened: frozenset[str]
    bundles_closed: frozenset[str]
    profile: Profile


def _merged(facts: dict[str, FactValue], changes: dict[str, FactValue | None]) -> dict[str, Any]:
    out: dict[str, FactValue] = {**facts, **{k: v for k, v in changes.items() if v is not None}}
    return {k: v for k, v in out.items() if changes.get(k, v) is not None}


def _household(profile: Profile | None, event: _Event) -> Household:
    if not isinstance(profile, Household):
        raise ValueError(f"`{getattr(event, 'kind', event)}` applies to a household profile")
    return profile


def apply_event(profile: Profile | None, event: LifeEvent) -> Profile:
    """The profile after `event` (a new object; `profile` is not changed).

    Raises:
        ValueError: the event does not apply to this kind of profile (or to none).
    """
    match event:
        case DibaoGranted(certificate_no=number):
            h = _household(profile, event)
            changes: dict[str, FactValue | None] = {"dibao_status": "active"}
            if number is not None:
                changes["dibao_certificate_no"] = number
            return h.model_copy(update={"facts": _merged(h.facts, changes)})
        case DibaoLapsed():
            h = _household(profile, event)
            return h.model_copy(update={"facts": _merged(h.facts, {"dibao_status": "lapsed"})})
        case ChildBorn():
            h = _household(profile, event)
            child = Member(
                id_number=event.id_number, name=event.name, relation="child", facts=event.facts
            )
            return Household.model_validate({**h.model_dump(), "members": [*h.members, child]})
        case EnterpriseRegistered():
            return Enterprise.model_validate(event.model_dump(exclude={"kind"}))
        case ProfileChanged(member=None):
            if profile is None:
                raise ValueError("`profile_changed` needs a profile to change")
            return profile.model_copy(update={"facts": _merged(profile.facts, event.facts)})
        case ProfileChanged(member=number):
            h = _household(profile, event)
            if number not in {m.id_number for m in h.members}:
                raise ValueError("`profile_changed` names a member who is not in the household")
            members = [
                m.model_copy(update={"facts": _merged(m.facts, event.facts)})
                if m.id_number == number
                else m
                for m in h.members
            ]
            return h.model_copy(update={"members": members})
    raise ValueError(f"unknown event {event!r}")  # pragma: no cover


def checked(profile: Profile, facts: FactCatalogue, on: date) -> Profile:
    """`profile` re-read against the fact catalogue (types, values, levels, ID numbers).

    Raises:
        ProfileError: every problem, with its JSON path.
    """
    if isinstance(profile, Enterprise):
        raw = {**profile.facts, **profile.model_dump(exclude={"facts"}, exclude_none=True)}
        return parse_enterprise(raw, facts, source="event")
    members = [
        {**m.facts, **m.model_dump(exclude={"facts"}, exclude_none=True)} for m in profile.members
    ]
    head = profile.model_dump(exclude={"facts", "members"}, exclude_none=True)
    return parse_household({**profile.facts, **head, "members": members}, facts, today=on)


def _facts(profile: Profile, on: date) -> Facts:
    if isinstance(profile, Enterprise):
        return enterprise_facts(profile, on)
    return household_facts(profile, on)


def react(before: Profile | None, event: LifeEvent, on: date, *, engine: EventEngine) -> Reaction:
    """Apply `event`, check the new profile, and diff what the event engine fires.

    Args:
        before: the profile before the event (None for a new enterprise).
        event: the life event.
        on: the evaluation date; it must be the date `engine` was built for.
        engine: the event engine of the current catalogue.

    Raises:
        ProfileError: the profile after the event is invalid (e.g. a number given as text).
        ValueError: the event does not apply, or `on` differs from the engine's date.
    """
    if on != engine.on:
        raise ValueError(f"the engine is built for {engine.on}, not {on}: build one for {on}")
    after = checked(apply_event(before, event), engine.catalogue.facts, on)
    subject = "enterprise" if isinstance(after, Enterprise) else "household"
    empty = Fired(frozenset(), frozenset())
    old = engine.match(_facts(before, on), subject) if before is not None else empty
    new = engine.match(_facts(after, on), subject)
    return Reaction(
        newly_eligible=new.policies - old.policies,
        to_stop=old.policies - new.policies,
        bundles_opened=new.bundles - old.bundles,
        bundles_closed=old.bundles - new.bundles,
        profile=after,
    )
