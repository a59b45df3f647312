"""The live event path: event → queued notice latency of `apply_change` on a demo county.

    .venv/bin/python bench/events.py [--households 20000] [--changes 300]
                                     [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]

A county of N synthetic households (`synth.households`, stored through `upsert_households`)
is swept once on 2025-03-01; then `--changes` profile changes go through
`store.events.apply.apply_change`, each one transaction: read and validate the profile, store
it, diff it into events, run the reactions on durable-rules, re-evaluate the household with the
vector engine, write its entitlement changes and outbox rows, commit. The latency is that whole
call (the notices are queued when it returns). Changes alternate 低保 granted / lapsed on
random households, so most of them queue notices. PostgreSQL: `--pg-url` or
`ZHIDA_BENCH_PG_URL` (a server where databases may be created), else a throwaway cluster when
PostgreSQL is installed (`store.testing.PostgresServer`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from common import REPO, machine  # type: ignore[import-not-found]
from sqlalchemy import Engine, text

from matcher.events.reactions import Reactions
from rules.catalogue import load_catalogue
from store.db import open_engine, read_session
from store.events.apply import apply_change
from store.seeding import seed_households
from store.sweep.run import begin_sweep, run_sweep
from store.testing import PostgresServer, find_pg_bin, fresh_postgres, fresh_sqlite
from synth.households import Population, generate_households

ROOT = REPO / "policies"
ON = date(2025, 3, 1)


def _seed(engine: Engine, households: int) -> list[str]:
    population = Population(households, seed=7, as_of=ON)
    seed_households(engine=engine, chunks=generate_households(population))
    catalogue = load_catalogue(ROOT)
    start = begin_sweep(engine=engine, catalogue=catalogue, root=ROOT, on=ON, region=None)
    run_sweep(engine=engine, start=start, catalogue=catalogue)
    with read_session(engine) as session:
        return list(
            session.execute(text("SELECT household_no FROM household ORDER BY id")).scalars()
        )


def _measure(engine: Engine, keys: list[str], changes: int) -> dict[str, Any]:
    catalogue = load_catalogue(ROOT)
    reactions = Reactions.load(ROOT, catalogue)
    rng, seconds, notices = random.Random(3), [], 0
    picked = rng.sample(keys, min(len(keys), changes // 2 + 1))
    plan = [(k, s) for k in picked for s in ("active", "lapsed")][:changes]
    for key, status in plan:
        began = time.perf_counter()
        outcome = apply_change(
            engine, catalogue=catalogue, root=ROOT, reactions=reactions, kind="household",
            key=key, facts={"dibao_status": status}, on=ON, actor="bench", source="bench",
        )  # fmt: skip
        seconds.append(time.perf_counter() - began)
        notices += len(outcome.notices)
    ms = sorted(s * 1000 for s in seconds[3:])  # the first calls warm the caches
    return {
        "changes": len(seconds),
        "notices": notices,
        "p50_ms": round(statistics.median(ms), 1),
        "p99_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.99))], 1),
        "max_ms": round(ms[-1], 1),
    }


def main() -> None:
    """Seed, sweep, measure on SQLite and PostgreSQL; print and write bench/.data/events.json."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=20_000)
    parser.add_argument("--changes", type=int, default=300)
    parser.add_argument("--pg-url", default=os.environ.get("ZHIDA_BENCH_PG_URL"))
    args = parser.parse_args()
    out: dict[str, Any] = {"machine": machine(), "households": args.households}
    with tempfile.TemporaryDirectory() as tmp:
        engine = fresh_sqlite(Path(tmp) / "events.db")
        keys = _seed(engine, args.households)
        out["sqlite"] = _measure(engine, keys, args.changes)
        engine.dispose()
        print("sqlite", out["sqlite"], flush=True)
    server = None
    url = args.pg_url
    if url is None and (bin_dir := find_pg_bin()) is not None:
        server = PostgresServer(bin_dir).start()
        url = server.url
    try:
        if url is not None:
            engine = open_engine(fresh_postgres(url, f"zhida_bench_events_{os.getpid()}"))
            keys = _seed(engine, args.households)
            out["postgresql"] = _measure(engine, keys, args.changes)
            engine.dispose()
            print("postgresql", out["postgresql"], flush=True)
    finally:
        if server is not None:
            server.stop()
    data = Path(__file__).parent / ".data"
    data.mkdir(exist_ok=True)
    (data / ".gitignore").write_text("*\n")
    (data / "events.json").write_text(json.dumps(out, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
