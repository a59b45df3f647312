"""`zhida sweep` over 10^6 stored households: a full sweep, a re-sweep, and a resume after SIGKILL.

    .venv/bin/python bench/sweep.py [--households 1000000] [--chunk-size 20000]
                                    [--pg-url postgresql://postgres@127.0.0.1:5432/postgres|auto]

1. Seeds a template once: N households (and N/100 enterprises) of the synthetic population
   through `upsert_households` into `bench/.data/sweep-N.db` (kept for the next run, never
   committed: the folder ignores itself). With `--pg-url` (a server where databases may be
   created) the template is copied into the database `zhida_bench_sweep_N` by COPY.
2. For each database: a copy of the template, swept by `zhida sweep` in a subprocess (a first
   sweep: every decision is new, every one a change with its outbox row and audit record),
   then swept again (same inputs: nothing to write).
3. Another copy: a sweep SIGKILLed once its checkpoint passes half the households, then
   restarted; the restart's wall time is the resume time. Its tables are compared with the
   first copy's: entitlements, changes and outbox rows by count, duplicates (count − distinct
   keys) must be 0.
4. The engine alone, in the same run: the same households (the generator with the same seed)
   through `from_chunk` and `matcher.vector.engine.run` with the real catalogue, so the stored
   sweep's rate can be put over the engine's (`sweep ÷ engine`). Each sweep's peak RSS is its
   subprocess's own (`wait4`).

`--pg-url auto` starts a throwaway PostgreSQL cluster (fsync off) for the run.
Results are printed and written to `bench/.data/sweep-N.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from common import REPO, machine  # type: ignore[import-not-found]
from sqlalchemy import text

from store.db import open_engine, read_session
from store.seeding import copy_database, seed_enterprises, seed_households
from store.testing import fresh_postgres, fresh_sqlite
from synth.enterprises import Enterprises, generate_enterprises
from synth.households import Population, generate_households

DATA = Path(__file__).parent / ".data"
ON = date(2025, 3, 1)
ZHIDA = str(Path(sys.executable).parent / "zhida")
_COUNTS = {
    "entitlement": "subject_kind, subject_id, policy_id, valid_from, sweep_run_id",
    "entitlement_change": "subject_kind, subject_id, policy_id, on_date, sweep_run_id",
    "outbox": "dedup_key",
}


def _template(households: int) -> Path:
    """The seeded SQLite template (built once, then reused)."""
    DATA.mkdir(exist_ok=True)
    (DATA / ".gitignore").write_text("*\n")
    path = DATA / f"sweep-{households}.db"
    if path.exists():
        return path
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    began = time.perf_counter()
    engine = fresh_sqlite(partial)
    pop = Population(households=households, seed=1, as_of=ON, chunk_size=50_000)
    seed_households(engine=engine, chunks=generate_households(pop))
    firms = generate_enterprises(Enterprises(max(1, households // 100), seed=1, as_of=ON))
    seed_enterprises(engine=engine, cols=firms)
    engine.dispose()
    partial.rename(path)
    print(f"seeded {households:,} households in {time.perf_counter() - began:.0f} s → {path}")
    return path


def _sqlite_copy(template: Path, name: str) -> str:
    path = DATA / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


def _pg_copy(server: str, template: str, name: str) -> str:
    admin = open_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    admin.dispose()
    return server.rsplit("/", 1)[0] + "/" + name


def _pg_template(server: str, sqlite_template: Path, households: int) -> str:
    name = f"zhida_bench_sweep_{households}"
    admin = open_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        exists = found.first() is not None
    admin.dispose()
    if not exists:
        began = time.perf_counter()
        target = open_engine(fresh_postgres(server, name))
        copy_database(source=open_engine(f"sqlite:///{sqlite_template}"), target=target)
        target.dispose()
        print(f"copied the template into PostgreSQL in {time.perf_counter() - began:.0f} s")
    return name


def _sweep(url: str, chunk: int) -> subprocess.Popen[str]:
    env = {**os.environ, "DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}
    command = [ZHIDA, "sweep", "--on", ON.isoformat(), "--chunk-size", str(chunk)]
    return subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


PEAKS: list[float] = []  # each timed sweep's peak RSS (MB), in order


def _timed(url: str, chunk: int) -> tuple[float, str]:
    began = time.perf_counter()
    process = _sweep(url, chunk)
    assert process.stdout is not None
    said = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - began
    PEAKS.append(usage.ru_maxrss / 1024)
    if process.returncode != 0:
        raise SystemExit(f"zhida sweep failed:\n{said}")
    return seconds, said


def engine_alone(households: int) -> dict[str, Any]:
    """The vectorised engine over the same households as the template, in this process."""
    from matcher.vector.columns import Vocabulary
    from matcher.vector.engine import compile_catalogue, run
    from matcher.vector.frames import from_chunk
    from rules.catalogue import load_catalogue

    catalogue = load_catalogue(REPO / "policies")
    engine = compile_catalogue(catalogue, ON, "household")
    used = {s.data[0] for s in engine.program.steps if s.op == "fact"}  # type: ignore[index]
    vocab = Vocabulary()
    convert = evaluate = cpu = 0.0
    pop = Population(households=households, seed=1, as_of=ON, chunk_size=50_000)
    for part in generate_households(pop):
        began = time.perf_counter()
        columns = from_chunk(part, catalogue.facts, ON, vocab, only=used)
        mid, mid_cpu = time.perf_counter(), time.process_time()
        run(engine, columns)
        convert, evaluate = convert + mid - began, evaluate + time.perf_counter() - mid
        cpu += time.process_time() - mid_cpu
    return {
        "engine_run_s": round(evaluate, 2),
        "engine_run_cpu_s": round(cpu, 2),
        "load_average": round(os.getloadavg()[0], 2),
        "engine_households_per_s": round(households / evaluate),
        "engine_with_from_chunk_s": round(evaluate + convert, 2),
    }


def _scalar(url: str, sql: str) -> Any:
    engine = open_engine(url)
    try:
        with read_session(engine) as session:
            return session.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def _killed_at_half(url: str, chunk: int, households: int) -> int:
    """Start a sweep and SIGKILL it once its checkpoint passes half the households."""
    half = _scalar(url, "SELECT MIN(id) FROM household") + households // 2
    process = _sweep(url, chunk)
    while process.poll() is None:
        if (_scalar(url, "SELECT MAX(last_household_id) FROM sweep_run") or 0) >= half:
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.1)
    process.communicate()
    if process.returncode != -signal.SIGKILL:
        raise SystemExit("the sweep finished before it could be killed: use more households")
    return int(_scalar(url, "SELECT last_household_id FROM sweep_run"))


def _tables(url: str) -> dict[str, dict[str, int]]:
    """Rows and duplicate keys (rows − distinct keys) of the tables a sweep writes."""
    out = {}
    for table, key in _COUNTS.items():
        rows = _scalar(url, f"SELECT COUNT(*) FROM {table}")
        distinct = _scalar(url, f"SELECT COUNT(*) FROM (SELECT DISTINCT {key} FROM {table}) d")
        out[table] = {"rows": int(rows), "duplicates": int(rows) - int(distinct)}
    return out


def bench(kind: str, make_copy: Any, households: int, chunk: int) -> dict[str, Any]:
    """First sweep, re-sweep and resume-after-kill figures on one database."""
    clean = make_copy("clean")
    first, said = _timed(clean, chunk)
    again, _ = _timed(clean, chunk)
    peaks = PEAKS[-2:]
    killed = make_copy("killed")
    checkpoint = _killed_at_half(killed, chunk, households)
    resumed, resumed_said = _timed(killed, chunk)
    reference, after_kill = _tables(clean), _tables(killed)
    result = {
        "database": kind,
        "households": households,
        "chunk": chunk,
        "first_sweep_s": round(first, 1),
        "first_sweep_households_per_s": round(households / first),
        "first_sweep_peak_mb": round(peaks[0]),
        "resweep_peak_mb": round(peaks[1]),
        "load_average_after": round(os.getloadavg()[0], 2),
        "resweep_s": round(again, 1),
        "resweep_households_per_s": round(households / again),
        "killed_at_household_id": checkpoint,
        "resume_s": round(resumed, 1),
        "resume_said": resumed_said.strip().splitlines()[0],
        "tables": reference,
        "equal_after_kill": reference == after_kill,
        "first_sweep_said": said.strip(),
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--chunk-size", type=int, default=20_000)
    parser.add_argument("--pg-url", help="a PostgreSQL server URL where databases may be created")
    args = parser.parse_args()
    template = _template(args.households)
    with pg_server(args.pg_url) as args.pg_url:
        _main(args, template)


@contextmanager
def pg_server(url: str | None) -> Iterator[str | None]:
    """`--pg-url` as given, or for `auto` a throwaway PostgreSQL cluster's (stopped at exit)."""
    if url != "auto":
        yield url
        return
    from store.testing import PostgresServer, find_pg_bin

    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise SystemExit("--pg-url auto: PostgreSQL is not installed (initdb, pg_ctl)")
    server = PostgresServer(bin_dir).start()
    try:
        yield server.url
    finally:
        server.stop()


