"""A vectorised result as the decisions a sweep stores, built only for the cells worth storing.

A stored decision mirrors the interpreter's `PolicyResult` (tests/store/test_sweep.py checks it
against `matcher.interpreter.match`): status after `excludes`; the amount only when eligible (a
policy dropped under `excludes` is ineligible and pays nothing); one T/F/U per condition, or ""
when the date, the region (when known to be outside) or a parameter decided before any
condition (as `scope_result`); the facts still missing; the policy kept instead of a dropped
one.

Where a chunk's decisions came from is an `Outcome`: `EngineOutcome` over a result computed in
this process, or the Spark sweep's decisions brought back from its executors
(`store.sweep.spark`). The diff (`store.sweep.evaluate.plan_outcome`) reads only this interface.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from matcher.vector.arrays import F, T
from matcher.vector.engine import STATUS_NAMES, VectorResult
from store.sweep.chunks import SubjectChunk, SubjectKeys
from store.sweep.diff import Decision, Key

__all__ = [
    "EngineOutcome",
    "Outcome",
    "Unrevised",
    "ended_decisions",
    "revised_decisions",
    "stored_decisions",
]


class Unrevised(Exception):
    """An outcome lacks the ineligible decision of a pair whose stored state is not ineligible
    (the state moved after the decisions were computed): evaluate the chunk again."""


class Outcome(Protocol):
    """A chunk's decisions, wherever they were computed."""

    @property
    def policy_ids(self) -> Sequence[str]:
        """The catalogue's policies of the chunk's kind, in the engine's column order."""
        ...

    @property
    def stored(self) -> list[Decision]:
        """Every eligible or undetermined decision, by subject then policy column."""
        ...

    def revised(self, keys: Collection[Key]) -> list[Decision]:
        """The ineligible decisions for `keys` (as `revised_decisions`).

        Raises:
            Unrevised: one of them is not known here.
        """
        ...

    def gates(self, subjects: Collection[int]) -> dict[int, frozenset[str]]:
        """The bundles whose gate holds, for each of `subjects` in the chunk."""
        ...


@dataclass(frozen=True)
class EngineOutcome:
    """The decisions of a chunk evaluated in this process."""

    result: VectorResult
    chunk: SubjectChunk
    stored: list[Decision]

    @property
    def policy_ids(self) -> Sequence[str]:
        """The engine's policy columns."""
        return self.result.engine.ids

    def revised(self, keys: Collection[Key]) -> list[Decision]:
        """`revised_decisions` of the result."""
        return revised_decisions(self.result, self.chunk, keys)

    def gates(self, subjects: Collection[int]) -> dict[int, frozenset[str]]:
        """The bundles whose gate is true for each of `subjects` (none when there are none)."""
        if not subjects or not self.result.gates:
            return {}
        wanted = set(subjects)
        rows = {int(s): i for i, s in enumerate(self.chunk.ids.tolist()) if int(s) in wanted}
        return {
            s: frozenset(b for b, v in self.result.gates.items() if int(v[i]) == int(T))
            for s, i in rows.items()
        }


_LETTERS = np.frombuffer(b"FUT", dtype=np.uint8)  # Kleene 0/1/2 → F/U/T


def _conditions(result: VectorResult, rows: npt.NDArray[np.int64], j: int) -> list[str]:
    """The T/F/U string of policy `j` for each of `rows`."""
    slots = result.engine.conditions[j]
    if result.engine.bound[j] is None or not slots:
        return [""] * rows.shape[0]
    codes = np.stack([result.verdicts[s][rows] for s in slots], axis=1)
    letters = np.ascontiguousarray(_LETTERS[codes]).view(f"S{len(slots)}").ravel()
    decided = result.region[rows, j] != F  # out of region: decided before any condition
    return [t.decode() if ok else "" for t, ok in zip(letters, decided.tolist(), strict=True)]


def stored_decisions(result: VectorResult, chunk: SubjectChunk) -> list[Decision]:
    """Every eligible or undetermined decision of a chunk, subject by subject.

    Args:
        result: the engine's result over `chunk.population`.
        chunk: the subjects (row `i` is `chunk.ids[i]`) and their profile hashes.
    """
    rows, cols = np.nonzero(result.status != 0)
    return _build(result, chunk, rows, cols)


def revised_decisions(
    result: VectorResult, chunk: SubjectChunk, keys: Collection[tuple[int, str]]
) -> list[Decision]:
    """The ineligible decisions for `keys` (pairs whose stored state is not ineligible).

    Args:
        result: the engine's result over `chunk.population`.
        chunk: the subjects.
        keys: (subject id, policy id) pairs; pairs outside the chunk are ignored.
    """
    row_of = {s: i for i, s in enumerate(chunk.ids.tolist())}
    col_of = {pid: j for j, pid in enumerate(result.engine.ids)}
    cells = [(row_of[s], col_of[p]) for s, p in keys if s in row_of and p in col_of]
    cells = sorted((r, j) for r, j in cells if result.status[r, j] == 0)
    rows = np.array([r for r, _ in cells], dtype=np.int64)
    cols = np.array([j for _, j in cells], dtype=np.int64)
    return _build(result, chunk, rows, cols)


def ended_decisions(chunk: SubjectKeys, keys: Collection[tuple[int, str]]) -> list[Decision]:
    """Ineligible decisions for `keys` of households left without members (`chunk.empty`):
    not a profile any more, so nothing they were entitled to stands."""
    return [
        Decision(s, p, "ineligible", None, "", (), None, chunk.empty[s])
        for s, p in sorted(keys)
        if s in chunk.empty
    ]


def _build(
    result: VectorResult, chunk: SubjectChunk, rows: npt.NDArray[np.int64], cols: npt.NDArray[Any]
) -> list[Decision]:
    texts: list[str] = [""] * rows.shape[0]
    for j in np.unique(cols).tolist():
        at = np.flatnonzero(cols == j)
        for k, text in zip(at.tolist(), _conditions(result, rows[at], j), strict=True):
            texts[k] = text
    policy_ids, subject_ids = result.engine.ids, chunk.ids.tolist()
    out = []
    for k, (row, j) in enumerate(zip(rows.tolist(), cols.tolist(), strict=True)):
        status = STATUS_NAMES[int(result.status[row, j])]
        amount = result.amount_at(row, j) if status == "eligible" else None
        winner = result.dropped.get((row, j), -1)
        missing = result.missing(row, j) if result.raw_status[row, j] != 0 else ()
        out.append(
            Decision(
                subject_id=subject_ids[row],
                policy_id=policy_ids[j],
                status=status,
                amount=amount,
                conditions=texts[k],
                missing=missing,
                dropped_for=policy_ids[winner] if winner >= 0 else None,
                inputs_hash=chunk.hashes[row],
            )
        )
    return out
