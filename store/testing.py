"""Test helpers shipped with the store: a throwaway PostgreSQL server, fresh databases.

`make test` runs the store tests on SQLite always and on PostgreSQL when a server can be had:
`ZHIDA_TEST_POSTGRES_URL` (an existing server, a database we may create databases from), or a
cluster started here with `initdb`/`pg_ctl` (on PATH, or Debian's /usr/lib/postgresql/*/bin) in
a temporary folder, listening on loopback only. Started as root, the server runs as the
`postgres` user (PostgreSQL refuses to run as root). `.ci/run` installs Debian's postgresql and
sets `ZHIDA_REQUIRE_POSTGRES=1`, so CI fails rather than silently testing SQLite alone.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from store.db import migrate, open_engine

__all__ = ["PostgresServer", "find_pg_bin", "fresh_postgres", "fresh_sqlite"]


def find_pg_bin() -> Path | None:
    """The folder holding `pg_ctl` and `initdb`, or None when PostgreSQL is not installed."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(os.path.realpath(found)).parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True):
        return Path(candidate).parent
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    """A PostgreSQL cluster in a temporary folder, for one test session."""

    bin_dir: Path
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="zhida-pg-")))
    port: int = field(default_factory=_free_port)

    @property
    def url(self) -> str:
        """The maintenance database's URL (user `postgres`, trust auth on loopback)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:  # PostgreSQL will not run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> PostgresServer:
        """initdb, then start the server on loopback; returns self once it accepts connections."""
        data = self.root / "data"
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        self._run("initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8")
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off"
        log = self.root / "server.log"
        self._run("pg_ctl", "-D", str(data), "-l", str(log), "-o", options, "-w", "start")
        return self

    def stop(self) -> None:
        """Stop the server and delete its folder — in a process of its own that nobody waits
        for: a test session leaves gigabytes of databases there (one per test), and deleting
        them took up to 17 s at the end of each pytest worker."""
        try:
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "stop")
        finally:
            gone = self.root.with_name(self.root.name + "-deleting")
            try:
                self.root.rename(gone)
                subprocess.Popen(
                    ["rm", "-rf", "--", str(gone)], start_new_session=True,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
            except OSError:
                shutil.rmtree(self.root, ignore_errors=True)


_TEMPLATE = "zhida_template"


def fresh_postgres(server_url: str, name: str) -> str:
    """A new, migrated database `name` on the server (copied from a migrated template).

    Args:
        server_url: a URL of the server's maintenance database.
        name: the new database's name (letters, digits, underscores).

    Returns:
        The new database's URL.
    """
    if not name.replace("_", "").isalnum():
        raise ValueError(f"database name {name!r}: letters, digits and underscores only")
    admin = open_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": _TEMPLATE}
            ).first()
            if exists is None:
                # sql-safe: a database name cannot be a bound parameter; _TEMPLATE is a constant
                conn.exec_driver_sql(f'CREATE DATABASE "{_TEMPLATE}"')
                template = open_engine(_with_database(server_url, _TEMPLATE))
                migrate(template)
                template.dispose()
            # sql-safe: `name` was checked above (letters, digits and underscores only)
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
            _create_from_template(conn, name)
    finally:
        admin.dispose()
    return _with_database(server_url, name)


def _create_from_template(conn: Connection, name: str) -> None:
    # Another session may still be leaving the template: retry briefly.
    for attempt in range(50):
        try:
            # sql-safe: `name` was checked by fresh_postgres (letters, digits, underscores)
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{_TEMPLATE}"')
            return
        except Exception:
            if attempt == 49:
                raise
            time.sleep(0.1)


def _with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


def fresh_sqlite(path: Path, template: Path | None = None) -> Engine:
    """A migrated SQLite database at `path` (a copy of `template` when given, else migrated)."""
    if template is not None and template.exists():
        shutil.copyfile(template, path)
        return open_engine(f"sqlite:///{path}")
    engine = open_engine(f"sqlite:///{path}")
    migrate(engine)
    return engine
