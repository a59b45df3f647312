"""A set of 64-bit keys for a whole upload in bounded memory: 8 bytes a key, batch lookups.

Used to find an ID number listed twice, or a household whose rows are not together, across a
sheet of millions of rows: a Python set would cost ~70 bytes a key. Keys are kept in sorted
numpy runs whose sizes at least double from newest to oldest (a log-structured merge), so there
are O(log n) runs and every batch is checked with one `searchsorted` per run.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["SeenKeys", "first_of_each", "id_key", "text_key"]

Keys = npt.NDArray[np.int64]


def id_key(number: str) -> int:
    """A checked 18-character ID number as an integer key (its first 17 digits decide it)."""
    return int(number[:17])


def text_key(text: str) -> int:
    """A 64-bit hash of any text (collisions are negligible for 10^6 household ids)."""
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


class SeenKeys:
    """The keys added so far, as sorted runs."""

    def __init__(self) -> None:
        self.runs: list[Keys] = []

    def __len__(self) -> int:
        return sum(len(r) for r in self.runs)

    def contains(self, keys: Any) -> npt.NDArray[np.bool_]:
        """For each key of a batch, whether it was added before."""
        wanted = np.asarray(keys, dtype=np.int64)
        found = np.zeros(len(wanted), dtype=bool)
        for run in self.runs:
            at = np.minimum(np.searchsorted(run, wanted), len(run) - 1)
            found |= run[at] == wanted
        return found

    def add(self, keys: Any) -> None:
        """Add a batch of keys (merging runs so their count stays logarithmic)."""
        run = np.unique(np.asarray(keys, dtype=np.int64))
        while self.runs and len(self.runs[-1]) <= 2 * len(run):
            run = np.union1d(self.runs.pop(), run)
        if len(run):
            self.runs.append(run)


def first_of_each(keys: Any) -> npt.NDArray[np.bool_]:
    """For each key of a batch, whether it is the first occurrence within the batch."""
    wanted = np.asarray(keys, dtype=np.int64)
    first = np.zeros(len(wanted), dtype=bool)
    first[np.unique(wanted, return_index=True)[1]] = True
    return first
