"""Shared fixtures: a migrated database per test, on SQLite and (when available) PostgreSQL.

A test that takes `engine` (or `database_url`) runs once per database: `sqlite` always,
`postgresql` when a server could be started (store.testing). With `ZHIDA_REQUIRE_POSTGRES=1`
(set by `.ci/run`) a missing PostgreSQL is an error, not a silent SQLite-only run.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from store.db import open_engine
from store.testing import PostgresServer, find_pg_bin, fresh_postgres, fresh_sqlite

_counter = itertools.count()


def _postgres_wanted() -> bool:
    return bool(os.environ.get("ZHIDA_TEST_POSTGRES_URL")) or find_pg_bin() is not None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that asks for a database on each database we have."""
    if "database_url" not in metafunc.fixturenames:
        return
    kinds = ["sqlite"]
    if _postgres_wanted() or os.environ.get("ZHIDA_REQUIRE_POSTGRES") == "1":
        kinds.append("postgresql")
    metafunc.parametrize("database_kind", kinds, scope="function")


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """The URL of a PostgreSQL server for this session (started here unless given)."""
    given = os.environ.get("ZHIDA_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise RuntimeError(
            "ZHIDA_REQUIRE_POSTGRES=1 but PostgreSQL is not installed "
            "(apt-get install postgresql, or set ZHIDA_TEST_POSTGRES_URL)"
        )
    server = PostgresServer(bin_dir).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies (migrating once per session)."""
    path = tmp_path_factory.mktemp("template") / "zhida.db"
    fresh_sqlite(path).dispose()  # closing the last connection checkpoints the WAL into the file
    return path


@pytest.fixture
def database_url(
    database_kind: str, request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> str:
    """The URL of a fresh, migrated database of kind `database_kind`."""
    if database_kind == "sqlite":
        fresh_sqlite(tmp_path / "zhida.db", sqlite_template).dispose()
        return f"sqlite:///{tmp_path / 'zhida.db'}"
    server = request.getfixturevalue("postgres_server_url")
    return fresh_postgres(server, f"t{os.getpid()}_{next(_counter)}")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on a fresh, migrated database (SQLite, and PostgreSQL when available)."""
    engine = open_engine(database_url)
    try:
        yield engine
    finally:
        engine.dispose()
