"""Building blocks of the synthetic population: unique ID sequences, names, ranks."""

from __future__ import annotations

from datetime import date

import numpy as np

from synth.codes import Array

__all__ = ["IdAllocator", "names", "rank_within"]

_SURNAMES = np.array(
    list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾田萧潘袁蒋")
)
_GIVEN = np.array(list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国玉梅红文海云飞鹏"))
_DAY0 = np.datetime64("1900-01-01", "D")
_SEQS_PER_SEX = 500


def rank_within(keys: Array) -> Array:
    """Each element's 0-based position among the equal keys before it (a group-wise counter)."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    starts = np.r_[True, ordered[1:] != ordered[:-1]]
    first = np.maximum.accumulate(np.where(starts, np.arange(len(keys)), 0))
    ranks = np.empty(len(keys), dtype=np.int64)
    ranks[order] = np.arange(len(keys)) - first
    return ranks


class IdAllocator:
    """Hands out ID sequence codes so that no two people share region, birth date and code.

    Counters are kept per (region, birth date, sex) across chunks, so IDs stay unique over a
    whole population; each key starts at a pseudo-random code so sequences look varied.
    """

    def __init__(self, as_of: date) -> None:
        self.days = int((np.datetime64(as_of, "D") - _DAY0).astype(np.int64)) + 1
        self.regions: dict[str, int] = {}
        self.counts: dict[int, Array] = {}

    def allocate(self, region: Array, birth: Array, male: Array) -> Array:
        """3-digit sequence codes (odd for men, even for women), unique per region and date.

        Raises:
            ValueError: when more than 500 people of one sex share a region and birth date.
        """
        day = (birth - _DAY0).astype(np.int64)
        if day.min(initial=0) < 0 or day.max(initial=0) >= self.days:
            raise ValueError("birth dates must fall between 1900-01-01 and the reference date")
        for code in np.unique(region):
            self.regions.setdefault(str(code), len(self.regions))
        index = np.array([self.regions[str(r)] for r in np.unique(region)])[
            np.searchsorted(np.unique(region), region)
        ]
        key = day * 2 + male.astype(np.int64)
        seq = np.empty(len(key), dtype=np.int64)
        for r in np.unique(index):
            rows = index == r
            counts = self.counts.setdefault(int(r), np.zeros(self.days * 2, dtype=np.int32))
            taken = counts[key[rows]] + rank_within(key[rows])
            counts += np.bincount(key[rows], minlength=len(counts)).astype(np.int32)
            seq[rows] = taken
        if seq.max(initial=0) >= _SEQS_PER_SEX:
            raise ValueError("more than 500 people of one sex born on one day in one county")
        start = (key * 7919 + index * 104729) % _SEQS_PER_SEX
        codes: Array = 2 * ((start + seq) % _SEQS_PER_SEX) + male.astype(np.int64)
        return codes


def names(rng: np.random.Generator, household: Array, spouse: Array) -> tuple[Array, Array]:
    """(surname, given name) per person: one surname per household, spouses their own."""
    family = rng.integers(0, len(_SURNAMES), household.max(initial=0) + 1)[household]
    own = rng.integers(0, len(_SURNAMES), len(household))
    surname = _SURNAMES[np.where(spouse, own, family)]
    first = _GIVEN[rng.integers(0, len(_GIVEN), len(household))]
    second = _GIVEN[rng.integers(0, len(_GIVEN), len(household))]
    given = np.where(rng.random(len(household)) < 0.7, np.strings.add(first, second), first)
    return surname, given
