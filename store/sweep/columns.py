"""Stored profiles as engine columns: DB rows of a chunk → `Columns` → `Population`.

A chunk is read by keyset (`id > :after ORDER BY id LIMIT :limit`), optionally limited to a region
prefix (a bound `LIKE 'prefix%'` parameter, escaped; callers validate it as digits), and built by
`store.sweep.chunks` (which this module re-exports): only the facts a compiled program reads become
columns. With `raw=True` the rows keep their facts as JSON text (the Spark sweep parses them on
its executors).

    only = program_facts(compile_catalogue(catalogue, on, "household"))
    for chunk in iter_households(session, on=on, region="5206", after_id=0, limit=20_000,
                                 facts=catalogue.facts, only=only):
        result = run(engine, chunk.population)      # row i is household chunk.ids[i]
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, Text, cast, select
from sqlmodel import Session

from rules.facts import FactCatalogue
from store.sweep.chunks import (
    SubjectChunk,
    SubjectKeys,
    enterprise_chunk,
    household_chunk,
    household_keys,
    program_facts,
)
from store.tables.profiles import EnterpriseRow, HouseholdRow, MemberRow

__all__ = [
    "SubjectChunk",
    "SubjectKeys",
    "enterprise_chunk",
    "enterprise_rows",
    "household_chunk",
    "household_keys",
    "household_rows",
    "iter_enterprises",
    "iter_households",
    "load_enterprises",
    "load_households",
    "program_facts",
]

_HOUSEHOLD: Table = HouseholdRow.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_MEMBER: Table = MemberRow.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_ENTERPRISE: Table = EnterpriseRow.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__


def _region_filter(column: Any, region: str | None) -> list[ColumnElement[bool]]:
    # A bound, escaped LIKE parameter: the prefix is never part of the SQL text.
    return [] if not region else [column.startswith(region, autoescape=True)]


def _facts(table: Table, raw: bool) -> Any:
    """The facts column: parsed JSON, or (`raw`) its text, parsed later where it is evaluated."""
    return cast(table.c.facts, Text).label("facts") if raw else table.c.facts


def _keyset(
    table: Table,
    after_id: int,
    limit: int,
    region: str | None,
    ids: Collection[int] | None,
    raw: bool = False,
) -> Select[Any]:
    c = table.c
    query = select(c.id, c.region_code, c.profile_hash, _facts(table, raw))
    query = query.where(c.id > after_id, *_region_filter(c.region_code, region))
    if ids is not None:
        query = query.where(c.id.in_(sorted(ids)))
    return query.order_by(c.id).limit(limit)


def _members(
    session: Session,
    first: int,
    last: int,
    region: str | None,
    ids: Collection[int] | None,
    raw: bool = False,
) -> list[Any]:
    """Members of the households with ids in [first, last] (and in the region), in order."""
    m, h = _MEMBER.c, _HOUSEHOLD.c
    query = select(m.household_id, m.id_number, m.relation, _facts(_MEMBER, raw))
    query = query.where(m.household_id >= first, m.household_id <= last)
    if ids is not None:
        query = query.where(m.household_id.in_(sorted(ids)))
    if region:
        query = query.join(_HOUSEHOLD, h.id == m.household_id).where(
            *_region_filter(h.region_code, region)
        )
    # Core on the session's connection: the ORM's row processing would double the read time.
    return list(session.connection().execute(query.order_by(m.household_id, m.position)))


def household_rows(
    session: Session,
    *,
    region: str | None,
    after_id: int,
    limit: int,
    ids: Collection[int] | None = None,
    raw: bool = False,
) -> tuple[list[Any], list[Any]]:
    """The next `limit` stored household rows after `after_id` and their members' rows, in order.

    With `raw` the facts are JSON text (the Spark sweep ships them to where they are evaluated);
    otherwise parsed. Both lists are empty at the end.
    """
    read = list(
        session.connection().execute(_keyset(_HOUSEHOLD, after_id, limit, region, ids, raw))
    )
    if not read:
        return [], []
    return read, _members(session, read[0].id, read[-1].id, region, ids, raw)


def load_households(
    session: Session,
    *,
    on: date,
    region: str | None,
    after_id: int,
    limit: int,
    facts: FactCatalogue,
    only: Collection[str] | None = None,
    ids: Collection[int] | None = None,
) -> SubjectChunk | None:
    """The next `limit` stored households after `after_id` as engine columns, or None at the end.

    Args:
        session: a (read) session.
        on: the evaluation date of the derived facts.
        region: a validated region prefix (digits), or None for every region.
        after_id: the keyset position (0 to start).
        limit: households per chunk.
        facts: the fact catalogue.
        only: the facts to build (`program_facts`); None: every fact.
        ids: only these households (the live event path re-evaluates a few); None: every one.

    Raises:
        ValueError: a stored fact of the wrong type.
    """
    read, members = household_rows(session, region=region, after_id=after_id, limit=limit, ids=ids)
    if not read:
        return None
    return household_chunk(read, members, on=on, facts=facts, only=only)


def enterprise_rows(
    session: Session,
    *,
    region: str | None,
    after_id: int,
    limit: int,
    ids: Collection[int] | None = None,
    raw: bool = False,
) -> list[Any]:
    """The next `limit` stored enterprise rows after `after_id` (as `household_rows`)."""
    query = _keyset(_ENTERPRISE, after_id, limit, region, ids, raw)
    return list(session.connection().execute(query))


def load_enterprises(
    session: Session,
    *,
    on: date,
    region: str | None,
    after_id: int,
    limit: int,
    facts: FactCatalogue,
    only: Collection[str] | None = None,
    ids: Collection[int] | None = None,
) -> SubjectChunk | None:
    """The next `limit` stored enterprises after `after_id` as engine columns (as households)."""
    rows = enterprise_rows(session, region=region, after_id=after_id, limit=limit, ids=ids)
    if not rows:
        return None
    return enterprise_chunk(rows, on=on, facts=facts, only=only)


def iter_households(
    session: Session,
    *,
    on: date,
    region: str | None,
    after_id: int,
    limit: int,
    facts: FactCatalogue,
    only: Collection[str] | None = None,
) -> Iterator[SubjectChunk]:
    """Every stored household after `after_id`, `limit` at a time (see `load_households`).

    The chunks are read in the caller's session: on SQLite a long read transaction holds the WAL
    back, so a writer between chunks (the sweep) reads each chunk in a session of its own.
    """
    while (
        chunk := load_households(
            session, on=on, region=region, after_id=after_id, limit=limit, facts=facts, only=only
        )
    ) is not None:
        yield chunk
        after_id = chunk.last_id


def iter_enterprises(
    session: Session,
    *,
    on: date,
    region: str | None,
    after_id: int,
    limit: int,
    facts: FactCatalogue,
    only: Collection[str] | None = None,
) -> Iterator[SubjectChunk]:
    """Every stored enterprise after `after_id`, `limit` at a time (see `load_enterprises`)."""
    while (
        chunk := load_enterprises(
            session, on=on, region=region, after_id=after_id, limit=limit, facts=facts, only=only
        )
    ) is not None:
        yield chunk
        after_id = chunk.last_id
