"""A village's roster: every household of a scope with what it holds on a day, the facts still
missing and the materials still to collect — filtered and paged in SQL (the village console).

    with read_session(engine) as s:
        page = household_roster(session=s, scope=scope, on=date(2025, 3, 1),
                                policy="household.dibao.allowance", lacking="facts",
                                text="王", limit=20, offset=0)

Filters (each optional; all in SQL, inside `scope.households_clause`):

- `policy`: households holding an interval of that policy on `on` that is not ineligible;
- `lacking`: `facts` (缺信息) — an interval on `on`, not ineligible, still listing missing facts;
  `materials` (缺材料) — a claim still at the village (`AT_VILLAGE`: prepared, confirmed,
  returned) asking the household for a material (`materials[].status == "asked"`); `any` —
  either. A material is asked while its claim is at the village: once the village has accepted
  it, the material was collected;
- `text`: the 户编号 or a member's name contains it (matched literally, `%` is no wildcard).

Each household comes with its intervals on `on` that are not ineligible, by policy (the shape
of `store.sweep.history.entitlements_on`), its head's name, its member count, and the materials
its claims at the village still ask, each with the claims asking it. JSON arrays are read with
`json_each` / `json_array_length` on SQLite and `jsonb_array_elements` / `jsonb_array_length`
on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, exists, func, literal, or_, select, true
from sqlmodel import Session

from store.scope import Scope
from store.tables.catalogue import CatalogueVersion
from store.tables.claims import Claim
from store.tables.entitlements import Entitlement, EntitlementPublic
from store.tables.profiles import HouseholdRow, MemberRow

__all__ = ["AT_VILLAGE", "LACKING", "Roster", "RosterHousehold", "household_roster"]

_H: Table = HouseholdRow.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_M: Table = MemberRow.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_E: Table = Entitlement.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_C: Table = Claim.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_V: Table = CatalogueVersion.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__

AT_VILLAGE = ("prepared", "confirmed", "returned")  # claim states the village still acts from
LACKING = ("facts", "materials", "any")


@dataclass(frozen=True)
class RosterHousehold:
    """One household of the roster (module docstring)."""

    household_no: str
    region_code: str | None
    head: str | None  # the head's name (the first member's when no one is the head)
    members: int
    held: list[EntitlementPublic] = field(default_factory=list)
    asked: list[dict[str, Any]] = field(default_factory=list)  # {name, claims: [{id, title}]}


@dataclass(frozen=True)
class Roster:
    """One page of the roster and how many households the filters leave in all."""

    items: list[RosterHousehold]
    total: int
    limit: int
    offset: int


def _on(on: date) -> ColumnElement[bool]:
    e = _E.c
    return and_(
        e.subject_kind == "household", e.subject_id == _H.c.id, e.status != "ineligible",
        e.valid_from <= on, or_(e.valid_to.is_(None), e.valid_to > on),
    )  # fmt: skip


def _length(dialect: str, column: Any) -> Any:
    name = "jsonb_array_length" if dialect == "postgresql" else "json_array_length"
    return getattr(func, name)(column)


def _asked_materials(dialect: str) -> tuple[Any, Any]:
    """A claim's materials as rows, and the status of one row (dialect-specific)."""
    if dialect == "postgresql":
        rows = func.jsonb_array_elements(_C.c.materials).table_valued("value").alias("mat")
        return rows, rows.c.value.op("->>")("status")
    rows = func.json_each(_C.c.materials).table_valued("value").alias("mat")
    return rows, func.json_extract(rows.c.value, "$.status")


def _lacks_facts(dialect: str, on: date) -> ColumnElement[bool]:
    return exists(select(literal(1)).where(_on(on), _length(dialect, _E.c.missing) > 0))


def _lacks_materials(dialect: str) -> ColumnElement[bool]:
    c = _C.c
    mat, status = _asked_materials(dialect)
    return exists(
        select(literal(1))
        .select_from(_C.join(mat, true()))
        .where(c.subject_kind == "household", c.subject_id == _H.c.id,
               c.state.in_(AT_VILLAGE), status == "asked")
    )  # fmt: skip


def _named(text: str) -> ColumnElement[bool]:
    m = _M.c
    return or_(
        _H.c.household_no.contains(text, autoescape=True),
        exists().where(m.household_id == _H.c.id, m.name.contains(text, autoescape=True)),
    )


