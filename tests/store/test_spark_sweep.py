"""The sweep on Spark stores exactly what the local sweep stores (`make test SPARK=1` runs it).

One SQLite database of 10^4 households and 300 enterprises is copied twice; one copy is swept by
the local engine, the other on Spark `local[2]`, twice each: a first sweep, then a second after
the same edits (status lapsed or granted, incomes raised, a fact removed, a household whose
members moved away), so the second sweep closes intervals through the ineligible decisions
Spark brings back. Every stored row of every table the sweep writes must be equal, timestamps
and the audit chain's time-bound hashes aside. Spark's Arrow batches (1,000 rows) are smaller
than the sweep's chunks (3,000) on purpose: evaluation is per subject.
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import DateTime, Engine, select
from sqlmodel import SQLModel

from matcher.profiles.parse import parse_household
from rules.catalogue import Catalogue, load_catalogue
from store.db import open_engine, read_session, write_session
from store.ingest.profiles import upsert_households
from store.seeding import seed_enterprises, seed_households
from store.sweep.run import Evaluator, SweepReport, begin_sweep, run_sweep
from store.sweep.spark import SparkEvaluator, spark_session
from store.testing import fresh_sqlite
from synth.enterprises import Enterprises, generate_enterprises
from synth.households import Population, generate_households, raw_households

pytestmark = pytest.mark.spark

ROOT = Path(__file__).parents[2] / "policies"
ON = date(2025, 3, 1)
HOUSEHOLDS, ENTERPRISES, CHUNK = 10_000, 300, 3_000
TIMES = {"at", "hash", "prev_hash"}  # when a row was written, and the hashes that include it
PROFILES = {"household", "member", "enterprise"}  # copied, then edited the same way: not swept
Raw = dict[str, Any]


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    """The shipped catalogue."""
    return load_catalogue(ROOT)


@pytest.fixture(scope="module")
def spark() -> Iterator[Future[SparkEvaluator]]:
    """A Spark session on local[2], started in a thread while the test seeds its database
    (the JVM's start and the executors' first imports take ≈ 20 s)."""
    with ExitStack() as stack, ThreadPoolExecutor(1) as pool:

        def started() -> SparkEvaluator:
            conf = {"spark.sql.execution.arrow.maxRecordsPerBatch": "1000"}
            evaluator = SparkEvaluator(stack.enter_context(spark_session("local[2]", conf=conf)))
            evaluator.warm_up()
            return evaluator

        starting = pool.submit(started)
        yield starting
        starting.result()  # stopped by the stack, after the thread is done


def _seed(path: Path) -> list[Raw]:
    """A migrated SQLite file with the households and enterprises stored; the households raw."""
    pop = Population(households=HOUSEHOLDS, seed=23, as_of=ON, chunk_size=HOUSEHOLDS)
    chunk = next(generate_households(pop))
    engine = fresh_sqlite(path)
    try:
        seed_households(engine=engine, chunks=[chunk])
        seed_enterprises(engine=engine, cols=generate_enterprises(Enterprises(ENTERPRISES, 7, ON)))
    finally:
        engine.dispose()
    return raw_households(chunk)


def _store(engine: Engine, catalogue: Catalogue, households: list[Raw]) -> None:
    with write_session(engine) as session:
        parsed = [(parse_household(r, catalogue.facts, today=ON), "test") for r in households]
        upsert_households(session=session, households=parsed)


def _edits(households: list[Raw]) -> list[Raw]:
    """Every 25th household edited one of four ways, and one household's members moved away."""
    out = []
    for i, raw in enumerate(households[::25]):
        edited = copy.deepcopy(raw)
        way = i % 4
        if way == 0:
            edited["dibao_status"] = "none" if raw.get("dibao_status") == "active" else "active"
        elif way == 1 and "monthly_income" in edited["members"][0]:
            edited["members"][0]["monthly_income"] += 150
        elif way == 2:
            edited.pop("local_hukou", None)
        else:
            edited["assets_within_limit"] = not raw.get("assets_within_limit", True)
        out.append(edited)
    moved = households[7]  # the same people under a new 户编号: the old household is empty
    return [*out, {**moved, "household_id": "moved-spark-001"}]


def _sweep(engine: Engine, catalogue: Catalogue, evaluator: Evaluator | None) -> SweepReport:
    start = begin_sweep(engine=engine, catalogue=catalogue, root=ROOT, on=ON, region=None)
    return run_sweep(
        engine=engine, start=start, catalogue=catalogue, chunk_size=CHUNK, evaluator=evaluator
    )


def _content(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in key order, without the columns that say when."""
    out = {}
    with read_session(engine) as session:
        for name, table in SQLModel.metadata.tables.items():
            if name in PROFILES:
                continue
            cols = [
                c
                for c in table.columns
                if c.name not in TIMES
                and not isinstance(c.type, DateTime)
                and not c.name.endswith("_at")
            ]
            rows = session.execute(select(*cols).order_by(*table.primary_key.columns))
            out[name] = [tuple(r) for r in rows]
    return out


def test_the_spark_sweep_stores_what_the_local_sweep_stores(
    tmp_path: Path, catalogue: Catalogue, spark: Future[SparkEvaluator]
) -> None:
    """Two sweeps on Spark leave every table as the local sweep leaves it, row for row."""
    households = _seed(tmp_path / "seeded.db")
    engines = {}
    for name in ("local", "spark"):
        shutil.copyfile(tmp_path / "seeded.db", tmp_path / f"{name}.db")
        engines[name] = open_engine(f"sqlite:///{tmp_path / f'{name}.db'}")
    evaluators: dict[str, Evaluator | None] = {"local": None, "spark": spark.result()}
    reports: dict[str, list[SweepReport]] = {"local": [], "spark": []}
    edits = _edits(households)
    try:
        for name, engine in engines.items():
            reports[name].append(_sweep(engine, catalogue, evaluators[name]))
            _store(engine, catalogue, edits)
            reports[name].append(_sweep(engine, catalogue, evaluators[name]))
        local, spark_ = (_content(engines[n]) for n in ("local", "spark"))
    finally:
        for engine in engines.values():
            engine.dispose()
    first, second = reports["local"]
    assert first.counts["households"] == HOUSEHOLDS and first.counts["enterprises"] == ENTERPRISES
    kinds = set(second.counts["changes"])
    assert kinds == {
        "newly_eligible",
        "no_longer_eligible",
        "amount_changed",
        "became_undetermined",
    }
    assert [r.counts for r in reports["spark"]] == [r.counts for r in reports["local"]]
    assert len(local["entitlement"]) > HOUSEHOLDS // 2 and local["outbox"] and local["audit"]
    assert local["claim"] and local["claim_part"]  # the sweep opens claims (bundle gates too)
    for table in local:
        assert spark_[table] == local[table], table
