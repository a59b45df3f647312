"""The sweep on Apache Spark: chunks evaluated on executors, written here as the local sweep's.

    with spark_session("local[2]") as spark:
        report = run_sweep(engine=db, start=start, catalogue=catalogue,
                           evaluator=SparkEvaluator(spark))

Where each part happens (docs/scale.md has the cluster recipe):
- **Reads, on the driver.** Chunk by chunk in the sweep's keyset order after the run's
  checkpoint, the driver reads each subject's row with its facts as JSON *text* (no parsing
  here), its members' rows, and the policies whose open interval is not ineligible.
- **Evaluation, on the executors.** The chunk goes to Spark as an Arrow table; `mapInArrow`
  runs `store.sweep.spark_tasks.evaluate` over each Arrow batch: the JSON is parsed there, the
  columns built by the local sweep's code (`store.sweep.chunks`), the vectorised engine run,
  and the decisions returned as Arrow rows — eligible and undetermined ones, the ineligible
  ones of the pairs that are open, and the bundles whose gate holds. Evaluation is per
  subject, so how Spark batches the rows changes nothing. The catalogue travels with the job:
  the program compiled on the driver from the catalogue `begin_sweep` published (hash-checked)
  is a broadcast variable, so the executors need the packed environment but no policy files.
- **Writes, on the driver**, through `store.sweep.run`: the same diff, intervals, changes,
  outbox, audit and checkpoint, in one transaction per chunk. A chunk whose profiles changed
  after it was read, or whose open intervals moved (`Unrevised`), is evaluated again on the
  driver under the sweep lock, as the local sweep does.

pyspark is imported only in this module (an import-linter contract), and only when a session is
started: a clone without the `spark` extra imports, tests and sweeps locally without it.
`PYSPARK_PYTHON` is the running interpreter on a `local` master (the executors must import this
environment's zhida); elsewhere it is set so only when unset (a packed environment's wins).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from sqlalchemy import Engine

from matcher.vector.engine import VectorCatalogue
from rules.catalogue import Catalogue
from store.db import read_session
from store.sweep.columns import (
    SubjectKeys,
    enterprise_rows,
    household_keys,
    household_rows,
    program_facts,
)
from store.sweep.decisions import Unrevised
from store.sweep.diff import Decision, Key
from store.sweep.evaluate import compiled
from store.sweep.runs import SweepStart
from store.sweep.spark_tasks import OUT_ARROW, OUT_SCHEMA, Job, evaluate, passed
from store.sweep.writes import read_current

__all__ = [
    "INSTALL_HINT",
    "SparkEvaluator",
    "SparkOutcome",
    "SparkUnavailable",
    "launch_settings",
    "master_problem",
    "spark_installed",
    "spark_session",
]

_LOG4J = Path(__file__).with_name("spark-log4j2.properties")
INSTALL_HINT = "uv sync --extra spark（或 pip install 'zhida[spark]'），并装好 Java 17"


class SparkUnavailable(Exception):
    """Spark cannot be used: pyspark (the `spark` extra) is missing, or the JVM did not start."""


def spark_installed() -> bool:
    """Whether pyspark (the `spark` extra) is installed, without importing it."""
    return importlib.util.find_spec("pyspark") is not None


_MASTERS = ("local", "spark://", "k8s://")  # and `yarn`: the masters spark-submit accepts


def master_problem(master: str | None) -> str | None:
    """Why `master` is not a Spark master (one line, in Chinese), or None when it is one.

    Spark accepts `yarn` and masters starting with `local`, `spark://` or `k8s://`; anything
    else makes its launcher exit with a Java stack trace, so it is refused before.
    """
    if master is None or master == "yarn" or master.startswith(_MASTERS):
        return None
    return (
        f"--master：不认识 {master!r}；应为 local[2]、local[*]、yarn、spark://主机:7077 "
        "或 k8s://https://主机:端口"
    )


def launch_settings(
    master: str | None, launched: bool, conf: Mapping[str, str], env: Mapping[str, str]
) -> dict[str, str]:
    """What `spark_session` adds when it starts the JVM itself: Spark settings (`spark.…`)
    and environment variables, none that the caller's `conf` or environment set already.

    - The JVM logs errors only (`spark-log4j2.properties` beside this module): Spark's default
      prints warnings about native-hadoop libraries and the host's address to the operator.
    - On a `local` master, Spark binds to loopback (`SPARK_LOCAL_IP`): nothing of a local
      sweep listens on the network, and Spark does not warn that the host name resolves to
      127.0.0.1.

    Under `spark-submit` (`launched` False) the JVM is running already: nothing is added.
    """
    if not launched:
        return {}
    out: dict[str, str] = {}
    option = f"-Dlog4j2.configurationFile={_LOG4J.as_uri()}"
    for key in ("spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions"):
        if key not in conf:
            out[key] = option
    if master is not None and master.startswith("local") and "SPARK_LOCAL_IP" not in env:
        out["SPARK_LOCAL_IP"] = "127.0.0.1"
    return out


@contextmanager
def spark_session(
    master: str | None = "local[2]",
    app_name: str = "zhida-sweep",
    conf: Mapping[str, str] | None = None,
) -> Iterator[Any]:
    """A Spark session for the sweep, stopped on exit.

    Args:
        master: the Spark master (`local[2]`, `yarn`, `spark://host:7077` …); None: the one
            `spark-submit` set, else `local[2]`.
        app_name: the application's name in the cluster's UI.
        conf: further Spark settings (`spark.executor.memory` …).

    Raises:
        SparkUnavailable: pyspark is not installed, or the session did not start (no Java).
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable(
            f"--engine spark 需要可选组件 spark（pyspark）：{INSTALL_HINT}"
        ) from None
    problem = master_problem(master)
    if problem is not None:
        raise SparkUnavailable(problem)
    builder = SparkSession.builder.appName(app_name)
    launched = "PYSPARK_GATEWAY_PORT" not in os.environ  # not under spark-submit: we start the JVM
    if master is None and launched:
        master = "local[2]"
    if master is not None and master.startswith("local"):
        os.environ["PYSPARK_PYTHON"] = sys.executable
    else:
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # packed envs set their own
    if master is not None:
        builder = builder.master(master)
    if master is not None and master.startswith("local"):
        builder = builder.config("spark.ui.enabled", "false")
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    for key, value in launch_settings(master, launched, conf or {}, os.environ).items():
        if key.startswith("spark."):
            builder = builder.config(key, value)
        else:
            os.environ[key] = value  # read by the JVM pyspark launches
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # the JVM's failures arrive as several exception types
        raise SparkUnavailable(
            f"Spark 未能启动（master {master or '由 spark-submit 指定'}）：{exc}；需要 Java 17"
            "（PATH 中的 java 或 JAVA_HOME）"
        ) from None
    spark.sparkContext.setLogLevel("ERROR")
    try:
        yield spark
    finally:
        spark.stop()