def _where(
    session: Session, scope: Scope, on: date, policy: str | None, lacking: str | None,
    text: str | None,
) -> list[ColumnElement[bool]]:  # fmt: skip
    dialect = session.get_bind().dialect.name
    where = [scope.households_clause(_H.c.region_code)]
    if policy:
        where.append(exists(select(literal(1)).where(_on(on), _E.c.policy_id == policy)))
    if lacking == "facts":
        where.append(_lacks_facts(dialect, on))
    elif lacking == "materials":
        where.append(_lacks_materials(dialect))
    elif lacking == "any":
        where.append(or_(_lacks_facts(dialect, on), _lacks_materials(dialect)))
    if text:
        where.append(_named(text))
    return where


def household_roster(
    *,
    session: Session,
    scope: Scope,
    on: date,
    policy: str | None = None,
    lacking: str | None = None,
    text: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> Roster:
    """The households `scope` may read that pass the filters, by 户编号, with what each holds.

    Args:
        session: a read session.
        scope: the caller's scope.
        on: the day the entitlements are read on.
        policy: only households holding this policy on `on` (not ineligible).
        lacking: "facts", "materials" or "any" (module docstring); None: no such filter.
        text: only households whose 户编号 or a member's name contains it.
        limit: at most this many.
        offset: skip this many first.

    Raises:
        ValueError: `lacking` is none of `LACKING`.
    """
    if lacking is not None and lacking not in LACKING:
        raise ValueError(f"lacking={lacking!r}: expected one of {LACKING}")
    where = _where(session, scope, on, policy, lacking, text)
    h = _H.c
    total = session.connection().execute(select(func.count()).select_from(_H).where(*where))
    rows = session.connection().execute(
        select(h.id, h.household_no, h.region_code).where(*where)
        .order_by(h.household_no).limit(limit).offset(offset)
    ).all()  # fmt: skip
    ids = [r.id for r in rows]
    people, held, asked = _members(session, ids), _held(session, ids, on), _asked(session, ids)
    items = [
        RosterHousehold(r.household_no, r.region_code, _head(people.get(r.id, [])),
                        len(people.get(r.id, [])), held.get(r.id, []), asked.get(r.id, []))
        for r in rows
    ]  # fmt: skip
    return Roster(items, int(total.scalar_one()), limit, offset)


def _members(session: Session, ids: Sequence[int]) -> dict[int, list[Any]]:
    m = _M.c
    out: dict[int, list[Any]] = {}
    if ids:
        query = select(m.household_id, m.name, m.relation).where(m.household_id.in_(ids))
        for r in session.connection().execute(query.order_by(m.household_id, m.position)):
            out.setdefault(r.household_id, []).append(r)
    return out


def _head(members: Sequence[Any]) -> str | None:
    head = next((m for m in members if m.relation == "head"), members[0] if members else None)
    return None if head is None else head.name


def _held(session: Session, ids: Sequence[int], on: date) -> dict[int, list[EntitlementPublic]]:
    e, v = _E.c, _V.c
    out: dict[int, list[EntitlementPublic]] = {}
    if ids:
        query = (
            select(*_E.c, v.content_hash.label("catalogue_hash"))
            .join(_V, v.id == e.catalogue_version_id)
            .where(e.subject_kind == "household", e.subject_id.in_(ids), e.status != "ineligible",
                   e.valid_from <= on, or_(e.valid_to.is_(None), e.valid_to > on))
            .order_by(e.subject_id, e.policy_id, e.valid_from, e.id)
        )  # fmt: skip
        for r in session.connection().execute(query):
            row = EntitlementPublic.model_validate(dict(r._mapping))
            out.setdefault(row.subject_id, []).append(row)
    return out


def _asked(session: Session, ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """The materials each household's claims at the village ask, merged by name."""
    c = _C.c
    out: dict[int, list[dict[str, Any]]] = {}
    if ids:
        query = (
            select(c.id, c.subject_id, c.title, c.materials)
            .where(c.subject_kind == "household", c.subject_id.in_(ids), c.state.in_(AT_VILLAGE))
            .order_by(c.subject_id, c.id)
        )
        for r in session.connection().execute(query):
            merged: dict[str, dict[str, Any]] = {m["name"]: m for m in out.get(r.subject_id, [])}
            for material in r.materials or []:
                if material.get("status") != "asked":
                    continue
                entry = merged.setdefault(material["name"], {"name": material["name"],
                                                             "claims": []})  # fmt: skip
                entry["claims"].append({"id": r.id, "title": r.title})
            out[r.subject_id] = list(merged.values())
    return out
