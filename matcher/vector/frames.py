"""Profiles as column frames (`Columns`, `PopulationChunk`) straight to the engine's `Population`.

A chunk of stored profiles (`store.sweep.columns`) and a chunk of the synthetic generator
(`synth.households`) share one shape: a `PopulationChunk` of household and member `Columns`.

`from_chunk` turns a `PopulationChunk` (households and members as numpy `Columns` with unknown
masks) into `matcher.vector.columns.Population` without building a Python object per household: the
derived facts of `matcher.profiles.derive` are computed over whole columns — member `age` (whole
years at `on`, from the ID number's birth date; unknown before birth), `sex` (17th digit),
`relation`; household `household_size`; enterprise `years_since_founded` (`from_enterprises`). A
derived fact with a formula (`per_capita_monthly_income`) is not a column: the engine computes it.
Strings become codes of one shared `Vocabulary`, unknown cells NaN. `tests/matcher/test_frames.py`
proves the result equal to the profile path (`parse_household` → `household_facts` → `from_facts`).

Only 18-digit ID numbers are read (the generator writes no other kind).
"""

from __future__ import annotations

import calendar
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.vector.columns import Floats, Ints, Population, Vocabulary
from rules.facts import FactCatalogue, FactDef

__all__ = ["Columns", "PopulationChunk", "from_chunk", "from_enterprises", "whole_years"]

Array = npt.NDArray[Any]


