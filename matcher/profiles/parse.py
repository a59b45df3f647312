"""Profiles (household, member, enterprise): pydantic models, and parsing checked against the
fact catalogue.

A raw profile is flat (docs/rule-language.md, "Profiles"): identity keys plus facts by their
catalogue name. `parse_household` and `parse_enterprise` collect every problem at once, each
with its JSON path (`members[1].id_number`), and raise one `ProfileError`.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, cast, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from matcher.profiles.errors import Issue, ProfileError
from matcher.profiles.identifiers import (
    IdentifierError,
    normalise_name,
    parse_region_code,
    parse_ric,
    parse_uscc,
)
from matcher.profiles.masking import mask_id, mask_ids_in_text
from rules.facts import FactCatalogue, FactDef, FactLevel, FactValue
from rules.numbers import NumberError, read_number

__all__ = [
    "DERIVED_FROM",
    "IDENTITY_KEYS_ENTERPRISE",
    "IDENTITY_KEYS_HOUSEHOLD",
    "IDENTITY_KEYS_MEMBER",
    "RELATIONS",
    "Enterprise",
    "Household",
    "Member",
    "Relation",
    "parse_enterprise",
    "parse_household",
]

Relation = Literal[
    "head", "spouse", "child", "parent", "grandparent", "grandchild", "sibling", "other"
]
RELATIONS: tuple[str, ...] = get_args(Relation)
RELATION_LABELS: dict[str, str] = {
    "head": "户主",
    "spouse": "配偶",
    "child": "子女",
    "parent": "父母",
    "grandparent": "祖父母",
    "grandchild": "孙子女",
    "sibling": "兄弟姐妹",
    "other": "其他",
}  # how a sheet and the console name each relation
IDENTITY_KEYS_HOUSEHOLD: tuple[str, ...] = ("household_id", "region_code", "members")
IDENTITY_KEYS_MEMBER: tuple[str, ...] = ("id_number", "name", "relation")
IDENTITY_KEYS_ENTERPRISE: tuple[str, ...] = ("credit_code", "name", "region_code")
DERIVED_FROM: dict[str, str] = {
    "age": "the ID number's birth date",
    "sex": "the ID number's 17th digit",
    "household_size": "the number of members",
    "per_capita_monthly_income": "the members' monthly_income",
    "years_since_founded": "founded_on",
}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class _Refused(ValueError):
    """A value cannot be accepted; the message says why (becomes an Issue)."""


def _id_number(value: str) -> str:
    # Format and check digit only: refusing future births is an entry check (parse_household).
    return parse_ric(value, today=date.max).number


def _region12(value: str) -> str:
    return parse_region_code(value, lengths=(12,))


def _region6or12(value: str) -> str:
    return parse_region_code(value, lengths=(6, 12))


IdNumber = Annotated[str, AfterValidator(_id_number)]
Name = Annotated[str, AfterValidator(normalise_name)]


class Member(BaseModel):
    """One person in a household: a checked ID number, a relation and member-level facts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id_number: IdNumber
    name: Name | None = None
    relation: Relation
    facts: dict[str, FactValue] = Field(default_factory=dict)


class Household(BaseModel):
    """A household (户): ≥ 1 member with exactly one head, a 12-digit region and facts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    household_id: str | None = None
    region_code: Annotated[str, AfterValidator(_region12)] | None = None
    members: list[Member] = Field(min_length=1)
    facts: dict[str, FactValue] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_head_no_duplicates(self) -> Household:
        issues = _member_rules(
            [m.relation for m in self.members], [m.id_number for m in self.members]
        )
        if issues:
            raise ValueError("; ".join(str(i) for i in issues))
        return self


class Enterprise(BaseModel):
    """An enterprise (市场主体) identified by its unified social credit code."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    credit_code: Annotated[str, AfterValidator(parse_uscc)]
    name: Name | None = None
    region_code: Annotated[str, AfterValidator(_region6or12)] | None = None
    facts: dict[str, FactValue] = Field(default_factory=dict)


# --- checks shared by the models and the parsers -----------------------------------------


def _member_rules(relations: Sequence[str | None], ids: Sequence[str | None]) -> list[Issue]:
    """Exactly one head; no ID number twice. `None` = a member whose field already failed."""
    issues: list[Issue] = []
    heads = [f"members[{i}]" for i, r in enumerate(relations) if r == "head"]
    if len(heads) > 1:
        many = f"有 {len(heads)} 位成员的与户主关系为户主（head：{', '.join(heads)}）"
        issues.append(Issue("members", f"{many}；每户只能有一位户主"))
    elif not heads and relations and None not in relations:
        issues.append(Issue("members", "没有成员的与户主关系为户主（head）：每户须有一位户主"))
    first: dict[str, int] = {}
    for i, number in enumerate(ids):
        if number is not None and number in first:
            again = f"{mask_id(number)} 已是 members[{first[number]}]"
            issues.append(Issue(f"members[{i}].id_number", f"{again}：一人只能列一次"))
        elif number is not None:
            first[number] = i
    return issues


