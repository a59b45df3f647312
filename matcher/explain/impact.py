"""Who gains, who loses: two catalogues' results over the same households, by village.

`compare` takes the vectorised results of the current and the candidate catalogue over one
chunk and counts, per policy and village (12-digit region code): households that become
eligible (gain), stop being eligible (loss), keep eligibility with a higher or lower amount,
and the change in the amount paid. Chunks add up with `ImpactTally.add`; `by_township` rolls
villages up to their township (the first 9 digits). A policy absent from one catalogue is
ineligible everywhere under it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from matcher.vector.engine import VectorResult
from rules.numbers import from_fen

__all__ = ["ImpactTally", "Key", "by_township", "compare"]

_ELIGIBLE = 2
Key = tuple[str, str]  # (policy id, region code)


@dataclass
class ImpactTally:
    """Counts for one policy in one region."""

    gain: int = 0
    loss: int = 0
    raised: int = 0
    lowered: int = 0
    amount_delta: Decimal = Decimal("0.00")  # candidate − current total, eligible households

    def add(self, other: ImpactTally) -> None:
        """Add another tally (another chunk, another village) to this one."""
        self.gain += other.gain
        self.loss += other.loss
        self.raised += other.raised
        self.lowered += other.lowered
        self.amount_delta += other.amount_delta

    @property
    def changed(self) -> bool:
        """True when anyone gains, loses or sees their amount change."""
        return bool(self.gain or self.loss or self.raised or self.lowered)


def _columns(result: VectorResult) -> dict[str, int]:
    return {pid: j for j, pid in enumerate(result.engine.ids)}


def _eligible_amounts(
    result: VectorResult, j: int | None, n: int
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    if j is None:
        return np.zeros(n, dtype=bool), np.zeros(n)
    eligible = result.status[:, j] == _ELIGIBLE
    fen = np.where(eligible, np.nan_to_num(result.fen[:, j], nan=0.0), 0.0)
    return eligible, fen


def compare(current: VectorResult, candidate: VectorResult) -> dict[Key, ImpactTally]:
    """Per (policy, village): gains, losses, amount changes from `current` to `candidate`.

    Args:
        current: the current catalogue's results over a chunk.
        candidate: the candidate's results over the same rows (same population).

    Returns:
        Tallies for every (policy, village) where something changes.
    """
    n = current.population.size
    villages, row_village = np.unique(current.population.regions, return_inverse=True)
    now, then = _columns(current), _columns(candidate)
    out: dict[Key, ImpactTally] = {}
    for pid in sorted(now.keys() | then.keys()):
        was, before = _eligible_amounts(current, now.get(pid), n)
        will, after = _eligible_amounts(candidate, then.get(pid), n)
        both = was & will
        counts = {
            "gain": will & ~was,
            "loss": was & ~will,
            "raised": both & (after > before),  # whole fen: exact comparisons
            "lowered": both & (after < before),
        }
        if not any(c.any() for c in counts.values()):
            continue
        tallies = {
            k: np.bincount(row_village[v], minlength=len(villages)) for k, v in counts.items()
        }
        delta = np.bincount(row_village, weights=after - before, minlength=len(villages))
        for k, village in enumerate(villages.tolist()):
            tally = ImpactTally(
                gain=int(tallies["gain"][k]),
                loss=int(tallies["loss"][k]),
                raised=int(tallies["raised"][k]),
                lowered=int(tallies["lowered"][k]),
                amount_delta=from_fen(int(delta[k])),  # whole fen sum exactly in float64
            )
            if tally.changed:
                out[(pid, village)] = tally
    return out


def by_township(villages: Mapping[Key, ImpactTally]) -> dict[Key, ImpactTally]:
    """Village tallies rolled up to townships (the region code's first 9 digits)."""
    out: dict[Key, ImpactTally] = {}
    for (pid, village), tally in villages.items():
        out.setdefault((pid, village[:9]), ImpactTally()).add(tally)
    return out
