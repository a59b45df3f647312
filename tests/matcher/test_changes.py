"""Events from a profile change: statuses, members arriving and leaving, disability, creation,
and always one `profile_changed` listing masked paths — never a full ID number."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matcher.events.changes import profile_events
from matcher.profiles.identifiers import ric_check_digit

ON = date(2025, 12, 15)
HEAD = "110105198001010016"
SPOUSE = "110105199001010029"


def ric(born: date, seq: str = "001") -> str:
    body = f"110105{born:%Y%m%d}{seq}"
    return body + ric_check_digit(body)


def member(number: str, relation: str = "spouse", **facts: Any) -> dict[str, Any]:
    return {"id_number": number, "name": "某某", "relation": relation, "facts": facts}


def household(*members: dict[str, Any], **facts: Any) -> dict[str, Any]:
    return {
        "household_no": "5206020012010001",
        "region_code": "520602001201",
        "facts": facts,
        "members": [member(HEAD, "head"), *members],
    }


def names(
    before: dict[str, Any] | None, after: dict[str, Any], kind: str = "household"
) -> list[str]:
    return [e.name for e in profile_events(kind, before, after, on=ON)]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (None, "active", ["dibao_granted"]),
        ("none", "active", ["dibao_granted"]),
        ("lapsed", "active", ["dibao_granted"]),
        ("active", "lapsed", ["dibao_lapsed"]),
        ("active", None, ["dibao_lapsed"]),
        ("none", "lapsed", []),
    ],
)
def test_dibao_status_across_active_is_granted_or_lapsed(
    old: str | None, new: str | None, expected: list[str]
) -> None:
    """Only a step into or out of "active" is a 低保 event; any change is also profile_changed."""
    before = household(**({"dibao_status": old} if old else {}))
    after = household(**({"dibao_status": new} if new else {}))
    assert names(before, after) == [*expected, "profile_changed"]


def test_tekun_and_dibao_together_in_fact_order() -> None:
    """Both statuses changing at once give both events, 低保 first."""
    before = household(dibao_status="active", tekun_status="none")
    after = household(dibao_status="lapsed", tekun_status="active")
    assert names(before, after) == ["dibao_lapsed", "tekun_granted", "profile_changed"]


def test_a_baby_is_child_born_and_an_adult_is_member_added() -> None:
    """A member born within the 365 days up to the change is a newborn; older is an arrival."""
    baby, day_366 = ric(ON - timedelta(days=365)), ric(ON - timedelta(days=366), "002")
    after = household(member(baby, "child"), member(day_366, "child"), member(SPOUSE))
    events = profile_events("household", household(), after, on=ON)
    by_member = {e.attributes["member"]: e.name for e in events[:-1]}
    assert by_member == {
        f"110{'*' * 11}{baby[-4:]}": "child_born",
        f"110{'*' * 11}{day_366[-4:]}": "member_added",
        f"110{'*' * 11}{SPOUSE[-4:]}": "member_added",
    }


def test_a_member_gone_is_moved_unless_a_death_is_recorded() -> None:
    """A departure is member_moved; listed under `deceased` (or the fact set) it is member_died."""
    before = household(member(SPOUSE))
    assert names(before, household()) == ["member_moved", "profile_changed"]
    assert names(before, {**household(), "deceased": [SPOUSE]}) == [
        "member_died",
        "profile_changed",
    ]
    assert names(before, household(member(SPOUSE, deceased=True))) == [
        "member_died",
        "profile_changed",
    ]


def test_disability_set_or_changed_is_assessed_but_removed_is_not() -> None:
    """A grade appearing or changing is disability_assessed; losing it is only a change."""
    none, two = member(SPOUSE), member(SPOUSE, disability_grade=2)
    one = member(SPOUSE, disability_grade=1)
    assert names(household(none), household(two)) == ["disability_assessed", "profile_changed"]
    assert names(household(two), household(one)) == ["disability_assessed", "profile_changed"]
    assert names(household(two), household(none)) == ["profile_changed"]
    event = profile_events("household", household(none), household(two), on=ON)[0]
    assert event.attributes["grade"] == 2 and event.attributes["facts"] == ["disability_grade"]


def test_new_profiles() -> None:
    """A new enterprise is registered; a new household is only profile_changed, created."""
    enterprise = {"credit_code": "91520602MA6DQXXX1X", "name": "某公司", "region_code": "520602",
                  "facts": {"employees": 3}}  # fmt: skip
    events = profile_events("enterprise", None, enterprise, on=ON)
    assert [e.name for e in events] == ["enterprise_registered", "profile_changed"]
    assert events[1].attributes["created"] is True
    assert names(None, household(dibao_status="active")) == ["profile_changed"]


def test_nothing_changed_is_no_event_and_a_bad_kind_is_refused() -> None:
    """The same document twice gives no event; a kind that is not a subject is a ValueError."""
    assert profile_events("household", household(), household(), on=ON) == []
    with pytest.raises(ValueError, match="household or enterprise"):
        profile_events("person", None, household(), on=ON)


def test_paths_name_members_masked() -> None:
    """profile_changed lists paths in profile_diff's shape, members by masked ID number."""
    before = household(member(SPOUSE, monthly_income=100))
    after = household(member(SPOUSE, monthly_income=200), dibao_status="active")
    last = profile_events("household", before, after, on=ON)[-1]
    assert last.attributes == {
        "paths": ["facts.dibao_status", "members[110***********0029].monthly_income"],
        "created": False,
    }


facts = st.fixed_dictionaries(
    {},
    optional={
        "dibao_status": st.sampled_from(["active", "lapsed", "none"]),
        "tekun_status": st.sampled_from(["active", "lapsed", "none"]),
        "monthly_income": st.integers(0, 3),
    },
)
people = st.lists(
    st.builds(
        member,
        st.dates(date(1930, 1, 1), ON).map(ric),
        st.sampled_from(["child", "spouse", "parent"]),
        disability_grade=st.none() | st.integers(1, 4),
    ),
    max_size=3,
    unique_by=lambda m: m["id_number"],
)


@given(st.tuples(facts, people), st.tuples(facts, people))
def test_random_changes_are_json_and_hold_no_id_number(
    old: tuple[Any, Any], new: tuple[Any, Any]
) -> None:
    """Any change gives JSON-able events, profile_changed last iff anything changed, and no
    full ID number anywhere in them."""
    before, after = household(*old[1], **old[0]), household(*new[1], **new[0])
    events = profile_events("household", before, after, on=ON)
    assert (events == []) == (before == after)
    if events:
        assert events[-1].name == "profile_changed" and events[-1].attributes["paths"]
        assert all(e.name != "profile_changed" for e in events[:-1])
    text = json.dumps([[e.name, e.subject_kind, dict(e.attributes)] for e in events])
    for m in [*before["members"], *after["members"]]:
        assert m["id_number"] not in text