def _describe(value: object) -> str:
    """A value as the message shows it: its JSON kind, then the value (IDs masked)."""
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int | float | Decimal):  # an ID or an account number typed as a number
        return f"number {mask_ids_in_text(str(value))}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"string {mask_ids_in_text(shown)!r}"
    if isinstance(value, date):
        return f"date {value.isoformat()}"
    if value is None:
        return "nothing"
    if isinstance(value, Mapping):
        return "an object"
    return "a list" if isinstance(value, list | tuple) else f"a {type(value).__name__}"


def _unknown(name: str, level: FactLevel, catalogue: FactCatalogue, identity: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, identity, n=1, cutoff=0.6)
    guess = catalogue.suggest(name, level) or (close[0] if close else catalogue.suggest(name))
    if guess:
        return f"unknown fact '{name}'; did you mean '{guess}'?"
    return f"unknown fact '{name}': declare it in the fact catalogue (policies/facts.yaml)"


def _wrong_level(name: str, belongs: FactLevel, here: FactLevel) -> str:
    if belongs == "member" and here == "household":
        hint = f"put it on a member (members[i].{name})"
    elif belongs == "household" and here == "member":
        hint = "put it on the household, beside members"
    else:
        hint = f"it cannot appear in a{'n' if here == 'enterprise' else ''} {here} profile"
    return f"'{name}' is a {belongs} fact, not a {here} fact: {hint}"


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        raise _Refused(f"expected a date (YYYY-MM-DD), got a date and time {value.isoformat()}")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise _Refused(
                f"expected a date (YYYY-MM-DD), got {_describe(value)}, which is not a real date"
            ) from None
    raise _Refused(f"expected a date (YYYY-MM-DD), got {_describe(value)}")