@dataclass(frozen=True)
class SparkOutcome:
    """A chunk's decisions as the executors returned them (an `Outcome`)."""

    policy_ids: Sequence[str]
    stored: list[Decision]
    ineligible: dict[Key, Decision]  # of the pairs open when the chunk was read
    bundles: dict[int, frozenset[str]]  # subjects with an eligible decision → true gates
    subjects: frozenset[int]
    has_gates: bool
    known: frozenset[Key] = field(default=frozenset(), repr=False)  # keys of `stored`

    def revised(self, keys: Collection[Key]) -> list[Decision]:
        """The ineligible decisions for `keys`, as the executors computed them.

        Raises:
            Unrevised: a pair opened after the chunk was read (not evaluated as ineligible).
        """
        columns = {p: j for j, p in enumerate(self.policy_ids)}
        out = []
        for key in keys:
            if key[0] not in self.subjects or key[1] not in columns or key in self.known:
                continue
            found = self.ineligible.get(key)
            if found is None:
                raise Unrevised(f"no ineligible decision for {key} came back from Spark")
            out.append(found)
        return sorted(out, key=lambda d: (d.subject_id, columns[d.policy_id]))

    def gates(self, subjects: Collection[int]) -> dict[int, frozenset[str]]:
        """The bundles whose gate holds for each of `subjects` in the chunk."""
        if not subjects or not self.has_gates:
            return {}
        return {s: self.bundles.get(s, frozenset()) for s in subjects if s in self.subjects}


