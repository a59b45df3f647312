"""Concurrent writers neither fail nor lose updates (RELIABILITY S1).

The workload is a read-modify-write twice over: append an audit record (read the head, write
head + 1) and increment a counter kept in `import_run.counts`. Through `write_session` (BEGIN
IMMEDIATE on SQLite, the audit table lock on PostgreSQL, taken first) every transaction
counts. The same workload on a plain `sqlite3` connection, whose BEGIN comes only before the
first write, loses updates or fails: the trap the fix is for, measured, not mocked.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update

from store.audit.log import AuditEntry, append, verify
from store.db import open_engine, read_session, write_session
from store.tables.audit import AuditRecord
from store.tables.runs import ImportRun
from store.testing import fresh_sqlite

THREADS, PROCESSES, TIMES = 8, 4, 200
TOTAL = THREADS * TIMES  # 1,600, and 4 processes × 400 as well


def _counter(engine: Engine) -> int:
    """A fresh import_run row whose `counts["n"]` is the counter; returns its id."""
    with write_session(engine) as session:
        run = ImportRun(kind="households", file_name="counter", file_sha256="0" * 64)
        run.counts = {"n": 0}
        session.add(run)
        session.flush()
        assert run.id is not None
        return run.id


def _increment(engine: Engine, run_id: int, actor: str, times: int) -> list[str]:
    """`times` read-modify-write transactions; returns the errors met (none expected)."""
    errors = []
    for i in range(times):
        try:
            with write_session(engine) as session:
                entry = AuditEntry(actor=actor, action="count", subject=f"tick:{i}")
                append(session=session, entry=entry)
                where = ImportRun.id == run_id
                counts = session.execute(select(ImportRun.counts).where(where)).scalar_one()
                n = counts["n"] + 1
                session.execute(update(ImportRun).where(where).values(counts={"n": n}))
        except Exception as exc:  # counted, not retried: an error here is a failure of S1
            errors.append(f"{type(exc).__name__}: {exc}")
    return errors


def _process(url: str, run_id: int, actor: str, times: int) -> list[str]:
    """One worker process with its own engine on the shared file."""
    engine = open_engine(url)
    try:
        return _increment(engine, run_id, actor, times)
    finally:
        engine.dispose()


def _outcome(engine: Engine, run_id: int) -> tuple[int, int, bool]:
    """The counter, the audit records, and whether the chain verifies."""
    with read_session(engine) as session:
        where = ImportRun.id == run_id
        n = session.execute(select(ImportRun.counts).where(where)).scalar_one()["n"]
        records = session.execute(select(func.count()).select_from(AuditRecord)).scalar_one()
        return n, records, verify(session=session).ok


def _in_threads(work: Callable[[str], list[str]]) -> list[str]:
    """Run `work(actor)` on THREADS threads started together; every error they met."""
    start = threading.Barrier(THREADS)

    def run(actor: str) -> list[str]:
        start.wait()
        return work(actor)

    with ThreadPoolExecutor(THREADS) as pool:
        return [e for errors in pool.map(run, [f"t{i}" for i in range(THREADS)]) for e in errors]


def test_threads_never_lose_an_update(engine: Engine) -> None:
    """8 threads × 200 read-modify-writes give 1,600 on the counter and the log, 0 errors."""
    run_id = _counter(engine)
    errors = _in_threads(lambda actor: _increment(engine, run_id, actor, TIMES))
    assert (errors, _outcome(engine, run_id)) == ([], (TOTAL, TOTAL, True))


def test_processes_never_lose_an_update(tmp_path: Path, sqlite_template: Path) -> None:
    """4 processes × 400 read-modify-writes on one SQLite file give 1,600, 0 errors."""
    path = tmp_path / "shared.db"
    engine = fresh_sqlite(path, sqlite_template)
    run_id = _counter(engine)
    times = TOTAL // PROCESSES
    with ProcessPoolExecutor(PROCESSES, mp_context=get_context("spawn")) as pool:
        futures = [
            pool.submit(_process, f"sqlite:///{path}", run_id, f"p{i}", times)
            for i in range(PROCESSES)
        ]
        errors = [e for f in futures for e in f.result()]
    assert (errors, _outcome(engine, run_id)) == ([], (TOTAL, TOTAL, True))
    engine.dispose()


def _naive(path: Path, run_id: int, begin: str | None) -> list[str]:
    """The same counter on a plain sqlite3 connection: Python's implicit BEGIN, or `begin`."""
    errors = []
    conn = sqlite3.connect(path, timeout=5.0, isolation_level=None if begin else "")
    for _ in range(TIMES):
        try:
            if begin:
                conn.execute(begin)
            (counts,) = conn.execute(
                "SELECT counts FROM import_run WHERE id = ?", (run_id,)
            ).fetchone()
            n = json.loads(counts)["n"] + 1
            conn.execute(
                "UPDATE import_run SET counts = ? WHERE id = ?", (json.dumps({"n": n}), run_id)
            )
            conn.commit()
        except sqlite3.OperationalError as exc:
            errors.append(str(exc))
            conn.rollback()
    conn.close()
    return errors


@pytest.mark.parametrize(
    "begin",
    [
        pytest.param(None, id="python's implicit BEGIN before the first write"),
        pytest.param("BEGIN", id="an explicit deferred BEGIN"),
    ],
)
def test_without_begin_immediate_updates_are_lost_or_refused(
    tmp_path: Path, sqlite_template: Path, begin: str | None
) -> None:
    """A deferred read-modify-write on SQLite loses updates or fails with "database is locked"."""
    path = tmp_path / "naive.db"
    engine = fresh_sqlite(path, sqlite_template)
    run_id = _counter(engine)
    engine.dispose()
    errors = _in_threads(lambda _actor: _naive(path, run_id, begin))
    conn = sqlite3.connect(path)
    (counts,) = conn.execute("SELECT counts FROM import_run WHERE id = ?", (run_id,)).fetchone()
    conn.close()
    final = json.loads(counts)["n"]
    assert final < TOTAL
    assert all("database is locked" in e for e in errors)
    assert final + len(errors) <= TOTAL
