"""`excludes` over a vectorised result, on arrays: the rule of `matcher.interpreter.excludes`.

Where every eligible partner's amount is known, the greedy rule runs as array operations: per row,
policies in order of (−amount, id), each kept unless a partner was kept before it, and then dropped
for the smallest-id kept partner. A row where an eligible partner's amount is not yet known goes to
`matcher.interpreter.excludes.resolve` itself, with the row's own results, so that which one is kept
is decided — or left undetermined — exactly as the interpreter does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from matcher.interpreter.excludes import resolve
from matcher.vector.arrays import F, T, U

if TYPE_CHECKING:
    from matcher.vector.engine import VectorResult

__all__ = ["apply_excludes"]

_STATUS = {"ineligible": F, "undetermined": U, "eligible": T}


def apply_excludes(res: VectorResult) -> None:
    """Apply `excludes` to `res` in place (status, dropped; undecided rows in `settled`)."""
    ids = res.engine.ids
    col = {pid: j for j, pid in enumerate(ids)}
    policies = res.engine.catalogue.policies
    pairs = {(col[a], col[b]) for a in ids for b in policies[a].spec.excludes if b in col}
    if not pairs:
        return
    both = np.zeros(res.status.shape[0], bool)
    for a, b in pairs:
        both |= (res.raw_status[:, a] == T) & (res.raw_status[:, b] == T)
    group = sorted({j for pair in pairs for j in pair})
    unpaid = np.zeros(res.status.shape[0], bool)  # an eligible amount not yet known
    for j in group:
        if j in res.paid:
            rows, amounts = res.paid[j]
            unpaid[rows[np.isnan(amounts)]] = True
    unsure = both & unpaid
    _known(res, pairs, group, np.flatnonzero(both & ~unsure))
    for row in np.flatnonzero(unsure).tolist():
        _by_row(res, row, group)


def _known(
    res: VectorResult, pairs: set[tuple[int, int]], group: list[int], rows: np.ndarray
) -> None:
    if rows.size == 0:
        return
    local = {j: k for k, j in enumerate(group)}
    partners = np.zeros((len(group), len(group)), bool)
    for a, b in pairs:
        partners[local[a], local[b]] = partners[local[b], local[a]] = True
    cols = np.asarray(group)
    eligible = res.raw_status[np.ix_(rows, cols)] == T
    fen = np.stack([res.fen_at(j, rows) for j in group], axis=1)
    amounts = np.where(eligible, np.nan_to_num(fen, nan=0.0), 0.0)
    order = np.lexsort((np.broadcast_to(np.arange(len(group)), amounts.shape), -amounts), axis=1)
    kept = np.zeros_like(eligible)
    local_rows = np.arange(rows.size)
    for t in range(len(group)):
        k = order[:, t]
        clash = (kept & partners[k]).any(axis=1)
        here = eligible[local_rows, k]
        kept[local_rows, k] = here & ~clash
        lost = here & clash
        winner = np.argmax(kept & partners[k], axis=1)
        columns = cols[k]
        lost_at = zip(rows[lost].tolist(), columns[lost].tolist(), strict=True)
        res.dropped.update(zip(lost_at, cols[winner[lost]].tolist(), strict=True))
        res.status[rows[lost], columns[lost]] = F


def _by_row(res: VectorResult, row: int, group: list[int]) -> None:
    """One row through the interpreter's rule, its own results as the vectorised engine has them."""
    own = [res.own(row, j) for j in group]
    policies = res.engine.catalogue.policies
    settled = resolve(own, lambda pid: policies[pid].spec.excludes)
    col = {res.engine.ids[j]: j for j in group}
    for before, after in zip(own, settled, strict=True):
        if after == before:
            continue
        j = col[after.policy_id]
        res.status[row, j] = _STATUS[after.status]
        res.settled[(row, j)] = after
        if after.dropped_for is not None:
            res.dropped[(row, j)] = col[after.dropped_for]