class SparkEvaluator:
    """Chunks read on the driver and evaluated on Spark's executors (a sweep `Evaluator`).

    Spark is met in three methods only — `ship`, `release` and `evaluate` — so the reads, the
    Arrow transport and the decisions can be checked without a JVM (tests/store/
    test_sweep_outcomes.py evaluates the same Arrow batches in-process).
    """

    def __init__(self, spark: Any) -> None:
        """Evaluate on `spark` (a session from `spark_session`)."""
        self.spark = spark

    def warm_up(self) -> None:
        """Run a first, tiny job: the executors start their Python workers and import the
        evaluation code (≈ a JVM start's worth of time on a loaded machine), so the first chunk
        does not wait for it. Optional; the first chunk does it otherwise."""
        frame = self.spark.createDataFrame(pa.table({"id": pa.array([1, 2], pa.int64())}))
        frame.mapInArrow(passed, "id long").toArrow()

    def ship(self, job: Job) -> Any:
        """`job` sent to the executors once (a broadcast variable: `.value` there)."""
        return self.spark.sparkContext.broadcast(job)

    def release(self, shipped: Any) -> None:
        """Free what `ship` sent."""
        shipped.unpersist()

    def evaluate(self, table: pa.Table, shipped: Any) -> pa.Table:
        """A chunk's subject rows → its decision rows, by `mapInArrow` on the executors."""
        frame = self.spark.createDataFrame(table)
        back: pa.Table = frame.mapInArrow(partial(evaluate, shipped), OUT_SCHEMA).toArrow()
        return back

    def chunks(
        self,
        *,
        engine: Engine,
        start: SweepStart,
        catalogue: Catalogue,
        kind: str,
        after: int,
        chunk_size: int,
    ) -> Iterator[tuple[SubjectKeys, SparkOutcome]]:
        """The subjects of `kind` after id `after`, `chunk_size` a chunk, with their decisions."""
        program = compiled(catalogue, start.on, kind)
        shipped = self.ship(Job(kind, program, catalogue.facts, start.on, program_facts(program)))
        try:
            while True:
                with read_session(engine) as session:
                    read = _read(session, kind, start.region, after, chunk_size)
                if read is None:
                    return
                keys, table = read
                # a chunk of households all left without members: nothing to evaluate
                back = self.evaluate(table, shipped) if table.num_rows else OUT_ARROW.empty_table()
                yield keys, _outcome(back, keys, program)
                after = keys.last_id
        finally:
            self.release(shipped)


def _read(
    session: Any, kind: str, region: str | None, after: int, limit: int
) -> tuple[SubjectKeys, pa.Table] | None:
    """The next chunk's keys and its rows as Arrow (facts as JSON text), or None at the end."""
    if kind == "household":
        read, members = household_rows(
            session, region=region, after_id=after, limit=limit, raw=True
        )
        if not read:
            return None
        keys = household_keys(read, members)
    else:
        read, members = (
            enterprise_rows(session, region=region, after_id=after, limit=limit, raw=True),
            [],
        )
        if not read:
            return None
        keys = SubjectKeys(
            kind, np.array([r.id for r in read], dtype=np.int64), [r.profile_hash for r in read],
            [r.region_code for r in read], read[0].id, read[-1].id,
        )  # fmt: skip
    current = read_current(session, kind=kind, first_id=keys.first_id, last_id=keys.last_id)
    open_: dict[int, list[str]] = {}
    for (subject, policy), state in current.items():
        if state.state.status != "ineligible":
            open_.setdefault(subject, []).append(policy)
    rows = [r for r in read if r.id not in keys.empty]
    columns: dict[str, Any] = {
        "id": pa.array([r.id for r in rows], pa.int64()),
        "region_code": pa.array([r.region_code for r in rows], pa.string()),
        "profile_hash": pa.array([r.profile_hash for r in rows], pa.string()),
        "facts": pa.array([r.facts for r in rows], pa.string()),
        "open": pa.array([open_.get(r.id, []) for r in rows], pa.list_(pa.string())),
    }
    if kind == "household":
        by_household: dict[int, list[Any]] = {}
        for m in members:
            by_household.setdefault(m.household_id, []).append(m)
        for name, attr in (
            ("m_id_number", "id_number"),
            ("m_relation", "relation"),
            ("m_facts", "facts"),
        ):
            columns[name] = pa.array(
                [[getattr(m, attr) for m in by_household[r.id]] for r in rows],
                pa.list_(pa.string()),
            )
    return keys, pa.table(columns)


def _outcome(back: pa.Table, keys: SubjectKeys, program: VectorCatalogue) -> SparkOutcome:
    """The returned rows as an `Outcome`, stored decisions in the local sweep's order."""
    columns = {p: j for j, p in enumerate(program.ids)}
    stored, ineligible, bundles = [], {}, {}
    for r in back.to_pylist():
        if r["policy_id"] is None:
            bundles[r["subject_id"]] = frozenset(r["bundles"])
            continue
        amount = None if r["amount"] is None else Decimal(r["amount"])
        x = Decision(
            r["subject_id"], r["policy_id"], r["status"], amount, r["conditions"],
            tuple(r["missing"]), r["dropped_for"], r["inputs_hash"],
        )  # fmt: skip
        if x.status == "ineligible":
            ineligible[x.key] = x
        else:
            stored.append(x)
    stored.sort(key=lambda x: (x.subject_id, columns[x.policy_id]))
    return SparkOutcome(
        policy_ids=program.ids,
        stored=stored,
        ineligible=ineligible,
        bundles=bundles,
        subjects=frozenset(keys.ids.tolist()),
        has_gates=bool(program.gates),
        known=frozenset(x.key for x in stored),
    )
