"""Concurrent writers neither fail nor lose updates (RELIABILITY S1).

The workload is a read-modify-write twice over: append an audit record (read the head, write
head + 1) and increment a counter kept in `import_run.counts`. Through `write_session` (BEGIN
IMMEDIATE on SQLite, the audit table lock on PostgreSQL, taken first) every transaction
counts. That the same workload on a plain `sqlite3` connection (BEGIN only before the first
write) loses updates or fails — the trap the fix is for — is measured in bench/sqlite_race.py,
not asserted here: a race that must be lost is not a property the suite can promise.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import get_context
from pathlib import Path

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
