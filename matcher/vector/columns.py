"""A population as columns: households (or enterprises) as rows, members as a second table.

Every fact column is float64 with NaN for unknown: numbers as they are, dates as ordinals, bools as
0/1, strings as codes in one vocabulary shared by all columns (so a fact can be compared with
another). Members are sorted by household; `starts` gives each household's first member row.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import numpy.typing as npt

from matcher.profiles.facts import Facts
from rules.facts import FactCatalogue, FactValue

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass
class Vocabulary:
    """String values ↔ codes, shared by every string column of a population."""

    codes: dict[str, int] = field(default_factory=dict)
    _texts: list[str] = field(default_factory=list, repr=False, compare=False)

    def code(self, text: str) -> int:
        """The code of `text`, adding it if new."""
        return self.codes.setdefault(text, len(self.codes))

    def text(self, code: int) -> str:
        """The string of a code (codes are given in insertion order, so the reverse is a list
        extended by the strings added since the last call)."""
        if len(self._texts) < len(self.codes):
            self._texts.extend(itertools.islice(self.codes, len(self._texts), None))
        return self._texts[code]

    def lookup(self, text: str) -> float:
        """The code of `text`, or -1.0 (matches nothing) when no row has it."""
        return float(self.codes.get(text, -1))


@dataclass
class Population:
    """Columns of one chunk of subjects (and their members)."""

    size: int
    subject: dict[str, Floats]
    members: dict[str, Floats]
    member_of: Ints  # household row of each member row, non-decreasing
    starts: Ints  # first member row of each household (len = size)
    counts: Ints  # members per household
    regions: npt.NDArray[np.str_]  # region code per row ("" = unknown)
    vocabulary: Vocabulary

    _slots: Ints | None = field(default=None, repr=False, compare=False)

    def member_slots(self, widest: int = 16) -> Ints | None:
        """Member rows laid out slot-major: row k holds each household's k-th member (or
        `member_count`, a sentinel, past its last). None when a household is wider than
        `widest` (a layout that large would cost more than it saves)."""
        if self._slots is None:
            width = int(self.counts.max()) if self.size else 0
            if width > widest:
                return None
            slots = np.full((width, self.size), self.member_count, dtype=np.int64)
            rank = np.arange(self.member_count, dtype=np.int64) - self.starts[self.member_of]
            slots[rank, self.member_of] = np.arange(self.member_count, dtype=np.int64)
            self._slots = slots
        return self._slots

    @property
    def member_count(self) -> int:
        """Number of member rows."""
        return int(self.member_of.shape[0])

    def take(self, rows: Ints) -> Population:
        """The sub-population of the given household rows (in that order), with their members."""
        counts = self.counts[rows]
        member_rows = _member_rows(self.starts[rows], counts)
        return Population(
            size=int(rows.shape[0]),
            subject={k: v[rows] for k, v in self.subject.items()},
            members={k: v[member_rows] for k, v in self.members.items()},
            member_of=np.repeat(np.arange(rows.shape[0], dtype=np.int64), counts),
            starts=_starts(counts),
            counts=counts,
            regions=self.regions[rows],
            vocabulary=self.vocabulary,
        )


def _starts(counts: Ints) -> Ints:
    starts = np.zeros(counts.shape[0], dtype=np.int64)
    if counts.shape[0] > 1:
        np.cumsum(counts[:-1], out=starts[1:])
    return starts


def _member_rows(starts: Ints, counts: Ints) -> Ints:
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - _starts(counts), counts)
    return np.arange(total, dtype=np.int64) + offsets


def encode(value: FactValue | None, vocabulary: Vocabulary) -> float:
    """One fact value as a float: NaN for unknown, ordinals for dates, codes for strings."""
    if value is None:
        return float("nan")
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, str):
        return float(vocabulary.code(value))
    if isinstance(value, date):
        return float(value.toordinal())
    return float(value)


def from_facts(
    profiles: Sequence[Facts], catalogue: FactCatalogue, vocabulary: Vocabulary | None = None
) -> Population:
    """Columns from one Facts per subject (the bridge from the interpreter's input)."""
    vocab = vocabulary or Vocabulary()
    members = [m for f in profiles for m in f.members]
    counts = np.array([len(f.members) for f in profiles], dtype=np.int64)
    subject_names = _names(catalogue, member=False)
    member_names = _names(catalogue, member=True)
    return Population(
        size=len(profiles),
        subject={n: _column([f.subject.get(n) for f in profiles], vocab) for n in subject_names},
        members={n: _column([m.get(n) for m in members], vocab) for n in member_names},
        member_of=np.repeat(np.arange(len(profiles), dtype=np.int64), counts),
        starts=_starts(counts),
        counts=counts,
        regions=np.array([f.region_code or "" for f in profiles], dtype=np.str_),
        vocabulary=vocab,
    )


def _names(catalogue: FactCatalogue, *, member: bool) -> list[str]:
    level = {"member"} if member else {"household", "enterprise"}
    return [n for n, f in catalogue.facts.items() if f.level in level]


def _column(values: list[FactValue | None], vocab: Vocabulary) -> Floats:
    return np.array([encode(v, vocab) for v in values], dtype=np.float64)
