"""Delivery reactions on durable-rules: the shipped files react to their events only, the engine
agrees with a plain-Python dispatch over random events, and `end-from-date` dates are right."""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from matcher.events.reactions import Event, Reactions, effective_date
from rules.catalogue import load_catalogue
from rules.reactions import EVENTS, CompiledReaction, Ids, check_reaction_file

POLICIES = Path(__file__).parents[2] / "policies"
SUBJECTS = ("household", "enterprise")


@cache
def shipped() -> Reactions:
    return Reactions.load(POLICIES, load_catalogue(POLICIES))


def test_each_shipped_reaction_fires_for_its_event_and_no_other() -> None:
    """For every event and subject, exactly the reactions written `on:` that event fire."""
    reactions = shipped()
    for name, kind in EVENTS.items():
        for subject in SUBJECTS:
            fired = [r.name for r in reactions.fired(Event(name, subject))]
            expected = [
                r.name for r in reactions.rules if r.on == name and subject in kind.subjects
            ]
            assert fired == expected, (name, subject)
    assert reactions.fired(Event("no_such_event", "household")) == []


def test_dibao_lapsed_ends_the_bundle_from_the_first_of_next_month() -> None:
    """The 低保 lapse re-evaluates, ends the 低保 bundle's members next month, tells the village."""
    actions = shipped().react(Event("dibao_lapsed", "household", {"to": "lapsed"}))
    assert [a.verb for a in actions] == ["re-evaluate", "end-from-date", "notify"]
    end = actions[1].args
    assert end["bundle"] == "household.dibao" and "household.dibao.water" in end["policies"]
    assert effective_date(end["from"], date(2025, 12, 15)) == date(2026, 1, 1)
    assert actions[2].args == {"to": ("subject", "village"), "package": False}
    assert {a.reaction for a in actions} == {"reactions.dibao#1"}
    assert actions[0].says is not None and "低保" in actions[0].says


def test_an_enterprise_registered_gets_the_package() -> None:
    """A new enterprise is re-evaluated in full and sent the policy package."""
    actions = shipped().react(Event("enterprise_registered", "enterprise"))
    assert [(a.verb, dict(a.args)) for a in actions] == [
        ("re-evaluate", {"policies": None, "bundle": None}),
        ("notify", {"to": ("subject",), "package": True}),
    ]


def test_rulesets_are_shared_and_nothing_stays_asserted() -> None:
    """A second load reuses the rulesets by content; one event's fact never meets the next."""
    again = Reactions.load(POLICIES, load_catalogue(POLICIES))
    assert again._handles == shipped()._handles
    first = again.react(Event("child_born", "household"))
    for _ in range(3):
        assert again.react(Event("child_born", "household")) == first
    assert again.react(Event("member_moved", "enterprise")) == []


# --- durable-rules against a plain-Python dispatch --------------------------------------------

VALUES: list[Any] = [0, 1, 2, -3, True, False, "1", "", "a", "b", "村", 'q"x', "back\\slash"]
KEYS = ["relation", "grade", "flag"]
FILE = {
    "id": "reactions.differential",
    "title": "durable-rules 与逐条比对",
    "reactions": [
        {"on": "child_born", "do": ["re-evaluate"]},
        {"on": "child_born", "when": {"relation": "child"}, "do": [{"notify": ["subject"]}]},
        {"on": "child_born", "when": {"relation": ["child", "村"]}, "do": ["re-evaluate"]},
        {"on": "profile_changed", "subject": "enterprise", "do": ["re-evaluate"]},
        {"on": "profile_changed", "when": {"flag": True}, "do": ["re-evaluate"]},
        {"on": "profile_changed", "when": {"flag": 1, "grade": [1, 2]}, "do": ["re-evaluate"]},
        {"on": "disability_assessed", "when": {"grade": ["1", 2, ""]}, "do": ["re-evaluate"]},
        {"on": "disability_assessed", "when": {"grade": 0}, "do": ["re-evaluate"]},
        {"on": "followons_end", "when": {"relation": 'q"x'}, "do": ["re-evaluate"]},
        {"on": "followons_end", "when": {"relation": "back\\slash"}, "do": ["re-evaluate"]},
        {"on": "followons_end", "when": {"flag": False, "relation": "a"}, "do": ["re-evaluate"]},
        {"on": "enterprise_registered", "do": ["re-evaluate"]},
        {"on": "dibao_granted", "when": {"grade": -3}, "do": ["re-evaluate"]},
    ],
}


@pytest.fixture(scope="module")
def differential(tmp_path_factory: pytest.TempPathFactory) -> Reactions:
    path = tmp_path_factory.mktemp("reactions") / "differential.yaml"
    path.write_text(yaml.safe_dump(FILE, allow_unicode=True), encoding="utf-8")
    checked, problems = check_reaction_file(path, Ids(frozenset(), {}))
    assert problems == [] and checked is not None
    return Reactions([checked])


def plain(rules: tuple[CompiledReaction, ...], event: Event) -> list[str]:
    """The reactions that should fire, by reading each rule in Python."""

    def holds(r: CompiledReaction) -> bool:
        subjects = (r.subject,) if r.subject else EVENTS[r.on].subjects
        attrs = event.attributes
        return (
            r.on == event.name
            and event.subject_kind in subjects
            and all(k in attrs and any(attrs[k] == v for v in values) for k, values in r.when)
        )

    return [r.name for r in rules if holds(r)]


events = st.builds(
    Event,
    st.sampled_from([*sorted(EVENTS), "unknown_event"]),
    st.sampled_from(SUBJECTS),
    st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(event=events)
@example(event=Event("disability_assessed", "household", {"grade": 1}))  # "1" is not 1
def test_durable_rules_agrees_with_a_plain_dispatch(differential: Reactions, event: Event) -> None:
    """Over random events, durable-rules fires exactly the reactions a reading in Python does:
    text with quotes and backslashes, Chinese, 1 and "1" (different), 1 and true (the same)."""
    fired = [r.name for r in differential.fired(event)]
    assert fired == plain(differential.rules, event)


# --- end-from-date ---------------------------------------------------------------------------


@given(on=st.dates(date(2000, 1, 1), date(2099, 12, 31)))
def test_first_of_next_month_is_the_next_first(on: date) -> None:
    """The first of the month after `on`: later than `on`, at most 31 days on, a first."""
    start = effective_date("first_of_next_month", on)
    assert start.day == 1 and on < start <= on + timedelta(days=31)
    assert (start - timedelta(days=1)).month == on.month


def test_event_date_and_days_after() -> None:
    """`event_date` is the day itself, `days:N` N days later; anything else is refused."""
    on = date(2025, 2, 27)
    assert effective_date("event_date", on) == on
    assert effective_date("days:2", on) == date(2025, 3, 1)
    for bad in ("days:", "days:-1", "next_month", "30"):
        with pytest.raises(ValueError, match="first_of_next_month"):
            effective_date(bad, on)
