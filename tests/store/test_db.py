"""The database itself: migrations, connection settings, the audit log's guards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel

import store.tables  # noqa: F401  (registers the tables)
from matcher.profiles.parse import parse_household
from rules.catalogue import load_catalogue
from store.audit.log import AuditEntry, append
from store.db import (
    BUSY_TIMEOUT_MS,
    PG_CONNECT_TIMEOUT_S,
    is_postgres,
    read_session,
    write_session,
)
from store.ingest.profiles import upsert_households
from store.tables.profiles import HouseholdRow, MemberRow
from store.testing import fresh_sqlite
from synth.identifiers import make_ric

ROOT = Path(__file__).parents[2] / "policies"


def test_migrations_create_exactly_the_tables_the_models_declare(engine: Engine) -> None:
    """Alembic's head schema and the SQLModel tables agree (no table or column left out)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    """Every SQLite connection is in WAL mode with a busy timeout and foreign keys enforced."""
    engine = fresh_sqlite(tmp_path / "z.db")
    with read_session(engine) as session:
        pragma = lambda name: session.execute(text(f"PRAGMA {name}")).scalar()  # noqa: E731
        assert (pragma("journal_mode"), pragma("busy_timeout"), pragma("foreign_keys")) == (
            "wal",
            BUSY_TIMEOUT_MS,
            1,
        )


@pytest.mark.parametrize("statement", ["UPDATE audit SET actor = 'x'", "DELETE FROM audit"])
def test_the_audit_log_refuses_update_and_delete(engine: Engine, statement: str) -> None:
    """A trigger refuses UPDATE and DELETE on the audit table, and the record stays as it was."""
    with write_session(engine) as session:
        append(session=session, entry=AuditEntry(actor="tester", action="test"))
    with pytest.raises(Exception, match="append-only"), write_session(engine) as session:
        session.execute(text(statement))
    with read_session(engine) as session:
        assert session.execute(text("SELECT actor FROM audit")).scalars().all() == ["tester"]


def _household(members: int, dibao: str) -> Any:
    raw = {
        "household_id": "H1", "region_code": "520602100201", "dibao_status": dibao,
        "members": [
            {"id_number": make_ric(seq=2 * i + 1), "relation": "head" if i == 0 else "child"}
            for i in range(members)
        ],
    }  # fmt: skip
    return (parse_household(raw, load_catalogue(ROOT).facts), "test")


def test_a_read_session_is_one_snapshot_while_an_import_commits(engine: Engine) -> None:
    """A read session that read a household before an import committed sees neither the new
    household facts nor the new members (REPEATABLE READ on PostgreSQL), and writes nothing."""
    with write_session(engine) as session:
        upsert_households(session=session, households=[_household(1, "none")])
    with read_session(engine) as reader:
        facts = reader.execute(select(HouseholdRow.facts)).scalar_one()
        with write_session(engine) as writer:  # the import, committed meanwhile
            upsert_households(session=writer, households=[_household(3, "active")])
        members = reader.execute(select(func.count()).select_from(MemberRow)).scalar_one()
        assert (members, reader.execute(select(HouseholdRow.facts)).scalar_one()) == (1, facts)
        if is_postgres(engine):  # READ ONLY as well: a read session cannot write by mistake
            with pytest.raises(DBAPIError, match="read-only transaction"):
                reader.execute(text("UPDATE household SET region_code = NULL"))
    with read_session(engine) as later:
        assert later.execute(select(func.count()).select_from(MemberRow)).scalar_one() == 3
        assert later.execute(select(HouseholdRow.facts)).scalar_one()["dibao_status"] == "active"


def test_no_connection_waits_forever(engine: Engine) -> None:
    """A SQLite writer waits at most BUSY_TIMEOUT_MS for the lock; a PostgreSQL connection
    gives up opening after PG_CONNECT_TIMEOUT_S (a host that drops packets would hang)."""
    with engine.connect() as conn:
        if is_postgres(engine):
            raw = conn.connection.dbapi_connection
            assert raw is not None
            params = raw.info.get_parameters()
            assert params["connect_timeout"] == str(PG_CONNECT_TIMEOUT_S)
        else:
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == BUSY_TIMEOUT_MS