def _main(args: argparse.Namespace, template: Path) -> None:
    print(f"load average {os.getloadavg()[0]:.2f}; code {machine()['code']}", flush=True)
    runs = [
        bench(
            "sqlite",
            lambda name: _sqlite_copy(template, f"sweep-{name}"),
            args.households,
            args.chunk_size,
        )
    ]
    if args.pg_url:
        pg = _pg_template(args.pg_url, template, args.households)
        runs.append(
            bench(
                "postgresql",
                lambda name: _pg_copy(args.pg_url, pg, f"zhida_bench_sweep_{name}"),
                args.households,
                args.chunk_size,
            )
        )
    alone = engine_alone(args.households)
    for r in runs:
        r["sweep_over_engine_first"] = round(
            r["first_sweep_households_per_s"] / alone["engine_households_per_s"], 4
        )
        r["sweep_over_engine_resweep"] = round(
            r["resweep_households_per_s"] / alone["engine_households_per_s"], 4
        )
    print(
        json.dumps(
            {
                "engine_alone": alone,
                "ratios": [
                    {k: v for k, v in r.items() if k.startswith(("database", "sweep_over"))}
                    for r in runs
                ],
            },
            indent=2,
        )
    )
    report = {"machine": machine(), "runs": runs, "engine_alone": alone}
    (DATA / f"sweep-{args.households}.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
