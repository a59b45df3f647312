"""The database: engines for SQLite (the default) and PostgreSQL, sessions, migrations.

SQLite is a file under the data directory (`ZHIDA_DATA_DIR`, default `./data`); PostgreSQL is
chosen by `DATABASE_URL` (`postgresql://…` or `postgresql+psycopg://…`).

`open_engine` connects once before it returns: an unsupported URL, a server that does not answer
and a file that is not a SQLite database are each one `DatabaseUnavailable` naming the setting
(`DATABASE_URL` or `ZHIDA_DATA_DIR`), what was found and what is expected, never the password.

SQLite connections run in WAL mode with a 30 s busy timeout and foreign keys on, and a write
transaction begins with `BEGIN IMMEDIATE` (RELIABILITY S1): pysqlite's own BEGIN comes only
before the first write, so two read-modify-write transactions can both read, and one update is
lost. Read sessions (`read_session`) begin deferred, so readers never wait on a writer.

A read session is one snapshot on both databases: a deferred read transaction in WAL mode sees
the database as of its first read; on PostgreSQL it runs REPEATABLE READ (and READ ONLY), where
the default READ COMMITTED would take a new snapshot per statement, so a chunk read as
households, then members, could pair one import's old household facts with its new members.

    engine = open_engine()                 # DATABASE_URL, or the SQLite file
    migrate(engine)                        # Alembic: upgrade to head
    with write_session(engine) as session: # one transaction, committed on success
        ...
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import URL, Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlmodel import Session

from rules.errors import ZhidaError

__all__ = [
    "DatabaseUnavailable",
    "data_dir",
    "database_url",
    "is_postgres",
    "migrate",
    "open_engine",
    "read_session",
    "write_session",
]

_MIGRATIONS = Path(__file__).parent / "migrations"
# How long a SQLite writer waits for the write lock. Writers queue behind BEGIN IMMEDIATE; on a
# loaded 2-core machine 8 threads of short transactions were seen to wait past 5 s (one in
# 1,600 failed), so the wait is generous: a write that would wait half a minute is a fault.
BUSY_TIMEOUT_MS = 30_000
PG_CONNECT_TIMEOUT_S = 10  # seconds a PostgreSQL connection may take to open
_READ_ONLY = "zhida_read_only"
_EXPECTED = "应为 sqlite:///文件路径 或 postgresql://用户@主机:端口/库名"


class DatabaseUnavailable(ZhidaError):
    """Raised when the database cannot be opened: an unsupported URL, a server that does not
    answer, a file that is not a SQLite database. The message never holds the password."""


def data_dir() -> Path:
    """Where the SQLite file and the secret key live (`ZHIDA_DATA_DIR`, default `./data`)."""
    return Path(os.environ.get("ZHIDA_DATA_DIR", "data"))


def database_url() -> str:
    """`DATABASE_URL`, or the SQLite file `zhida.db` in the data directory."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        return url
    return f"sqlite:///{data_dir() / 'zhida.db'}"


def _normalise(url: str) -> str:
    """`postgresql://` and `postgres://` use psycopg 3 (SQLAlchemy would look for psycopg2)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def is_postgres(engine: Engine | Connection) -> bool:
    """True on PostgreSQL, False on SQLite."""
    return engine.dialect.name == "postgresql"


def open_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for `url` (default: `database_url()`), set up for safe concurrent writes.

    Args:
        url: a SQLAlchemy URL; `postgresql://` is read as psycopg 3.
        kwargs: passed to `create_engine`.

    Returns:
        The engine; on SQLite the file's folder is created.
    """
    setting = _setting(url)
    url = _normalise(url or database_url())
    kwargs.setdefault("json_serializer", _json_text)
    kwargs.setdefault("json_deserializer", orjson.loads)
    parsed = _parse(url, setting)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        try:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseUnavailable(
                f"{setting}：无法建立数据库所在的文件夹 {Path(parsed.database).parent}"
                f"（{exc.strerror}）；应为可写的文件夹"
            ) from None
    if parsed.get_backend_name() == "postgresql" and "connect_args" not in kwargs:
        # a host that drops packets (rather than refusing) would otherwise hang the command
        kwargs["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT_S}
    try:
        engine = create_engine(url, **kwargs)
    except ArgumentError as exc:  # a driver that is not installed
        raise DatabaseUnavailable(
            f"{setting}：{_shown(parsed)} 无法使用（{exc}）；{_EXPECTED}"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        _sqlite_events(engine)
    _probe(engine, parsed, setting)
    return engine


def _setting(url: str | None) -> str:
    """The setting a message should name: who chose this database."""
    if url is not None:
        return "数据库地址 (database URL)"
    return "DATABASE_URL" if os.environ.get("DATABASE_URL", "").strip() else "ZHIDA_DATA_DIR"


def _shown(parsed: URL) -> str:
    return parsed.render_as_string(hide_password=True)


def _parse(url: str, setting: str) -> URL:
    """The URL of a supported database, or `DatabaseUnavailable` (the text is not echoed)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnavailable(
            f"{setting}：不是数据库地址 (not a database URL)；{_EXPECTED}"
        ) from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseUnavailable(
            f"{setting}：不支持的数据库 {parsed.get_backend_name()!r} "
            f"(unsupported database: {_shown(parsed)})；{_EXPECTED}"
        )
    return parsed


def _probe(engine: Engine, parsed: URL, setting: str) -> None:
    """Connect once, so that a database that cannot be used is said at once, in one line."""
    try:
        with engine.connect():
            pass
    except DBAPIError as exc:
        engine.dispose()
        said = next(iter(str(exc.orig).strip().splitlines()), type(exc.orig).__name__)
        if parsed.password:
            said = said.replace(str(parsed.password), "***")
        if parsed.get_backend_name() == "sqlite":
            raise DatabaseUnavailable(
                f"{setting}：{parsed.database} 无法作为 SQLite 数据库打开（{said}）；应为 zhida 的"
                "数据库文件，或一个尚不存在的文件（将新建）"
            ) from None
        where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"
        raise DatabaseUnavailable(
            f"{setting}：无法连接 PostgreSQL {where}（{said}）；应为正在运行、接受连接的服务器："
            "检查服务是否启动、主机与端口"
        ) from None


def _sqlite_events(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable at each WAL checkpoint
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        read_only = conn.get_execution_options().get(_READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """One write transaction: committed when the block ends, rolled back if it raises."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A read-only transaction on one snapshot (see the module docstring).

    Deferred on SQLite, so it never waits for a writer; REPEATABLE READ, READ ONLY on PostgreSQL.
    """
    if is_postgres(engine):
        bound = engine.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
    else:
        bound = engine.execution_options(**{_READ_ONLY: True})
    with Session(bound) as session, session.begin():
        yield session


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` with Alembic (the only way tables are created).

    On SQLite, foreign keys are off while a migration runs and checked before it commits (the
    procedure SQLite documents for altering tables): a table is altered by copying it, and
    dropping the original would otherwise count every row that refers to it as a violation.

    Raises:
        RuntimeError: on SQLite, a migration left rows whose foreign keys point nowhere (it is
            rolled back).
    """
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        sqlite = not is_postgres(engine)
        if sqlite:  # outside a transaction: inside one SQLite ignores this pragma
            raw.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]  # sqlite3's connection
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise RuntimeError(
                        f"migrating to {revision} left rows whose foreign keys point nowhere; "
                        "nothing was changed"
                    )
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]  # sqlite3's connection
