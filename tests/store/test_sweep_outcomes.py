"""The Spark sweep's driver and executor code without a JVM, on both databases.

`SparkEvaluator` meets Spark in three methods (`ship`, `release`, `evaluate`); here they run the
executors' function (`store.sweep.spark_tasks.evaluate`) in this process over the same Arrow
batches, so the raw reads (facts as JSON text, cast on each database), the Arrow transport, the
decisions and their return go through the sweep exactly as on Spark. A local sweep after each
such sweep must find nothing to change: the stored results are the local engine's. The test
marked `spark` (tests/store/test_spark_sweep.py) does the same on Spark itself.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import Engine, text

from store.db import read_session
from store.sweep.decisions import Unrevised
from store.sweep.run import SweepReport, begin_sweep, run_sweep
from store.sweep.spark import SparkEvaluator, SparkOutcome
from store.sweep.spark_tasks import OUT_ARROW, Job, evaluate
from tests.store.test_sweep import (
    CHUNK,
    ON,
    ROOT,
    _catalogue,
    _edits,
    _raw_enterprises,
    _raw_households,
    _store,
)


class InProcess(SparkEvaluator):
    """A `SparkEvaluator` whose "executors" are this process, in Arrow batches of 97 rows.

    With `forget_open`, the executors are told no pair is open: as if every open interval had
    opened after the chunk was read, so no ineligible decision comes back.
    """

    def __init__(self, forget_open: bool = False) -> None:
        super().__init__(spark=None)
        self.forget_open = forget_open
        self.outcomes: list[SparkOutcome] = []

    def ship(self, job: Job) -> Any:
        return SimpleNamespace(value=job)

    def release(self, shipped: Any) -> None:
        pass

    def evaluate(self, table: pa.Table, shipped: Any) -> pa.Table:
        if self.forget_open:
            empty = pa.array([[] for _ in range(table.num_rows)], pa.list_(pa.string()))
            table = table.set_column(table.schema.get_field_index("open"), "open", empty)
        batches = list(evaluate(shipped, iter(table.to_batches(max_chunksize=97))))
        return pa.Table.from_batches(batches, schema=OUT_ARROW)

    def chunks(self, **kwargs: Any) -> Any:
        for keys, outcome in super().chunks(**kwargs):
            self.outcomes.append(outcome)
            yield keys, outcome


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    """The test database with test_sweep's synthetic households and enterprises stored."""
    _store(engine, list(_raw_households()), list(_raw_enterprises()))
    return engine


def _sweep(engine: Engine, evaluator: SparkEvaluator | None = None) -> SweepReport:
    start = begin_sweep(engine=engine, catalogue=_catalogue(), root=ROOT, on=ON, region=None)
    return run_sweep(
        engine=engine, start=start, catalogue=_catalogue(), chunk_size=CHUNK, evaluator=evaluator
    )


def _count(engine: Engine, table: str) -> int:
    with read_session(engine) as session:
        return int(session.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


def _nothing_left_for_the_local_sweep(engine: Engine) -> None:
    before = [_count(engine, t) for t in ("entitlement", "entitlement_change", "outbox")]
    report = _sweep(engine)
    assert report.counts["changes"] == {}
    assert [_count(engine, t) for t in ("entitlement", "entitlement_change", "outbox")] == before


def test_the_spark_path_stores_the_local_engines_results(seeded: Engine) -> None:
    """A first sweep, a sweep after edits and one after undoing them through the Spark path
    leave nothing to change; the last one's executors were told of no open interval, so the
    driver decided again each chunk whose intervals ended."""
    first = _sweep(seeded, InProcess())
    assert first.counts["entitlements"]["eligible"] > 0
    _nothing_left_for_the_local_sweep(seeded)
    edited = [raw for _, raw in _edits(list(_raw_households())).values()]
    _store(seeded, edited)
    evaluator = InProcess()
    second = _sweep(seeded, evaluator)
    assert set(second.counts["changes"]) == {
        "newly_eligible", "no_longer_eligible", "amount_changed", "became_undetermined",
    }  # fmt: skip
    assert any(o.ineligible for o in evaluator.outcomes)  # the revisions came back from "Spark"
    _nothing_left_for_the_local_sweep(seeded)
    originals = {r["household_id"]: r for r in _raw_households()}
    _store(seeded, [originals[raw["household_id"]] for raw in edited])  # the edits undone
    forgetting = InProcess(forget_open=True)
    third = _sweep(seeded, forgetting)
    assert not any(o.ineligible for o in forgetting.outcomes)  # no revision came back …
    assert third.counts["changes"]["no_longer_eligible"] > 0  # … yet intervals ended, correctly
    _nothing_left_for_the_local_sweep(seeded)


def test_a_revision_the_executors_did_not_compute_is_refused() -> None:
    """An outcome asked for the ineligible decision of a pair it never saw raises `Unrevised`."""
    outcome = SparkOutcome(
        policy_ids=["p.a", "p.b"], stored=[], ineligible={}, bundles={}, subjects=frozenset({1}),
        has_gates=False,
    )  # fmt: skip
    assert outcome.revised([(2, "p.a"), (1, "p.gone")]) == []  # another chunk's, a removed policy
    with pytest.raises(Unrevised):
        outcome.revised([(1, "p.b")])


def test_a_jvm_the_sweep_starts_logs_errors_only_and_a_local_one_binds_to_loopback() -> None:
    from store.sweep.spark import launch_settings

    local = launch_settings("local[2]", True, {}, {})
    option = local["spark.driver.extraJavaOptions"]
    assert option == local["spark.executor.extraJavaOptions"]
    name, _, config = option.partition("=")
    assert name == "-Dlog4j2.configurationFile" and config.startswith("file:///")
    said = Path(config.removeprefix("file://")).read_text(encoding="utf-8")
    assert "rootLogger.level = error" in said and "SYSTEM_ERR" in said
    assert local["SPARK_LOCAL_IP"] == "127.0.0.1"
    # A cluster master: quiet logs, but Spark picks its own address.
    assert "SPARK_LOCAL_IP" not in launch_settings("yarn", True, {}, {})
    # What the caller set wins; under spark-submit the JVM is running already: nothing added.
    mine = launch_settings("local[4]", True, {"spark.driver.extraJavaOptions": "-Dx=1"},
                           {"SPARK_LOCAL_IP": "10.0.0.5"})  # fmt: skip
    assert set(mine) == {"spark.executor.extraJavaOptions"}
    assert launch_settings(None, False, {}, {}) == {}


def test_a_master_spark_would_refuse_with_a_java_stack_trace_is_refused_first() -> None:
    from store.sweep.spark import master_problem

    for good in (
        None,
        "local",
        "local[2]",
        "local[*]",
        "yarn",
        "spark://h:7077",
        "k8s://https://h:6443",
    ):
        assert master_problem(good) is None, good
    for bad in ("bogus://x", "YARN", "mesos://h:5050", "", "lokal[2]"):
        said = master_problem(bad)
        assert said is not None and said.startswith("--master：不认识") and repr(bad) in said
        assert "local[2]" in said and "yarn" in said