def _as_type(fact: FactDef, value: object) -> FactValue:
    """The value converted to the fact's type, or `_Refused` saying what was expected."""
    if fact.type == "date":
        return _as_date(value)
    if fact.type == "number":
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise _Refused(f"expected number, got {_describe(value)}")
        try:
            return read_number(value)
        except NumberError as error:
            raise _Refused(str(error)) from None
    if fact.type == "bool":
        if not isinstance(value, bool):
            raise _Refused(f"expected true or false, got {_describe(value)}")
        return value
    if not isinstance(value, str):
        raise _Refused(f"expected string, got {_describe(value)}")
    if fact.values is not None and value not in fact.values:
        allowed = ", ".join(f"'{v}'" for v in fact.values)
        close = difflib.get_close_matches(value, fact.values, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise _Refused(f"expected one of {allowed}, got {_describe(value)}{hint}")
    return value


def _fact_value(
    name: str,
    value: object,
    level: FactLevel,
    catalogue: FactCatalogue,
    identity: Sequence[str],
    today: date | None = None,
) -> FactValue:
    fact = catalogue.get(name)
    if fact is None:
        raise _Refused(_unknown(name, level, catalogue, identity))
    if fact.derived:
        source = DERIVED_FROM.get(name, "other facts at the evaluation date")
        raise _Refused(f"'{name}' is derived: computed from {source}; leave it out")
    if fact.level != level:
        raise _Refused(_wrong_level(name, fact.level, level))
    typed = _as_type(fact, value)
    problem = fact.domain_problem(typed, today)
    if problem is not None:
        raise _Refused(problem)
    return typed


# --- parsing raw profiles ----------------------------------------------------------------


class _Parser:
    """Collects issues while reading one raw profile."""

    def __init__(self, catalogue: FactCatalogue, today: date | None) -> None:
        self.catalogue = catalogue
        self.today = today
        self.issues: list[Issue] = []

    def add(self, path: str, message: str) -> None:
        self.issues.append(Issue(path, message))

    def identity(
        self,
        raw: Mapping[str, Any],
        key: str,
        path: str,
        parse: Callable[[Any], str],
        *,
        required: bool = False,
    ) -> str | None:
        value = raw.get(key)
        if value is None:
            if required:
                self.add(path, f"missing: '{key}' is required")
            return None
        try:
            return parse(value)
        except (IdentifierError, _Refused) as error:
            self.add(path, str(error))
            return None

    def facts(
        self, raw: Mapping[Any, Any], identity: Sequence[str], prefix: str, level: FactLevel
    ) -> dict[str, FactValue]:
        facts: dict[str, FactValue] = {}
        for key, value in raw.items():
            if not isinstance(key, str):
                self.add(f"{prefix}{key}", f"keys must be text, got {_describe(key)}")
            elif key not in identity and value is not None:
                try:
                    facts[key] = _fact_value(
                        key, value, level, self.catalogue, identity, self.today or date.today()
                    )
                except _Refused as error:
                    self.add(f"{prefix}{key}", str(error))
        return facts

    def member(self, raw: object, index: int) -> tuple[Member | None, str | None, str | None]:
        path = f"members[{index}]"
        if not isinstance(raw, Mapping):
            self.add(path, f"expected an object with id_number and relation, got {_describe(raw)}")
            return None, None, None
        number = self.identity(raw, "id_number", f"{path}.id_number", self._ric, required=True)
        name = self.identity(raw, "name", f"{path}.name", normalise_name)
        relation = self.identity(raw, "relation", f"{path}.relation", _relation, required=True)
        facts = self.facts(raw, IDENTITY_KEYS_MEMBER, f"{path}.", "member")
        if number is None or relation is None:
            return None, number, relation
        member = Member(id_number=number, name=name, relation=cast(Relation, relation), facts=facts)
        return member, number, relation

    def members(self, raw: object) -> list[Member]:
        if not isinstance(raw, list | tuple) or not raw:
            found = "an empty list" if isinstance(raw, list | tuple) else _describe(raw)
            need = "a household needs a list of at least one member, one with relation 'head'"
            self.add("members", f"{need}; got {found}")
            return []
        parsed = [self.member(item, i) for i, item in enumerate(raw)]
        self.issues.extend(_member_rules([p[2] for p in parsed], [p[1] for p in parsed]))
        return [p[0] for p in parsed if p[0] is not None]

    def _ric(self, value: Any) -> str:
        return parse_ric(value, today=self.today).number

    def done(self, source: str) -> None:
        if self.issues:
            raise ProfileError(self.issues, source)


def _relation(value: object) -> str:
    if value not in RELATIONS:
        raise _Refused(f"expected one of {', '.join(RELATIONS)}; got {_describe(value)}")
    return str(value)


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Refused(f"expected non-empty text, got {_describe(value)}")
    return unicodedata.normalize("NFKC", value).strip()


def _root(raw: object, source: str) -> Mapping[Any, Any]:
    if not isinstance(raw, Mapping):
        raise ProfileError([Issue("$", f"expected an object, got {_describe(raw)}")], source)
    return raw


def parse_household(
    raw: Mapping[str, Any],
    catalogue: FactCatalogue,
    *,
    source: str = "household",
    today: date | None = None,
) -> Household:
    """Read a flat household profile, checking every key against the fact catalogue.

    Args:
        raw: identity keys (`household_id`, `region_code`, `members`) plus household facts;
            each member holds `id_number`, `name`, `relation` plus member facts. `None`
            values mean unknown and are dropped.
        catalogue: the declared facts.
        source: names the profile in the error (a file, a spreadsheet row).
        today: ID numbers born after this day are refused (default: the real today).

    Returns:
        The household, with normalised identifiers and typed facts.

    Raises:
        ProfileError: listing every issue found, each with its JSON path.
    """
    obj = _root(raw, source)
    parser = _Parser(catalogue, today)
    household_id = parser.identity(obj, "household_id", "household_id", _text)
    region = parser.identity(obj, "region_code", "region_code", _region12)
    members = parser.members(obj.get("members"))
    facts = parser.facts(obj, IDENTITY_KEYS_HOUSEHOLD, "", "household")
    parser.done(source)
    return Household(household_id=household_id, region_code=region, members=members, facts=facts)


def parse_enterprise(
    raw: Mapping[str, Any],
    catalogue: FactCatalogue,
    *,
    source: str = "enterprise",
    today: date | None = None,
) -> Enterprise:
    """Read a flat enterprise profile, checking every key against the fact catalogue.

    Args:
        raw: identity keys (`credit_code`, `name`, `region_code`) plus enterprise facts.
            `None` values mean unknown and are dropped.
        catalogue: the declared facts.
        source: names the profile in the error.
        today: dates whose domain ends `today` may not be after this day (default: today).

    Returns:
        The enterprise, with a normalised credit code and typed facts.

    Raises:
        ProfileError: listing every issue found, each with its JSON path.
    """
    obj = _root(raw, source)
    parser = _Parser(catalogue, today)
    code = parser.identity(obj, "credit_code", "credit_code", parse_uscc, required=True)
    name = parser.identity(obj, "name", "name", normalise_name)
    region = parser.identity(obj, "region_code", "region_code", _region6or12)
    facts = parser.facts(obj, IDENTITY_KEYS_ENTERPRISE, "", "enterprise")
    parser.done(source)
    return Enterprise(credit_code=cast(str, code), name=name, region_code=region, facts=facts)
