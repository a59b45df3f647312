"""Changing a household or enterprise on behalf of a caller, through the live event path.

    outcome = put_subject(engine, scope=scope, kind="household", key="5206…0001", raw=profile,
                          on=date(2025, 3, 10), events=EventArgs(catalogue, root, reactions,
                          actor="cun01", source="PUT /api/households/5206…0001"))

Both writes run in ONE transaction with the scope check (`store.events.apply.setup_in`, then
`profile_in` / `change_in`): a subject stored outside the caller's scope is not found (None);
a profile whose region is outside it is refused at `region_code`; a member now registered in a
household outside it is refused at `members[N].id_number` (storing the profile would move that
person out of a household the caller may not change). Every refusal is a `ProfileError` whose
issues name JSON paths, or a `ProfileChangeError` from the event path; nothing is written.

`read_patch` reads the JSON values of a `PATCH` as `zhida profile set` reads its texts
(`store.events.values.read_value`): a JSON string is read as the CLI's text (`"在册"`,
`"1,200.50"`), a number or boolean as itself, `null` removes the fact.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from matcher.events.reactions import Reactions
from matcher.profiles.errors import Issue, ProfileError
from matcher.profiles.parse import Enterprise, Household, parse_enterprise, parse_household
from rules.catalogue import Catalogue
from rules.facts import FactCatalogue, FactValue
from store.db import read_session, write_session
from store.events.apply import change_in, profile_in, refuse_the_future, setup_in
from store.events.changes import stored_document
from store.events.outcome import Outcome
from store.events.values import ValueTextError, read_value, unknown_fact
from store.scope import Scope
from store.subjects.reads import find_subject
from store.tables.profiles import EnterpriseRow, HouseholdRow, MemberRow

__all__ = ["EventArgs", "outside_holders", "patch_subject", "put_subject", "read_patch"]

JsonValue = str | int | float | bool | None


@dataclass(frozen=True)
class EventArgs:
    """What a write hands to the event path: the catalogue served, who, from where."""

    catalogue: Catalogue
    root: Path
    reactions: Reactions
    actor: str
    source: str


def _covers(scope: Scope, region: str | None) -> bool:
    return bool(scope.region) and region is not None and region.startswith(scope.region)


def _parse(kind: str, key: str, raw: Mapping[str, Any], facts: FactCatalogue, on: date) -> Any:
    name = "household_id" if kind == "household" else "credit_code"
    given = raw.get(name, key)
    if given != key:
        found = repr(given)[:40]
        issue = Issue(name, f"{found} 与地址中的 {key!r} 不同：应相同，或省略")
        raise ProfileError([issue], f"{'户' if kind == 'household' else '企业'} {key}")
    body = {**raw, name: key}
    if kind == "household":
        return parse_household(body, facts, source=f"户 {key}", today=on)
    return parse_enterprise(body, facts, source=f"企业 {key}", today=on)


def outside_holders(session: Session, scope: Scope, household: Household) -> list[Issue]:
    """An issue at `members[N].id_number` for each member now registered in another
    household outside `scope` (storing `household` would move them out of it)."""
    numbers = {m.id_number: i for i, m in enumerate(household.members)}
    rows = session.execute(
        select(col(MemberRow.id_number), col(HouseholdRow.region_code))
        .join(HouseholdRow, col(HouseholdRow.id) == col(MemberRow.household_id))
        .where(col(MemberRow.id_number).in_(list(numbers)))
        .where(col(HouseholdRow.household_no) != household.household_id)
    ).all()
    return [
        Issue(f"members[{numbers[number]}].id_number",
              "此人登记在您辖区以外的户中：不能由您迁入本户，请由其所在地办理迁出")
        for number, region in rows if not _covers(scope, region)
    ]  # fmt: skip


def _stored_region(session: Session, kind: str, key: str) -> tuple[bool, str | None]:
    t = HouseholdRow if kind == "household" else EnterpriseRow
    key_column = (
        col(HouseholdRow.household_no) if kind == "household" else col(EnterpriseRow.credit_code)
    )
    row = session.execute(select(col(t.region_code)).where(key_column == key)).first()
    return (row is not None, None if row is None else row[0])


def _refuse_outside(session: Session, scope: Scope, profile: Household | Enterprise) -> None:
    issues = []
    if not _covers(scope, profile.region_code):
        issues.append(Issue("region_code", f"{profile.region_code!r} 不在您的辖区"
                            f"（{scope.region}）：应为您辖区内的区划代码"))  # fmt: skip
    if isinstance(profile, Household):
        issues += outside_holders(session, scope, profile)
    if issues:
        raise ProfileError(issues, "档案")


def put_subject(
    engine: Engine,
    *,
    scope: Scope,
    kind: str,
    key: str,
    raw: Mapping[str, Any],
    on: date,
    events: EventArgs,
) -> Outcome | None:
    """Store a whole profile (new or replacing the stored one) through the event path.

    Args:
        engine: the database.
        scope: the caller's scope (a writer of this kind of subject).
        kind: "household" or "enterprise".
        key: the 户编号 or credit code (the body's, if it names one, must be the same).
        raw: the profile as `zhida match` reads it.
        on: the date of the change.
        events: the catalogue and who writes.

    Returns:
        What was recorded, or None when `key` is stored outside `scope`.

    Raises:
        ProfileError: the profile is invalid, or its region or a member is outside `scope`.
        ProfileChangeError: `on` is after today.
    """
    if _stored_elsewhere(engine, scope, kind, key):
        return None  # before the body is read: outside the scope, existence is not revealed
    refuse_the_future(on, "on")
    profile = _parse(kind, key, raw, events.catalogue.facts, on)
    with write_session(engine) as session:
        setup = setup_in(session, catalogue=events.catalogue, root=events.root,
                         reactions=events.reactions, on=on, actor=events.actor,
                         source=events.source)  # fmt: skip
        stored, region = _stored_region(session, kind, key)
        if stored and find_subject(session=session, scope=scope, kind=kind, key=key) is None:
            return None
        _refuse_outside(session, scope, profile)
        return profile_in(session, setup=setup, profile=profile)


def _stored_elsewhere(engine: Engine, scope: Scope, kind: str, key: str) -> bool:
    """Whether the subject is stored, outside `scope` (checked again in the write)."""
    with read_session(engine) as session:
        stored, _ = _stored_region(session, kind, key)
        return stored and find_subject(session=session, scope=scope, kind=kind, key=key) is None


def _typed(name: str, value: JsonValue, facts: FactCatalogue) -> FactValue | None:
    fact = facts.get(name)
    assert fact is not None
    if value is None:
        return None
    if isinstance(value, bool):
        if fact.type == "bool":
            return value
        raise ValueTextError(f"{name}={value!r}：是真假值，而 {name} 的类型是 {fact.type}")
    return read_value(fact, value if isinstance(value, str) else str(value))


def read_patch(
    values: Mapping[str, JsonValue], facts: FactCatalogue, *, level: str
) -> dict[str, FactValue | None]:
    """The typed facts of a PATCH body's `facts` (None: remove), for a `level` profile.

    Raises:
        ProfileError: every fact that cannot be set, each at `facts.<name>`.
    """
    if not values:
        raise ProfileError([Issue("facts", "没有要设置的事实：应为 {事实: 值, …}")], "请求")
    out: dict[str, FactValue | None] = {}
    issues = []
    for name, value in values.items():
        problem = unknown_fact(name, facts, level)  # type: ignore[arg-type]  # a FactLevel
        try:
            if problem is not None:
                raise ValueTextError(problem)
            out[name] = _typed(name, value, facts)
        except ValueTextError as exc:
            issues.append(Issue(f"facts.{name}"[:80], str(exc)))
    if issues:
        raise ProfileError(issues, "请求")
    return out


def patch_subject(
    engine: Engine,
    *,
    scope: Scope,
    kind: str,
    key: str,
    values: Mapping[str, JsonValue],
    member: int | None,
    on: date,
    events: EventArgs,
) -> Outcome | None:
    """Set or remove some facts of a stored subject (of its member at position `member`)
    through the event path, as `zhida profile set` does.

    Returns:
        What was recorded (empty when nothing changed), or None outside `scope`.

    Raises:
        ProfileError: a fact or value that cannot be set (at `facts.<name>`), or no member at
            that position (at `member`).
        ProfileChangeError: the changed profile is invalid, or `on` is after today.
    """
    with read_session(engine) as session:  # before the body is read: outside, a 404 only
        if find_subject(session=session, scope=scope, kind=kind, key=key) is None:
            return None
    refuse_the_future(on, "on")
    level = "member" if member is not None else kind
    if member is not None and kind != "household":
        raise ProfileError([Issue("member", "企业没有成员：应省略 member")], "请求")
    facts = read_patch(values, events.catalogue.facts, level=level)
    with write_session(engine) as session:
        setup = setup_in(session, catalogue=events.catalogue, root=events.root,
                         reactions=events.reactions, on=on, actor=events.actor,
                         source=events.source)  # fmt: skip
        if find_subject(session=session, scope=scope, kind=kind, key=key) is None:
            return None
        number = None
        if member is not None:
            found = stored_document(session, kind, key)
            assert found is not None
            people = found[1]["members"]
            if member >= len(people):
                raise ProfileError([Issue("member", f"第 {member} 位成员不存在：该户有 "
                                          f"{len(people)} 位成员，应为 0–{len(people) - 1}")],
                                   "请求")  # fmt: skip
            number = people[member]["id_number"]
        return change_in(session, setup=setup, kind=kind, key=key, facts=facts, member=number)
