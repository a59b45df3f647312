"""Delivery reactions on durable-rules: an event in, the actions that follow out.

    >>> reactions = Reactions.load(Path("policies"), catalogue)
    >>> reactions.react(Event("dibao_granted", "household"))
    [Action(verb='re-evaluate', …), Action(verb='notify', …)]

Each reaction of `policies/reactions/*.yaml` (checked by `rules.reactions`) becomes one
durable-rules rule matching the event fact `{"event": name, "subject": kind, …attributes}`:
the event name, the subject kind (the reaction's `subject:`, else the only kind its event can
be about, e.g. households for `dibao_granted`), and each `when:` attribute (one
of its values). The rules are created once per process under content-named rulesets
(`matcher.events.runtime.create_rulesets`); an event is asserted as one fact, the rules that
fired are collected by name (`<file id>#<index>`) and the fact is retracted, so no engine state
outlives a call. Only the attributes some `when:` reads, and only text, whole numbers and
booleans, go into the fact, each tagged by type (`s:…`, `n:…`) on both sides: durable-rules
takes the text "1" for the number 1, Python does not; true and 1 are one value to both.
The actions come back in a fixed order: by reaction file (path order), then reaction index,
then as listed.

Pure: no store. Durable-rules decides *what happens*; who qualifies is still the matcher's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from matcher.events.encoding import Formula, Json, all_of, any_of, dumps
from matcher.events.runtime import MAX_RULES, create_rulesets, fire
from rules.catalogue import Catalogue
from rules.reactions import (
    EVENTS,
    RESERVED_ATTRIBUTES,
    CompiledReaction,
    ReactionFile,
    load_reactions,
)

__all__ = ["Action", "Event", "Reactions", "effective_date"]


@dataclass(frozen=True)
class Event:
    """Something that happened to one subject: a name of `rules.reactions.EVENTS`, the subject
    kind ("household" or "enterprise") and JSON-able attributes (never a full ID number)."""

    name: str
    subject_kind: str
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Action:
    """One thing to do: a verb of `rules.reaction_verbs.VERBS` with normalised arguments.

    `reaction` names the reaction it comes from (`<file id>#<index>`), for output and audit;
    `says` is that reaction's reason in words.
    """

    verb: str
    args: Mapping[str, Any]
    reaction: str
    says: str | None


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int)  # bool is an int


def _tagged(value: str | int) -> str:
    """A value as durable-rules compares it: tagged text, since durable-rules takes the text
    "1" for the number 1 (found by the differential test); true is 1, as in Python."""
    return f"s:{value}" if isinstance(value, str) else f"n:{int(value)}"


def _rule(reaction: CompiledReaction) -> Formula:
    parts: list[Formula] = [{"event": reaction.on}]
    subjects = EVENTS[reaction.on].subjects if reaction.subject is None else (reaction.subject,)
    if len(subjects) == 1:  # an event about households only never reacts for an enterprise
        parts.append({"subject": subjects[0]})
    for key, values in reaction.when:
        tagged = sorted({_tagged(v) for v in values})  # true and 1 are one value: one disjunct
        parts.append(any_of({key: v} for v in tagged))
    return all_of(parts)


def _rulesets(rules: Sequence[CompiledReaction]) -> list[tuple[str, str]]:
    """The reactions as content-named rulesets of at most `MAX_RULES` rules each."""
    named = []
    for start in range(0, len(rules), MAX_RULES):
        chunk = {r.name: {"all": [{"m": _rule(r)}]} for r in rules[start : start + MAX_RULES]}
        text = dumps(chunk)
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        named.append((f"zhida.reactions.{digest}.{start // MAX_RULES}", text))
    return named


class Reactions:
    """Checked reaction files as durable-rules rulesets; one event at a time.

    Raises:
        EngineError: durable-rules refuses a ruleset (on construction) or fails on an event.
    """

    def __init__(self, files: Sequence[ReactionFile]) -> None:
        self.files = tuple(files)
        self.rules = tuple(r for f in self.files for r in f.reactions)
        self._by_name = {r.name: r for r in self.rules}
        self._read = frozenset(k for r in self.rules for k, _ in r.when)
        self._handles = create_rulesets(_rulesets(self.rules)) if self.rules else ()

    @classmethod
    def load(cls, root: Path, catalogue: Catalogue) -> Reactions:
        """The reaction files of the catalogue at `root`, checked against `catalogue`.

        Raises:
            RuleError: a reaction file is wrong (the first problem, at its file:line:col).
            EngineError: durable-rules refuses the rules.
        """
        return cls(load_reactions(root, catalogue))

    def fact(self, event: Event) -> dict[str, Json]:
        """The fact asserted for `event`: name, subject kind and the attributes rules read
        (tagged by type)."""
        attrs = {
            k: _tagged(v)
            for k, v in sorted(event.attributes.items())
            if k in self._read and k not in RESERVED_ATTRIBUTES and _scalar(v)
        }
        return {"event": event.name, "subject": event.subject_kind, **attrs}

    def fired(self, event: Event) -> list[CompiledReaction]:
        """The reactions whose rule fires for `event`, in file and index order."""
        if not self._handles:
            return []
        names = set(fire(self._handles, dumps(self.fact(event))))
        return [r for r in self.rules if r.name in names]

    def react(self, event: Event) -> list[Action]:
        """Every action that follows `event`, in order (file, reaction, as listed)."""
        return [
            Action(a.verb, dict(a.args), r.name, r.says)  # a copy: JSON-able, the caller's own
            for r in self.fired(event)
            for a in r.actions
        ]


def effective_date(spec: str, on: date) -> date:
    """The date an `end-from-date` action takes effect for an event on `on`.

    Args:
        spec: "first_of_next_month", "event_date" (`on` itself) or "days:N" (N days after `on`).
        on: the event's date.

    Raises:
        ValueError: `spec` is none of these.
    """
    if spec == "first_of_next_month":
        return date(on.year + on.month // 12, on.month % 12 + 1, 1)
    if spec == "event_date":
        return on
    days = spec.removeprefix("days:")
    if days != spec and days.isdigit():
        return on + timedelta(days=int(days))
    raise ValueError(f"unknown date rule {spec!r}: first_of_next_month, event_date or days:N")
