"""Profiles: flat household and enterprise input checked against a small fact catalogue."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from matcher.profiles.errors import ProfileError
from matcher.profiles.parse import (
    IDENTITY_KEYS_ENTERPRISE,
    IDENTITY_KEYS_HOUSEHOLD,
    IDENTITY_KEYS_MEMBER,
    Household,
    Member,
    parse_enterprise,
    parse_household,
)
from rules.facts import FactCatalogue, FactDef
from synth.identifiers import make_ric, make_ric15, make_uscc


def fact(type_: str, level: str, **extra: Any) -> FactDef:
    """A catalogue entry with placeholder meaning and source."""
    return FactDef.model_validate(
        {"type": type_, "level": level, "meaning": "测试", "source": "测试", "sensitive": False}
        | extra
    )


CATALOGUE = FactCatalogue(
    facts={
        "monthly_income": fact("number", "member", unit="CNY", min=0, max=1_000_000),
        "disability_grade": fact("number", "member", integer=True, min=1, max=4),
        "is_student": fact("bool", "member"),
        "age": fact("number", "member", derived=True),
        "income": fact("number", "household"),
        "dibao_status": fact("string", "household", values=("active", "lapsed", "none")),
        "dibao_since": fact("date", "household"),
        "household_size": fact("number", "household", derived=True),
        "founded_on": fact("date", "enterprise", min="1900-01-01", max="today"),
        "employees": fact("number", "enterprise"),
        "years_since_founded": fact("number", "enterprise", derived=True),
    }
)
HEAD = make_ric(birth=date(1980, 1, 1), seq=1)
CHILD = make_ric(birth=date(2012, 5, 6), seq=2)


def household(**facts: Any) -> dict[str, Any]:
    """A valid raw household of a head and a child, with extra top-level keys."""
    members = [{"id_number": HEAD, "relation": "head"}, {"id_number": CHILD, "relation": "child"}]
    return {"region_code": "520602001201", "members": members} | facts


def issues_of(raw: dict[str, Any], parse: Any = parse_household) -> dict[str, str]:
    """The issues of a refused profile, as {path: message}."""
    with pytest.raises(ProfileError) as info:
        parse(raw, CATALOGUE)
    return {i.path: i.message for i in info.value.issues}


def test_identity_keys_are_exposed() -> None:
    """The identity keys of each profile kind are the documented ones."""
    assert set(IDENTITY_KEYS_HOUSEHOLD) == {"household_id", "region_code", "members"}
    assert set(IDENTITY_KEYS_MEMBER) == {"id_number", "name", "relation"}
    assert set(IDENTITY_KEYS_ENTERPRISE) == {"credit_code", "name", "region_code"}


def test_valid_household_is_normalised_and_typed() -> None:
    """IDs, names and dates are normalised; None is dropped; ints stay ints."""
    raw = household(dibao_status="active", dibao_since="2020-01-01", income=None, household_id="h1")
    raw["members"][0] |= {"id_number": HEAD.lower(), "name": "买买提•艾力", "monthly_income": 300}
    raw["members"][1] |= {"id_number": make_ric15(birth=date(1990, 2, 3), seq=2)}
    h = parse_household(raw, CATALOGUE)
    assert h.facts == {"dibao_status": "active", "dibao_since": date(2020, 1, 1)}
    assert h.members[0].name == "买买提·艾力"
    assert h.members[1].id_number == make_ric(birth=date(1990, 2, 3), seq=2)
    assert type(h.members[0].facts["monthly_income"]) is int
    assert (h.household_id, h.region_code) == ("h1", "520602001201")


def test_every_issue_is_collected_at_once_with_its_path() -> None:
    """Four problems in four places are all reported in one ProfileError."""
    raw = household(incme=9000, dibao_status="actve")
    raw["members"][0]["disability_grade"] = "2"
    raw["members"][1]["id_number"] = HEAD[:17] + ("1" if HEAD[17] != "1" else "2")
    found = issues_of(raw)
    assert set(found) == {
        "incme",
        "dibao_status",
        "members[0].disability_grade",
        "members[1].id_number",
    }
    assert found["members[0].disability_grade"] == "expected number, got string '2'"
    assert "校验码" in found["members[1].id_number"]


def test_profile_error_names_the_source() -> None:
    """The error text starts with the source given by the caller and the count."""
    with pytest.raises(ProfileError, match=r"^households.xlsx row 7：1 处问题："):
        parse_household(household(incme=1), CATALOGUE, source="households.xlsx row 7")


def test_unknown_fact_gets_did_you_mean() -> None:
    """A misspelt fact gets the closest declared name."""
    assert issues_of(household(incme=1))["incme"] == "unknown fact 'incme'; did you mean 'income'?"
    assert "did you mean 'members'" in issues_of(household(member=[]))["member"]
    assert "declare it" in issues_of(household(zzz=1))["zzz"]


@pytest.mark.parametrize(
    ("where", "key", "value", "text"),
    [
        ("household", "disability_grade", 1, "'disability_grade' is a member fact"),
        ("household", "founded_on", "2020-01-01", "cannot appear in a household profile"),
        ("member", "dibao_status", "active", "'dibao_status' is a household fact"),
    ],
)
def test_fact_of_the_wrong_level_says_where_it_belongs(
    where: str, key: str, value: Any, text: str
) -> None:
    """A fact on the wrong level is refused, naming the level it belongs to."""
    raw = household()
    target = raw if where == "household" else raw["members"][0]
    target[key] = value
    path = key if where == "household" else f"members[0].{key}"
    assert text in issues_of(raw)[path]


def test_household_fact_on_an_enterprise_is_refused() -> None:
    """An enterprise profile cannot carry household facts."""
    raw = {"credit_code": make_uscc(), "dibao_status": "active"}
    assert (
        "cannot appear in an enterprise profile" in issues_of(raw, parse_enterprise)["dibao_status"]
    )


def test_derived_facts_cannot_be_supplied() -> None:
    """Supplying age or household_size is refused, saying what they are computed from."""
    raw = household(household_size=2)
    raw["members"][0]["age"] = 44
    found = issues_of(raw)
    assert found["members[0].age"].startswith("'age' is derived: computed from the ID number")
    assert "derived: computed from the number of members" in found["household_size"]


@pytest.mark.parametrize(
    ("key", "value", "text"),
    [
        ("income", "9000", "expected number, got string '9000'"),
        ("income", True, "expected number, got boolean true"),
        ("income", float("nan"), "不是有限的数：nan"),
        ("income", 522221197005120035, "过大：数值须小于 10 的 15 次方"),
        ("income", Decimal("1.2345678901234567"), "有效数字超过 15 位"),
        ("income", [1], "expected number, got a list"),
        ("dibao_status", "actve", "expected one of 'active', 'lapsed', 'none', got string 'actve'"),
        ("dibao_status", 1, "expected string, got number 1"),
        ("dibao_since", "2020-02-30", "which is not a real date"),
        ("dibao_since", "01/02/2020", "expected a date (YYYY-MM-DD), got string '01/02/2020'"),
        ("dibao_since", datetime(2020, 1, 1, 8), "got a date and time"),
        ("dibao_since", 20200101, "expected a date (YYYY-MM-DD), got number 20200101"),
    ],
)
def test_wrong_types_say_what_was_expected(key: str, value: Any, text: str) -> None:
    """Each wrong type is refused with the expected type and the value found."""
    assert text in issues_of(household(**{key: value}))[key]


def test_bool_facts_refuse_numbers_and_accept_booleans() -> None:
    """A bool fact takes true/false, not 1."""
    raw = household()
    raw["members"][1]["is_student"] = 1
    assert issues_of(raw)["members[1].is_student"] == "expected true or false, got number 1"
    raw["members"][1]["is_student"] = True
    assert parse_household(raw, CATALOGUE).members[1].facts == {"is_student": True}


def test_dates_accept_date_objects_and_iso_strings() -> None:
    """A date fact accepts a YAML date and an ISO string alike."""
    by_object = parse_household(household(dibao_since=date(2020, 1, 1)), CATALOGUE)
    by_text = parse_household(household(dibao_since="2020-01-01"), CATALOGUE)
    assert by_object.facts == by_text.facts == {"dibao_since": date(2020, 1, 1)}


@pytest.mark.parametrize(
    ("relations", "text"),
    [
        (["spouse", "child"], "没有成员的与户主关系为户主"),
        (["head", "head"], "有 2 位成员的与户主关系为户主（head：members[0], members[1]）"),
    ],
)
def test_a_household_needs_exactly_one_head(relations: list[str], text: str) -> None:
    """No head, or two heads, is refused at `members`."""
    raw = household()
    for member, relation in zip(raw["members"], relations, strict=True):
        member["relation"] = relation
    assert text in issues_of(raw)["members"]


@pytest.mark.parametrize("members", [[], None, "x"])
def test_a_household_needs_members(members: Any) -> None:
    """No members, a missing list, or a non-list are refused at `members`."""
    assert "at least one member" in issues_of(household(members=members))["members"]


def test_bad_member_fields_are_reported_per_member() -> None:
    """A bad relation, a missing ID, a bad name and a non-object member each get a path."""
    raw = household()
    raw["members"][1]["relation"] = "cousin"
    raw["members"].append({"relation": "other", "name": "张\u200b三"})
    raw["members"].append("王芳")
    found = issues_of(raw)
    assert "expected one of head, spouse" in found["members[1].relation"]
    assert found["members[2].id_number"] == "missing: 'id_number' is required"
    assert "U+200B" in found["members[2].name"]
    assert "expected an object" in found["members[3]"]


def test_duplicate_id_numbers_are_refused_without_revealing_them() -> None:
    """The same person twice (18- and 15-digit forms) is refused, with the ID masked."""
    raw = household()
    raw["members"][1]["id_number"] = HEAD[:6] + HEAD[8:17]
    message = issues_of(raw)["members[1].id_number"]
    assert "已是 members[0]" in message
    assert HEAD not in message and HEAD[:3] in message


def test_future_birth_and_wrong_region_length_are_refused() -> None:
    """A member born after `today` and a 6-digit household region are both refused."""
    raw = household(region_code="520602")
    with pytest.raises(ProfileError) as info:
        parse_household(raw, CATALOGUE, today=date(2012, 5, 5))
    paths = {i.path for i in info.value.issues}
    assert paths == {"region_code", "members[1].id_number"}


def test_not_an_object_is_refused_at_the_root() -> None:
    """A profile that is not a mapping is refused at path `$`."""
    with pytest.raises(ProfileError) as info:
        parse_household([1, 2], CATALOGUE)  # type: ignore[arg-type]
    assert info.value.issues[0].path == "$"


def test_valid_enterprise() -> None:
    """An enterprise with a letter-prefixed code, a 6-digit region and a founding date parses."""
    raw = {"credit_code": "y1110000ma01234562", "region_code": "520602", "founded_on": "2019-03-01"}
    e = parse_enterprise(raw | {"employees": 12, "name": "某某合作社"}, CATALOGUE)
    assert (e.credit_code, e.region_code) == ("Y1110000MA01234562", "520602")
    assert e.facts == {"founded_on": date(2019, 3, 1), "employees": 12}


def test_bad_enterprise_collects_every_issue() -> None:
    """A missing code, a bad region and a misspelt fact are all reported."""
    found = issues_of({"region_code": "5206", "employes": 3}, parse_enterprise)
    assert found["credit_code"] == "missing: 'credit_code' is required"
    assert "应为 6 或 12 位数字" in found["region_code"]
    assert "did you mean 'employees'" in found["employes"]


def test_models_validate_when_built_directly() -> None:
    """Building a Household by hand still enforces one head and valid ID numbers."""
    with pytest.raises(ValidationError, match="每户只能有一位户主"):
        Household(
            members=[
                Member(id_number=HEAD, relation="head"),
                Member(id_number=CHILD, relation="head"),
            ]
        )
    with pytest.raises(ValidationError, match="校验码"):
        Member(id_number=HEAD[:17] + ("0" if HEAD[17] != "0" else "1"), relation="head")


def test_error_text_never_reveals_a_full_id_number() -> None:
    """An ID number typed into the wrong fields is masked in every message."""
    raw = household(region_code=HEAD, income=HEAD, household_id=5)
    raw["members"][1]["id_number"] = HEAD
    with pytest.raises(ProfileError) as info:
        parse_household(raw, CATALOGUE)
    assert len(info.value.issues) == 4
    assert HEAD not in str(info.value)


@pytest.mark.parametrize(
    ("path", "member", "text"),
    [
        (
            "members[0].monthly_income",
            {"monthly_income": -5},
            "应为0 至 1000000 之间的数，实际为 -5",
        ),
        ("members[0].disability_grade", {"disability_grade": -1}, "实际为 -1"),
        ("members[0].disability_grade", {"disability_grade": Decimal("1.5")}, "应为整数"),
        ("members[0].monthly_income", {"monthly_income": 1e30}, "过大"),
    ],
)
def test_a_value_outside_its_domain_is_refused_at_its_json_path(
    path: str, member: dict[str, Any], text: str
) -> None:
    """An income of −5 or a grade of −1 is an error at its JSON path, never taken as unknown."""
    raw = household()
    raw["members"][0].update(member)
    assert text in issues_of(raw)[path]


def test_a_founding_date_after_the_evaluation_date_is_refused() -> None:
    """A date whose domain ends `today` may not be after the day the profile is read for."""
    raw = {"credit_code": make_uscc(), "founded_on": "2025-03-02"}
    assert (
        "2025-03-01"
        in issues_of(raw, lambda r, c: parse_enterprise(r, c, today=date(2025, 3, 1)))["founded_on"]
    )
    ok = parse_enterprise(raw, CATALOGUE, today=date(2025, 3, 2))
    assert ok.facts["founded_on"] == date(2025, 3, 2)
