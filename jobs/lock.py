"""One scheduler per job store: a second one refuses to start (DELIVERY.md, APScheduler).

Two APScheduler processes on one job store both run every job, silently, and `replace_existing`
in one changes the jobs of both. So a scheduler takes a lock before it starts and holds it until
it stops: `pg_try_advisory_lock` on a connection of its own on PostgreSQL (unlocked on shutdown;
a killed process's session ends, and its lock with it), an exclusive `fcntl` lock on a file
beside the database on SQLite (released by the kernel when the process ends).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, text

from rules.errors import ZhidaError
from store.db import is_postgres

__all__ = ["LOCK_KEY", "SchedulerLock", "SchedulerRunning"]

LOCK_KEY = 0x7A68696461  # "zhida": the advisory lock key of the scheduler


class SchedulerRunning(ZhidaError):
    """Another scheduler already holds the lock of this job store."""


class SchedulerLock:
    """The singleton lock of one database's scheduler; `acquire` or raise, `release` once."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Connection | None = None
        self._file: IO[str] | None = None

    @property
    def where(self) -> str:
        """What holds the lock, for messages (never a password)."""
        if is_postgres(self.engine):
            return f"PostgreSQL 咨询锁 pg_advisory_lock({LOCK_KEY})"
        return f"锁文件 {self._path()}"

    def _path(self) -> Path:
        database = self.engine.url.database or "zhida.db"
        return Path(f"{database}.scheduler.lock")

    def acquire(self) -> None:
        """Take the lock.

        Raises:
            SchedulerRunning: another scheduler holds it.
        """
        if is_postgres(self.engine):
            conn = self.engine.connect()
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar()
            conn.commit()
            if not got:
                conn.close()
                raise SchedulerRunning(self._refusal())
            self._conn = conn
            return
        path = self._path()
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise SchedulerRunning(self._refusal()) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        """Give the lock back (idempotent)."""
        if self._conn is not None:
            # the lock belongs to the session, and a closed pooled connection's session lives on
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
            self._conn.commit()
            self._conn.close()
            self._conn = None
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def _refusal(self) -> str:
        return (
            f"另一个调度器已在运行（{self.where}）：同一个任务库只能有一个调度器，"
            "否则每个任务都会执行两次；应先停止那一个（或改用它）"
        )
