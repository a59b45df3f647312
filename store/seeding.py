"""Test and benchmark helpers: a database seeded with the synthetic population, and copied.

`synthetic_households` turns a generator chunk (`synth.households`) into validated-shape
`Household`s without re-validating them one by one: the generator's ID numbers, regions and
facts are valid by construction, and `parse_household` costs ≈ 150 µs a household.
`tests/store/test_sweep.py` checks that the result stores the same documents as
`parse_household`. The households are then stored by `store.ingest.profiles.upsert_households`, the
import path itself.

`copy_database` copies every table of a seeded SQLite file into a freshly migrated PostgreSQL
database with `COPY` (seeding PostgreSQL row by row is ≈ 3× slower than SQLite), then moves the
id sequences past the copied ids.

    seed_households(engine=db, chunks=generate_households(Population(households=200_000)))
    copy_database(source=sqlite_engine, target=postgres_engine)
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Engine, Integer, Table
from sqlmodel import SQLModel

import store.tables  # noqa: F401  (registers every table on the metadata)
from matcher.profiles.parse import Enterprise, Household, Member
from matcher.vector.frames import Columns, PopulationChunk
from store.db import is_postgres, write_session
from store.ingest.profiles import upsert_enterprises, upsert_households

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "copy_database",
    "seed_enterprises",
    "seed_households",
    "synthetic_enterprises",
    "synthetic_households",
]

_SOURCE = "synthetic population"


def _rows(cols: Columns) -> Iterator[dict[str, Any]]:
    """Each row's known cells as Python values (dates as `date`), unknown cells left out."""
    names = list(cols.data)
    values = [cols.data[n].tolist() for n in names]
    masks = [cols.unknown[n].tolist() if n in cols.unknown else None for n in names]
    for i in range(len(cols)):
        yield {
            n: v[i] for n, v, m in zip(names, values, masks, strict=True) if m is None or not m[i]
        }


def synthetic_households(chunk: PopulationChunk) -> list[Household]:
    """The chunk's households as profiles, as `parse_household` would read them (unchecked)."""
    members: dict[str, list[Member]] = {}
    for row in _rows(chunk.members):
        household = row.pop("household_id")
        row.pop("region_code", None)
        identity = {k: row.pop(k) for k in ("id_number", "relation")}
        member = Member.model_construct(**identity, name=row.pop("name", None), facts=row)
        members.setdefault(household, []).append(member)
    out = []
    for row in _rows(chunk.households):
        number, region = row.pop("household_id"), row.pop("region_code", None)
        out.append(
            Household.model_construct(
                household_id=number, region_code=region, members=members[number], facts=row
            )
        )
    return out


def synthetic_enterprises(cols: Columns) -> list[Enterprise]:
    """Generated enterprises (`synth.enterprises`) as profiles (unchecked)."""
    out = []
    for row in _rows(cols):
        identity = {k: row.pop(k, None) for k in ("credit_code", "name", "region_code")}
        out.append(Enterprise.model_construct(**identity, facts=row))
    return out


def seed_households(
    *, engine: Engine, chunks: Iterable[PopulationChunk], batch: int = 10_000
) -> int:
    """Store generated households through `upsert_households`, `batch` per transaction.

    Returns:
        The number of households stored.
    """
    total = 0
    for chunk in chunks:
        households = synthetic_households(chunk)
        for start in range(0, len(households), batch):
            part = [(h, _SOURCE) for h in households[start : start + batch]]
            with write_session(engine) as session:
                upsert_households(session=session, households=part)
        total += len(households)
    return total


def seed_enterprises(*, engine: Engine, cols: Columns) -> int:
    """Store generated enterprises through `upsert_enterprises`; returns how many."""
    enterprises = synthetic_enterprises(cols)
    with write_session(engine) as session:
        upsert_enterprises(session=session, enterprises=[(e, _SOURCE) for e in enterprises])
    return len(enterprises)


def copy_database(*, source: Engine, target: Engine) -> dict[str, int]:
    """Copy every table of a SQLite database into an empty, migrated PostgreSQL one.

    Values are copied as SQLite stores them (JSON and timestamps as text, in UTC), which
    PostgreSQL parses into its own column types.

    Returns:
        Rows copied per table.
    """
    if is_postgres(source) or not is_postgres(target):
        raise ValueError("copy_database copies a SQLite database into a PostgreSQL one")
    path = source.url.database
    assert path is not None
    copied: dict[str, int] = {}
    with sqlite3.connect(path) as lite, target.begin() as conn:
        # Typed as any PEP 249 connection; the target is PostgreSQL, so it is psycopg's.
        raw = cast("psycopg.Connection[Any] | None", conn.connection.dbapi_connection)
        assert raw is not None
        with raw.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")
            for table in SQLModel.metadata.sorted_tables:
                copied[table.name] = _copy_table(lite, cursor, table)
                _move_sequence(cursor, table)
    return copied


def _copy_table(lite: sqlite3.Connection, cursor: Any, table: Table) -> int:
    names = [c.name for c in table.columns]
    listed = ", ".join(f'"{n}"' for n in names)  # names come from our own metadata
    rows = lite.execute(f'SELECT {listed} FROM "{table.name}"')
    count = 0
    with cursor.copy(f'COPY "{table.name}" ({listed}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _move_sequence(cursor: Any, table: Table) -> None:
    keys = list(table.primary_key.columns)
    for column in keys:
        if len(keys) == 1 and isinstance(column.type, Integer) and column.autoincrement:
            cursor.execute(
                f'SELECT setval(pg_get_serial_sequence(%s, %s), COALESCE(MAX("{column.name}"), 0)'
                f' + 1, false) FROM "{table.name}"',
                (table.name, column.name),
            )