@dataclass
class Columns:
    """Columnar rows: equal-length arrays by column name; `unknown[name]` marks empty cells.

    A column without an `unknown` entry is complete. Values under an unknown mark are
    placeholders and must not be read.
    """

    data: dict[str, Array] = field(default_factory=dict)
    unknown: dict[str, Array] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(next(iter(self.data.values()))) if self.data else 0

    def put(self, name: str, values: Array, unknown: Array | None = None) -> None:
        """Add a column; `unknown` (bool, True = empty cell) is dropped when nothing is unknown."""
        self.data[name] = values
        if unknown is not None and unknown.any():
            self.unknown[name] = unknown
        else:
            self.unknown.pop(name, None)

    def cell(self, name: str, row: int) -> Any:
        """One cell as a Python value (None when unknown)."""
        mask = self.unknown.get(name)
        if mask is not None and mask[row]:
            return None
        value = self.data[name][row]
        return value.item() if hasattr(value, "item") else value

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every row as a dict of Python values, unknown cells left out (slow: for small data)."""
        for i in range(len(self)):
            row = {name: self.cell(name, i) for name in self.data}
            yield {k: v for k, v in row.items() if v is not None}


@dataclass(frozen=True)
class PopulationChunk:
    """Consecutive households and their members (members grouped by household, head first)."""

    households: Columns
    members: Columns


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()  # datetime64[D] day 0 as a date ordinal
_ASCII_ZERO = 48


def whole_years(year: Ints, month: Ints, day: Ints, on: date) -> Floats:
    """Whole years completed from each (year, month, day) to `on`; NaN when `on` is before it.

    The same rule as `matcher.profiles.derive.whole_years`: a 29 February anniversary is reached on
    28 February in a common year (民法典 第二百零二条).
    """
    start = year * 10_000 + month * 100 + day
    today = on.year * 10_000 + on.month * 100 + on.day
    if not calendar.isleap(on.year):
        day = np.where((month == 2) & (day == 29), 28, day)
    years = (on.year - year) - ((on.month * 100 + on.day) < (month * 100 + day))
    return np.where(start > today, np.nan, years.astype(np.float64))


def _unknown(cols: Columns, name: str, n: int) -> npt.NDArray[np.bool_]:
    mask = cols.unknown.get(name)
    return np.zeros(n, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)


def _strings(
    values: npt.NDArray[Any], known: npt.NDArray[np.bool_], fact: FactDef | None, vocab: Vocabulary
) -> Floats:
    """String cells as vocabulary codes (NaN where unknown)."""
    out = np.full(values.shape[0], np.nan)
    if fact is not None and fact.values:
        covered = ~known
        for text in fact.values:
            hit = known & (values == text)
            if hit.any():
                out[hit] = vocab.code(text)
                covered |= hit
        if covered.all():
            return out
    uniques, inverse = np.unique(values[known], return_inverse=True)
    codes = np.array([vocab.code(str(u)) for u in uniques], dtype=np.float64)
    out[known] = codes[inverse.reshape(-1)]
    return out


def _column(cols: Columns, name: str, fact: FactDef, vocab: Vocabulary) -> Floats:
    """One supplied fact column encoded as `matcher.vector.columns.encode` would, cell by cell."""
    n = len(cols)
    values = cols.data.get(name)
    if values is None:
        return np.full(n, np.nan)
    known = ~_unknown(cols, name, n)
    if fact.type == "string":
        return _strings(np.asarray(values), known, fact, vocab)
    if fact.type == "date":
        days = np.asarray(values).astype("datetime64[D]").astype(np.int64) + _EPOCH_ORDINAL
        floats = days.astype(np.float64)
    else:  # number or bool
        floats = np.asarray(values).astype(np.float64)
    return np.where(known, floats, np.nan)


def _wanted(facts: FactCatalogue, levels: set[str], only: Collection[str] | None) -> list[str]:
    return [
        n
        for n, f in facts.facts.items()
        if f.level in levels and (only is None or n in only) and not f.derived
    ]


def _grouping(households: Columns, members: Columns) -> tuple[Ints, Ints, Ints]:
    """(member_of, starts, counts): members are consecutive per household, in household order."""
    n = len(households)
    ids = np.asarray(members.data["household_id"])
    m = ids.shape[0]
    first = np.ones(m, dtype=bool)
    if m > 1:
        first[1:] = ids[1:] != ids[:-1]
    starts = np.flatnonzero(first).astype(np.int64)
    if (
        starts.shape[0] != n
        or not (ids[starts] == np.asarray(households.data["household_id"])).all()
    ):
        raise ValueError("members must be grouped by household, in the households' order")
    member_of = (np.cumsum(first) - 1).astype(np.int64)
    counts = np.diff(np.append(starts, m)).astype(np.int64)
    return member_of, starts, counts


def _id_digits(ids: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """The first 17 digits of 18-character ID numbers as an (n, 17) int array."""
    raw = np.asarray(ids).astype("S18")
    if raw.shape[0] and (np.char.str_len(raw) != 18).any():
        raise ValueError("only 18-digit ID numbers are supported")
    matrix = raw.view(np.uint8).reshape(raw.shape[0], 18)[:, :17].astype(np.int64)
    return matrix - _ASCII_ZERO


def _number(d: npt.NDArray[np.int64], lo: int, hi: int) -> Ints:
    out = np.zeros(d.shape[0], dtype=np.int64)
    for k in range(lo, hi):
        out = out * 10 + d[:, k]
    return out


def from_chunk(
    chunk: PopulationChunk,
    facts: FactCatalogue,
    on: date,
    vocabulary: Vocabulary | None = None,
    only: Collection[str] | None = None,
) -> Population:
    """A generator chunk as engine columns at the evaluation date `on`.

    Args:
        chunk: households and their members (members grouped by household, in order).
        facts: the fact catalogue (types, levels, enumerations).
        on: the evaluation date of the derived facts.
        vocabulary: the string codes shared with other chunks (a new one when None).
        only: the fact names to build (the ones a compiled program reads); None: every fact.

    Returns:
        The population, equal to `from_facts` of the same households' profiles.

    Raises:
        ValueError: members not grouped by household, or an ID number not 18 characters.
    """
    vocab = vocabulary if vocabulary is not None else Vocabulary()
    hh, mm = chunk.households, chunk.members
    member_of, starts, counts = _grouping(hh, mm)
    subject = {
        n: _column(hh, n, facts.facts[n], vocab) for n in _wanted(facts, {"household"}, only)
    }
    members = {n: _column(mm, n, facts.facts[n], vocab) for n in _wanted(facts, {"member"}, only)}

    def want(name: str) -> bool:
        return name in facts.facts and (only is None or name in only)

    digits = _id_digits(mm.data["id_number"]) if len(mm) else np.zeros((0, 17), np.int64)
    if want("age"):
        members["age"] = whole_years(
            _number(digits, 6, 10), _number(digits, 10, 12), _number(digits, 12, 14), on
        )
    if want("sex"):
        odd = digits[:, 16] % 2 == 1
        members["sex"] = np.where(odd, vocab.code("male"), vocab.code("female")).astype(np.float64)
    if want("relation"):
        relation = np.asarray(mm.data["relation"])
        members["relation"] = _strings(
            relation, np.ones(relation.shape[0], bool), facts.facts["relation"], vocab
        )
    if want("household_size"):
        subject["household_size"] = counts.astype(np.float64)
    regions = _regions(hh)
    return Population(
        size=len(hh),
        subject=subject,
        members=members,
        member_of=member_of,
        starts=starts,
        counts=counts,
        regions=regions,
        vocabulary=vocab,
    )


def _regions(cols: Columns) -> npt.NDArray[np.str_]:
    n = len(cols)
    values = cols.data.get("region_code")
    if values is None:
        return np.full(n, "", dtype="U12")
    regions = np.asarray(values).astype(np.str_)
    return np.where(_unknown(cols, "region_code", n), "", regions)


def from_enterprises(
    cols: Columns,
    facts: FactCatalogue,
    on: date,
    vocabulary: Vocabulary | None = None,
    only: Collection[str] | None = None,
) -> Population:
    """Enterprises (`synth.enterprises`) as engine columns at `on`.

    `years_since_founded` is whole years since `founded_on`, unknown when that is unknown or
    after `on` (as `matcher.profiles.derive.enterprise_facts`).
    """
    vocab = vocabulary if vocabulary is not None else Vocabulary()
    n = len(cols)
    subject = {
        n_: _column(cols, n_, facts.facts[n_], vocab) for n_ in _wanted(facts, {"enterprise"}, only)
    }
    if "years_since_founded" in facts.facts and (only is None or "years_since_founded" in only):
        founded = cols.data.get("founded_on")
        if founded is None:
            subject["years_since_founded"] = np.full(n, np.nan)
        else:
            days = np.asarray(founded).astype("datetime64[D]")
            year = days.astype("datetime64[Y]").astype(np.int64) + 1970
            month = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
            day = (days - days.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
            years = whole_years(year, month, day, on)
            subject["years_since_founded"] = np.where(
                _unknown(cols, "founded_on", n), np.nan, years
            )
    zero = np.zeros(n, dtype=np.int64)
    return Population(
        size=n,
        subject=subject,
        members={},
        member_of=np.zeros(0, dtype=np.int64),
        starts=zero,
        counts=zero.copy(),
        regions=_regions(cols),
        vocabulary=vocab,
    )
