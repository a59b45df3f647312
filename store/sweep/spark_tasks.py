"""The Spark sweep's executor side: Arrow batches of stored subjects → their decisions as Arrow.

Run by `mapInArrow` on each executor (`store.sweep.spark` is the driver side). The facts arrive
as JSON text and are parsed here; the columns are built by `store.sweep.chunks`, evaluated by the
vectorised engine and turned into decisions by `store.sweep.decisions`, exactly as in the local
sweep. This module imports no ORM and no pyspark (an executor's Python worker starts faster;
the broadcast variable is only read through `.value`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

import orjson
import pyarrow as pa

from matcher.vector.engine import VectorCatalogue, run
from rules.facts import FactCatalogue
from store.sweep.chunks import enterprise_chunk, household_chunk
from store.sweep.decisions import EngineOutcome, revised_decisions, stored_decisions
from store.sweep.diff import Decision

__all__ = ["OUT_ARROW", "OUT_SCHEMA", "Job", "evaluate", "passed"]

# What the executors return, one row per decision, or per subject with true bundle gates
# (policy_id null, `bundles` set). Amounts travel as text: a Decimal to the fen, exactly.
OUT_SCHEMA = (
    "subject_id long, policy_id string, status string, amount string, conditions string, "
    "missing array<string>, dropped_for string, inputs_hash string, bundles array<string>"
)
OUT_ARROW = pa.schema(
    [
        ("subject_id", pa.int64()),
        ("policy_id", pa.string()),
        ("status", pa.string()),
        ("amount", pa.string()),
        ("conditions", pa.string()),
        ("missing", pa.list_(pa.string())),
        ("dropped_for", pa.string()),
        ("inputs_hash", pa.string()),
        ("bundles", pa.list_(pa.string())),
    ]
)


class _Row(NamedTuple):
    id: int
    region_code: str | None
    profile_hash: str
    facts: dict[str, Any]


class _Member(NamedTuple):
    household_id: int
    id_number: str
    relation: str
    facts: dict[str, Any]


@dataclass(frozen=True)
class Job:
    """What every task needs: shipped once per phase as a broadcast variable."""

    kind: str
    program: VectorCatalogue
    facts: FactCatalogue
    on: date
    only: frozenset[str]


def passed(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """The batches unchanged: a first job that starts the executors' Python workers and has
    them import this module (`SparkEvaluator.warm_up`)."""
    yield from batches


def evaluate(shipped: Any, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """On an executor: each Arrow batch of subject rows → its decisions as Arrow rows."""
    job: Job = shipped.value
    for batch in batches:
        if batch.num_rows:
            yield _decide(job, batch)


def _decide(job: Job, batch: pa.RecordBatch) -> pa.RecordBatch:
    """One batch through the columns, the vectorised engine and the sweep's decision rules."""
    d = batch.to_pydict()
    rows = [
        _Row(i, r, h, orjson.loads(f))
        for i, r, h, f in zip(d["id"], d["region_code"], d["profile_hash"], d["facts"], strict=True)
    ]
    if job.kind == "household":
        members = [
            _Member(i, n, rel, orjson.loads(f))
            for i, ns, rels, fs in zip(
                d["id"], d["m_id_number"], d["m_relation"], d["m_facts"], strict=True
            )
            for n, rel, f in zip(ns, rels, fs, strict=True)
        ]
        chunk = household_chunk(rows, members, on=job.on, facts=job.facts, only=job.only)
    else:
        chunk = enterprise_chunk(rows, on=job.on, facts=job.facts, only=job.only)
    result = run(job.program, chunk.population)
    stored = stored_decisions(result, chunk)
    opened = [(i, p) for i, ps in zip(d["id"], d["open"], strict=True) for p in ps]
    decided = stored + revised_decisions(result, chunk, opened)
    eligible = {x.subject_id for x in stored if x.status == "eligible"}
    gates = EngineOutcome(result, chunk, stored).gates(eligible)
    return _to_arrow(decided, gates)


def _to_arrow(decided: list[Decision], gates: dict[int, frozenset[str]]) -> pa.RecordBatch:
    true_gates = sorted((s, sorted(b)) for s, b in gates.items() if b)
    n = len(true_gates)
    return pa.RecordBatch.from_pydict(
        {
            "subject_id": [x.subject_id for x in decided] + [s for s, _ in true_gates],
            "policy_id": [x.policy_id for x in decided] + [None] * n,
            "status": [x.status for x in decided] + [None] * n,
            "amount": [None if x.amount is None else str(x.amount) for x in decided] + [None] * n,
            "conditions": [x.conditions for x in decided] + [None] * n,
            "missing": [list(x.missing) for x in decided] + [None] * n,
            "dropped_for": [x.dropped_for for x in decided] + [None] * n,
            "inputs_hash": [x.inputs_hash for x in decided] + [None] * n,
            "bundles": [None] * len(decided) + [b for _, b in true_gates],
        },
        schema=OUT_ARROW,
    )
