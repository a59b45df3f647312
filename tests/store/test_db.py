"""The database itself: migrations, connection settings, the audit log's guards."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlmodel import SQLModel

import store.models  # noqa: F401  (registers the tables)
from store.audit import AuditEntry, append
from store.db import read_session, write_session
from store.testing import fresh_sqlite


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
            5000,
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
