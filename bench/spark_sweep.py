"""The sweep on Spark `local[2]` against the local sweep, on the same stored households.

    make bench-spark SPARK=1        # or: .venv/bin/python bench/spark_sweep.py
        [--households 1000000] [--chunk-size 20000] [--master local[2]]

1. Seeds a SQLite template once (N households and N/100 enterprises through
   `store.seeding`, as bench/sweep.py does: `bench/.data/sweep-N.db`, reused by both scripts).
2. Two copies: one swept by the local engine, one on Spark (`SparkEvaluator`), each a first
   sweep (every decision new) then a re-sweep (nothing changes), in this process, as
   `zhida sweep` runs them. The Spark session's start (the JVM) and its first job (the
   executors' Python workers and imports) are timed apart from the sweeps.
3. Agreement before the figures count: the tables the sweep writes (entitlements, changes,
   outbox, audit without its times, runs) must hold the same rows in both copies; the script
   stops if they differ.

Prints JSON (and writes `bench/.data/spark-sweep-N.json`) with each time, households per second,
the ratio Spark ÷ local, and the load average before and after.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import time
from datetime import date
from pathlib import Path
from typing import Any

from common import machine  # type: ignore[import-not-found]
from sqlalchemy import Engine, text
from sweep import _template  # type: ignore[import-not-found]  # the seeded template both use

from rules.catalogue import Catalogue, load_catalogue
from store.db import open_engine, read_session
from store.sweep.run import Evaluator, begin_sweep, run_sweep
from store.sweep.spark import SparkEvaluator, spark_session

DATA = Path(__file__).parent / ".data"
ROOT = Path(__file__).parents[1] / "policies"
ON = date(2025, 3, 1)
# What the sweep writes, without the columns that say when (they differ between any two runs).
TABLES = {
    "entitlement": "SELECT subject_kind, subject_id, policy_id, status, amount, conditions, "
    "missing, dropped_for, rule_hash, inputs_hash, valid_from, valid_to, sweep_run_id "
    "FROM entitlement ORDER BY id",
    "entitlement_change": "SELECT subject_kind, subject_id, policy_id, kind, before_status, "
    "after_status, before_amount, after_amount, sweep_run_id FROM entitlement_change ORDER BY id",
    "outbox": "SELECT dedup_key, change_id, subject_kind, subject_id, policy_id, kind, payload "
    "FROM outbox ORDER BY id",
    "audit": "SELECT actor, action, subject, catalogue_hash, inputs_hash, details FROM audit "
    "ORDER BY seq",
    "sweep_run": "SELECT state, counts, last_household_id, last_enterprise_id FROM sweep_run "
    "ORDER BY id",
}


def _copy(template: Path, name: str) -> Engine:
    path = DATA / f"spark-sweep-{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, path)
    return open_engine(f"sqlite:///{path}")


def _sweep(engine: Engine, catalogue: Catalogue, evaluator: Evaluator | None, chunk: int) -> float:
    began = time.perf_counter()
    start = begin_sweep(engine=engine, catalogue=catalogue, root=ROOT, on=ON, region=None)
    run_sweep(
        engine=engine, start=start, catalogue=catalogue, chunk_size=chunk, evaluator=evaluator
    )
    return time.perf_counter() - began


def _digests(engine: Engine) -> dict[str, tuple[int, str]]:
    """Rows and a SHA-256 of every row, per table the sweep writes."""
    out = {}
    with read_session(engine) as session:
        for table, sql in TABLES.items():
            digest, rows = hashlib.sha256(), 0
            for row in session.execute(text(sql)):
                digest.update(repr(tuple(row)).encode())
                rows += 1
            out[table] = (rows, digest.hexdigest()[:16])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--chunk-size", type=int, default=20_000)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    n, chunk = args.households, args.chunk_size
    template, catalogue = _template(n), load_catalogue(ROOT)
    load_before = os.getloadavg()
    local, spark = _copy(template, "local"), _copy(template, "spark")
    figures: dict[str, Any] = {"households": n, "chunk": chunk, "master": args.master}
    figures["local_first_s"] = _sweep(local, catalogue, None, chunk)
    figures["local_resweep_s"] = _sweep(local, catalogue, None, chunk)
    began = time.perf_counter()
    with spark_session(args.master) as session:
        figures["spark_session_start_s"] = time.perf_counter() - began
        evaluator = SparkEvaluator(session)
        began = time.perf_counter()
        evaluator.warm_up()
        figures["spark_first_job_s"] = time.perf_counter() - began
        figures["spark_first_s"] = _sweep(spark, catalogue, evaluator, chunk)
        figures["spark_resweep_s"] = _sweep(spark, catalogue, evaluator, chunk)
    same = _digests(local) == _digests(spark)
    figures["tables"] = _digests(local)
    local.dispose()
    spark.dispose()
    if not same:
        raise SystemExit("the Spark sweep stored other rows than the local sweep: no figures")
    for kind in ("first", "resweep"):
        figures[f"local_{kind}_per_s"] = round(n / figures[f"local_{kind}_s"])
        figures[f"spark_{kind}_per_s"] = round(n / figures[f"spark_{kind}_s"])
        figures[f"spark_over_local_{kind}"] = round(
            figures[f"spark_{kind}_s"] / figures[f"local_{kind}_s"], 2
        )
    figures = {k: round(v, 1) if isinstance(v, float) else v for k, v in figures.items()}
    figures["agree"] = same
    figures["load_average_before"] = [round(x, 2) for x in load_before]
    figures["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    figures["machine"] = machine()
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    (DATA / f"spark-sweep-{n}.json").write_text(json.dumps(figures, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
