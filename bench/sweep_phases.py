"""Where a stored sweep's CPU goes, phase by phase: a first sweep and a re-sweep, in this process.

    .venv/bin/python bench/sweep_phases.py [--households 100000] [--chunk-size 20000]
                                           [--pg-url postgresql://…|auto]

Sweeps a copy of bench/sweep.py's seeded template (`bench/.data/sweep-N.db`, built if missing)
with `store.sweep.run.run_sweep` — the code `zhida sweep` runs, read-ahead thread included — with
each phase's function wrapped to add up the CPU time of the thread that runs it
(`time.thread_time`, exclusive of the phases it calls). Nothing is replaced: the wrappers call the
real functions. Then sweeps the same copy again (nothing changes).

Phases: reading the stored rows (`household_rows`, `enterprise_rows`), building the engine's
columns (`household_chunk`, `enterprise_chunk`), the engine (`run`), the decisions worth storing
(`stored_decisions`), the under-the-lock checks (`stale_subjects`), reading the open intervals
(`read_current`), the diff (`plan_outcome` without `read_current`), and the writes: intervals
closed and opened, changes, claims, outbox, audit, checkpoint. "rest" is the process's CPU
(`getrusage`) not in a phase: transactions and commits, SQLAlchemy sessions, the queue.
Prints one table per sweep; `--pg-url auto` also runs PostgreSQL on a throwaway cluster.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from common import REPO, machine  # type: ignore[import-not-found]
from sweep import _pg_copy, _pg_template, _template, pg_server  # type: ignore[import-not-found]

import store.sweep.columns as columns
import store.sweep.evaluate as evaluate
import store.sweep.run as sweep_run
import store.sweep.writes as writes
from rules.catalogue import load_catalogue
from store.db import open_engine

DATA = Path(__file__).parent / ".data"
ON = date(2025, 3, 1)
_SPENT: dict[str, float] = {}
_CALLS: dict[str, int] = {}
_STACK = threading.local()

# (module, attribute, phase): the functions whose CPU is summed, by the name the caller uses
_PHASES = [
    (columns, "household_rows", "read rows"),
    (columns, "enterprise_rows", "read rows"),
    (columns, "household_chunk", "build columns"),
    (columns, "enterprise_chunk", "build columns"),
    (sweep_run, "run", "engine"),
    (sweep_run, "stored_decisions", "decisions"),
    (sweep_run, "stale_subjects", "stale check"),
    (evaluate, "read_current", "read open intervals"),
    (sweep_run, "plan_outcome", "diff"),
    (writes, "_close", "write: close intervals"),
    (writes, "_open", "write: open intervals"),
    (writes, "_changes", "write: changes"),
    (writes, "_claims", "write: claims"),
    (writes, "_outbox", "write: outbox"),
    (writes, "_audit", "write: audit"),
    (sweep_run, "advance_checkpoint", "checkpoint"),
]


def _timed(phase: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        stack = _STACK.__dict__.setdefault("frames", [])
        stack.append(0.0)  # CPU of the phases this one calls
        began = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent = time.thread_time() - began
            inner = stack.pop()
            _SPENT[phase] = _SPENT.get(phase, 0.0) + spent - inner
            _CALLS[phase] = _CALLS.get(phase, 0) + 1
            if stack:
                stack[-1] += spent

    return wrapper


def _install() -> None:
    for module, name, phase in _PHASES:
        setattr(module, name, _timed(phase, getattr(module, name)))


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def sweep_once(url: str, households: int, chunk: int) -> dict[str, Any]:
    """One `run_sweep` over the database at `url`, with its phases' CPU seconds."""
    catalogue = load_catalogue(REPO / "policies")
    engine = open_engine(url)
    _SPENT.clear()
    _CALLS.clear()
    began, cpu = time.perf_counter(), _cpu()
    start = sweep_run.begin_sweep(
        engine=engine, catalogue=catalogue, root=REPO / "policies", on=ON, region=None
    )
    report = sweep_run.run_sweep(engine=engine, start=start, catalogue=catalogue, chunk_size=chunk)
    wall, cpu = time.perf_counter() - began, _cpu() - cpu
    engine.dispose()
    phases = {k: round(v, 2) for k, v in sorted(_SPENT.items(), key=lambda kv: -kv[1])}
    return {
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "households_per_s_wall": round(households / wall),
        "households_per_s_cpu": round(households / cpu),
        "phases_cpu_s": phases,
        "rest_cpu_s": round(cpu - sum(_SPENT.values()), 2),
        "counts": report.counts,
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }


def _show(title: str, r: dict[str, Any], households: int) -> None:
    print(
        f"\n{title}: {r['wall_s']} s wall ({r['households_per_s_wall']:,}/s), "
        f"{r['cpu_s']} s CPU ({r['households_per_s_cpu']:,}/s), load {r['load_average']}"
    )
    print(f"{'phase':<26}{'CPU s':>8}{'share':>8}{'µs/household':>14}")
    for phase, spent in [*r["phases_cpu_s"].items(), ("rest", r["rest_cpu_s"])]:
        share = spent / r["cpu_s"] if r["cpu_s"] else 0.0
        print(f"{phase:<26}{spent:>8.2f}{share:>8.0%}{spent / households * 1e6:>14.1f}")


def _database(kind: str, make: Callable[[], str], households: int, chunk: int) -> None:
    url = make()
    first = sweep_once(url, households, chunk)
    _show(f"{kind}, first sweep", first, households)
    again = sweep_once(url, households, chunk)
    _show(f"{kind}, re-sweep (nothing changes)", again, households)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--chunk-size", type=int, default=20_000)
    parser.add_argument("--pg-url", help="a PostgreSQL server URL where databases may be created")
    args = parser.parse_args()
    template = _template(args.households)
    _install()
    print(f"load average {os.getloadavg()}; code {machine()['code']}", flush=True)

    def sqlite_copy() -> str:
        path = DATA / f"phases-{args.households}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"

    _database("SQLite", sqlite_copy, args.households, args.chunk_size)
    if not args.pg_url:
        return
    with pg_server(args.pg_url) as url:
        assert url is not None
        pg = _pg_template(url, template, args.households)
        name = f"zhida_bench_phases_{args.households}"
        _database("PostgreSQL", lambda: _pg_copy(url, pg, name), args.households, args.chunk_size)


if __name__ == "__main__":
    main()
