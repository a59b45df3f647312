"""A vectorised result as the decisions a sweep stores, built only for the cells worth storing.

A stored decision mirrors the interpreter's `PolicyResult` (tests/store/test_sweep.py checks it
against `matcher.interpreter.match`): status after `excludes`; the amount only when eligible (a
policy dropped under `excludes` is ineligible and pays nothing); one T/F/U per condition, or ""
when the date, the region or a parameter decided before any condition (as `scope_result`); the
facts still missing; the policy kept instead of a dropped one.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import numpy.typing as npt

from matcher.arrays import T
from matcher.vector import STATUS_NAMES, VectorResult
from store.diff import Decision
from store.profile_columns import SubjectChunk

__all__ = ["decisions"]

_LETTERS = np.frombuffer(b"FUT", dtype=np.uint8)  # Kleene 0/1/2 → F/U/T


def _conditions(result: VectorResult, rows: npt.NDArray[np.int64], j: int) -> list[str]:
    """The T/F/U string of policy `j` for each of `rows`."""
    slots = result.engine.conditions[j]
    if result.engine.bound[j] is None or not slots:
        return [""] * rows.shape[0]
    codes = np.stack([result.verdicts[s][rows] for s in slots], axis=1)
    letters = np.ascontiguousarray(_LETTERS[codes]).view(f"S{len(slots)}").ravel()
    decided = result.region[rows, j] == T  # out of region or region unknown: no conditions
    return [t.decode() if ok else "" for t, ok in zip(letters, decided.tolist(), strict=True)]


def _cells(
    result: VectorResult, chunk: SubjectChunk, keep: Collection[tuple[int, str]]
) -> npt.NDArray[np.bool_]:
    """Cells to store: every non-ineligible one, and those whose stored state must be revised."""
    cells = result.status != 0
    if keep:
        row_of = {int(s): i for i, s in enumerate(chunk.ids.tolist())}
        col_of = {pid: j for j, pid in enumerate(result.engine.ids)}
        for subject, policy in keep:
            if subject in row_of and policy in col_of:
                cells[row_of[subject], col_of[policy]] = True
    return cells


def decisions(
    result: VectorResult, chunk: SubjectChunk, keep: Collection[tuple[int, str]] = ()
) -> list[Decision]:
    """The decisions of a chunk worth storing, subject by subject, policies in catalogue order.

    Args:
        result: the engine's result over `chunk.population`.
        chunk: the subjects (row `i` is `chunk.ids[i]`) and their profile hashes.
        keep: (subject id, policy id) pairs whose ineligible decisions are wanted too (those with
            a stored state that is not ineligible).
    """
    rows, cols = np.nonzero(_cells(result, chunk, keep))
    texts: list[str] = [""] * rows.shape[0]
    for j in np.unique(cols).tolist():
        at = np.flatnonzero(cols == j)
        for k, text in zip(at.tolist(), _conditions(result, rows[at], j), strict=True):
            texts[k] = text
    policy_ids, subject_ids = result.engine.ids, chunk.ids.tolist()
    out = []
    for k, (row, j) in enumerate(zip(rows.tolist(), cols.tolist(), strict=True)):
        status = STATUS_NAMES[int(result.status[row, j])]
        amount = float(result.amount[row, j]) if status == "eligible" else float("nan")
        winner = int(result.dropped_for[row, j])
        missing = result.missing(row, j) if result.raw_status[row, j] != 0 else ()
        out.append(
            Decision(
                subject_id=subject_ids[row],
                policy_id=policy_ids[j],
                status=status,
                amount=None if np.isnan(amount) else amount,
                conditions=texts[k],
                missing=missing,
                dropped_for=policy_ids[winner] if winner >= 0 else None,
                inputs_hash=chunk.hashes[row],
            )
        )
    return out
