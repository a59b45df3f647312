"""The facts a vectorised result still needs: missing-fact masks for the rows that lack facts.

Undetermined rows need the union of their unknown conditions' facts, plus `region_code` when the
region is unknown; eligible rows whose amount is unknown need the amount's facts. The masks of all
such rows, over all policies, are computed in one pass (`arrays.evaluate_missing`) and then
overridden wherever the exact path evaluated an output itself (`matcher.vector.exact_rows`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from matcher.vector.arrays import Masks, U, mask_names
from matcher.vector.program import Program
from matcher.vector.ranges import evaluate_ranges

if TYPE_CHECKING:
    from matcher.vector.engine import VectorResult

__all__ = ["fill_missing", "mask_of"]

Rows = npt.NDArray[np.int64]


def mask_of(program: Program, mask: Masks) -> tuple[str, ...]:
    """The sorted fact names set in one row's mask."""
    return mask_names(program, mask)


def _bits(program: Program, names: tuple[str, ...], words: int) -> Masks:
    out = np.zeros(words, np.uint64)
    for name in names:
        b = program.bit(name)
        out[b // 64] |= np.uint64(1) << np.uint64(b % 64)
    return out


def fill_missing(res: VectorResult) -> dict[int, tuple[Rows, Masks]]:
    """Per policy column: (rows that lack facts, sorted; their masks)."""
    engine = res.engine
    program = engine.program
    words = max(1, (len(program.missing_names) + 63) // 64)
    region_mask = _bits(program, ("region_code",), words)
    needs: list[tuple[int, Rows, list[int], Rows]] = []  # (policy, rows, slots, region-unknown)
    for j in range(len(engine.policies)):
        column, slot = res.raw_status[:, j], engine.amounts[j]
        undetermined = np.flatnonzero(column == U)
        if undetermined.size:
            regional = undetermined[res.region[undetermined, j] == U]
            needs.append((j, undetermined, engine.conditions[j], regional))
        if slot is not None and j in res.paid:
            rows, amounts = res.paid[j]
            unpaid = rows[np.isnan(amounts)]
            if unpaid.size:
                needs.append((j, unpaid, [slot], np.zeros(0, np.int64)))
    if not needs:
        return {}
    union = np.unique(np.concatenate([rows for _, rows, _, _ in needs]))
    slots = sorted({s for _, _, group, _ in needs for s in group})
    masks = dict(evaluate_ranges(program, res.population.take(union), slots).masks)
    for s in slots:
        exact = res.exact_missing.get(s)
        if not exact:
            continue
        masks[s] = masks[s].copy()  # masks may share one zero array between outputs
        for row, names in exact.items():
            k = int(np.searchsorted(union, row))
            if k < union.shape[0] and union[k] == row:
                masks[s][k] = _bits(program, names, words)
    parts: dict[int, list[tuple[Rows, Masks]]] = {}
    for j, rows, group, regional in needs:
        at = np.searchsorted(union, rows)
        combined = np.zeros((rows.shape[0], words), np.uint64)
        for s in group:
            combined |= masks[s][at]
        if regional.size:
            combined[np.isin(rows, regional)] |= region_mask
        parts.setdefault(j, []).append((rows, combined))
    out = {}
    for j, found in parts.items():
        rows = np.concatenate([r for r, _ in found])
        order = np.argsort(rows, kind="stable")
        out[j] = (rows[order], np.concatenate([m for _, m in found])[order])
    return out
