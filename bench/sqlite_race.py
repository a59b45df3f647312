"""The trap `write_session` avoids, measured: a deferred read-modify-write on SQLite.

8 threads × 200 transactions each read a counter and write it back plus one. On a plain
`sqlite3` connection whose BEGIN is deferred (Python's implicit BEGIN before the first write,
or an explicit `BEGIN`), transactions that read the same value overwrite each other or fail
with "database is locked"; through `store.db.write_session` (BEGIN IMMEDIATE) every one counts.
This is a measurement, not a test: a race is not guaranteed to be lost on every run.

    .venv/bin/python bench/sqlite_race.py
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import select, update

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from store.db import migrate, open_engine, write_session
from store.tables.runs import ImportRun

THREADS, TIMES = 8, 200
TOTAL = THREADS * TIMES


def _counter(path: Path) -> int:
    engine = open_engine(f"sqlite:///{path}")
    migrate(engine)
    with write_session(engine) as session:
        run = ImportRun(kind="households", file_name="counter", file_sha256="0" * 64)
        run.counts = {"n": 0}
        session.add(run)
        session.flush()
        assert run.id is not None
        run_id = run.id
    engine.dispose()
    return run_id


def _naive(path: Path, run_id: int, begin: str | None) -> list[str]:
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


def _safe(path: Path, run_id: int) -> list[str]:
    engine = open_engine(f"sqlite:///{path}")
    errors = []
    for _ in range(TIMES):
        try:
            with write_session(engine) as session:
                where = ImportRun.id == run_id
                counts = session.execute(select(ImportRun.counts).where(where)).scalar_one()
                values = {"counts": {"n": counts["n"] + 1}}
                session.execute(update(ImportRun).where(where).values(**values))
        except Exception as exc:  # counted: an error here is what the fix prevents
            errors.append(f"{type(exc).__name__}: {exc}")
    engine.dispose()
    return errors


def _threads(work: Callable[[], list[str]]) -> list[str]:
    start = threading.Barrier(THREADS)

    def run(_: int) -> list[str]:
        start.wait()
        return work()

    with ThreadPoolExecutor(THREADS) as pool:
        return [e for errors in pool.map(run, range(THREADS)) for e in errors]


def main() -> None:
    cases: list[tuple[str, Callable[[Path, int], list[str]]]] = [
        ("python's implicit BEGIN", lambda p, r: _naive(p, r, None)),
        ("explicit deferred BEGIN", lambda p, r: _naive(p, r, "BEGIN")),
        ("store.db.write_session", _safe),
    ]
    print(f"{THREADS} threads × {TIMES} read-modify-writes = {TOTAL} increments")
    for name, work in cases:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "race.db"
            run_id = _counter(path)
            errors = _threads(lambda w=work, p=path, r=run_id: w(p, r))
            conn = sqlite3.connect(path)
            (counts,) = conn.execute(
                "SELECT counts FROM import_run WHERE id = ?", (run_id,)
            ).fetchone()
            conn.close()
            final = json.loads(counts)["n"]
            lost = TOTAL - final - len(errors)
            print(f"{name:28} counter {final:5} · refused {len(errors):5} · lost silently {lost:5}")


if __name__ == "__main__":
    main()
