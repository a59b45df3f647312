"""TEMPORARY stand-in for `matcher.events.reactions` and `matcher.events.changes` (being built on
another branch); deleted when they land. Same names and shapes as their agreed interface."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from matcher.profiles.masking import mask_id
from rules.catalogue import Catalogue

__all__ = ["Action", "Event", "Reactions", "effective_date", "profile_events"]


@dataclass(frozen=True)
class Action:
    """What a reaction does: a verb with its arguments."""

    verb: str
    args: Mapping[str, Any]
    reaction: str
    says: str | None


@dataclass(frozen=True)
class Event:
    """An event of one subject."""

    name: str
    subject_kind: str
    attributes: Mapping[str, Any]


class Reactions:
    """The delivery reactions (stand-in: the rules written in code)."""

    def __init__(self, followons: tuple[str, ...], newborn: tuple[str, ...]) -> None:
        self.followons, self.newborn = followons, newborn

    @classmethod
    def load(cls, root: Path, catalogue: Catalogue) -> Reactions:
        """The reactions of a catalogue."""
        dibao = catalogue.bundles.get("household.dibao")
        newborn = catalogue.bundles.get("household.newborn")
        return cls(
            tuple(dibao.spec.members) if dibao else (),
            tuple(newborn.spec.members) if newborn else (),
        )

    def react(self, event: Event) -> list[Action]:
        """The actions `event` calls for."""
        again = Action("re-evaluate", {"policies": None}, "stand-in", None)
        if event.name == "dibao_granted":
            notify = {"to": ("subject", "village"), "package": False}
            return [again, Action("notify", notify, "dibao_granted", "低保认定后一次办结后续待遇")]
        if event.name == "dibao_lapsed":
            end = {"policies": self.followons, "from": "first_of_next_month"}
            return [again, Action("end-from-date", end, "dibao_lapsed", "退出低保，次月起停发")]
        if event.name == "child_born":
            return [Action("re-evaluate", {"policies": self.newborn}, "child_born", "新生儿")]
        if event.name == "enterprise_registered":
            notify = {"to": ("subject",), "package": True}
            return [again, Action("notify", notify, "enterprise_registered", "新办企业政策包")]
        return [again]


def effective_date(spec: str, on: date) -> date:
    """The date a spec names, counted from `on`."""
    if spec == "first_of_next_month":
        return date(on.year + (on.month == 12), on.month % 12 + 1, 1)
    return on


def _status(doc: Mapping[str, Any] | None, fact: str) -> Any:
    return (doc or {}).get("facts", {}).get(fact)


def profile_events(
    kind: str, before: Mapping[str, Any] | None, after: Mapping[str, Any], *, on: date
) -> list[Event]:
    """The events between two stored documents."""
    out = []
    if kind == "enterprise" and before is None:
        out.append(Event("enterprise_registered", kind, {}))
    for fact, granted, lapsed in (
        ("dibao_status", "dibao_granted", "dibao_lapsed"),
        ("tekun_status", "tekun_granted", "tekun_lapsed"),
    ):
        old, new = _status(before, fact), _status(after, fact)
        if new == "active" and old != "active":
            out.append(Event(granted, kind, {fact: new}))
        elif old == "active" and new != "active":
            out.append(Event(lapsed, kind, {fact: new}))
    old_members = {m["id_number"]: m for m in (before or {}).get("members", [])}
    for m in after.get("members", []):
        if before is not None and m["id_number"] not in old_members and m["relation"] == "child":
            out.append(Event("child_born", kind, {"member": mask_id(m["id_number"])}))
    if before != after:
        out.append(Event("profile_changed", kind, {}))
    return out
