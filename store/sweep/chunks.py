"""Stored subjects as engine input, without the database: rows → `Columns` → `Population`.

The builders of `store.sweep.columns` (the database reads) and of the Spark sweep's executors
(`store.sweep.spark_tasks`, which get the same rows as Arrow): pure numpy and `matcher`, so an
executor imports no ORM. Only the facts a compiled program reads become columns, plus the inputs
of the derived ones it reads (`per_capita_monthly_income` needs every member's
`monthly_income`); a fact absent from a profile's JSON is an unknown cell.
`matcher.vector.frames.from_chunk` then derives age, sex, household size and per-capita income
over whole columns, exactly as the profile path does.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.vector.columns import Population, Vocabulary
from matcher.vector.engine import VectorCatalogue
from matcher.vector.frames import Columns, PopulationChunk, from_chunk, from_enterprises
from rules.facts import FactCatalogue

__all__ = [
    "SubjectChunk",
    "SubjectKeys",
    "enterprise_chunk",
    "household_chunk",
    "household_keys",
    "program_facts",
]

# Placeholders under an unknown mask: never read, but they must convert to the column's type.
_PLACEHOLDER = {"number": 0, "bool": False, "date": "1970-01-01", "string": ""}
_DTYPE: dict[str, npt.DTypeLike] = {
    "number": np.float64,
    "bool": np.float64,
    "date": "datetime64[D]",
    "string": np.str_,
}


@dataclass(frozen=True)
class SubjectKeys:
    """Consecutive stored subjects, as the diff and the writes know them (no facts).

    `first_id`…`last_id` is the keyset range read; households in it left without members (every
    member moved to another household) are not profiles any more and are listed in `empty`
    (id → profile hash) instead of being rows.
    """

    kind: str  # household | enterprise
    ids: npt.NDArray[np.int64]
    hashes: list[str]  # profile_hash per row: what a decision was computed from
    regions: list[str | None]
    first_id: int
    last_id: int  # the keyset position after this chunk
    empty: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SubjectChunk(SubjectKeys):
    """Consecutive stored subjects as engine input: row `i` of `population` is `ids[i]`."""

    population: Population = field(kw_only=True)


def program_facts(engine: VectorCatalogue) -> frozenset[str]:
    """The fact names a compiled program reads (the only columns worth building)."""
    return frozenset(s.data[0] for s in engine.program.steps if s.op == "fact")  # type: ignore[index]  # a fact step's data: (name, …)


def _stored_names(facts: FactCatalogue, only: Collection[str] | None, level: str) -> list[str]:
    """Supplied facts of `level` to read from the JSON: those wanted, and inputs of derived ones."""
    wanted = set(facts.facts) if only is None else set(only)
    for name in list(wanted):
        fact = facts.facts.get(name)
        if fact is not None and fact.derived:
            wanted.update(fact.inputs)
    return sorted(
        n
        for n in wanted
        if n in facts.facts and facts.facts[n].level == level and not facts.facts[n].derived
    )


def _array(values: list[Any], unknown: npt.NDArray[np.bool_], kind: str, name: str) -> Any:
    filled = [_PLACEHOLDER[kind] if u else v for v, u in zip(values, unknown.tolist(), strict=True)]
    try:
        return np.array(filled, dtype=_DTYPE[kind])
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"stored fact {name!r} holds a value that is not a {kind} ({exc}); the profile was "
            "stored under another catalogue: re-import it"
        ) from None


def _columns(
    docs: Sequence[dict[str, Any]], names: Sequence[str], facts: FactCatalogue, into: Columns
) -> Columns:
    """The named facts of JSON documents added as columns, absent or null values unknown."""
    for name in names:
        values = [d.get(name) for d in docs]
        unknown = np.fromiter((v is None for v in values), bool, len(values))
        into.put(name, _array(values, unknown, facts.facts[name].type, name), unknown)
    return into


def _identity(rows: Sequence[Any], id_column: str) -> Columns:
    """Subject ids (linking members) and region codes (unknown when not stored)."""
    regions = [r.region_code for r in rows]
    cols = Columns()
    cols.put(id_column, np.array([r.id for r in rows], dtype=np.int64))
    unknown = np.array([r is None for r in regions], dtype=bool)
    cols.put("region_code", np.array([r or "" for r in regions], dtype=np.str_), unknown)
    return cols


def _chunk(
    kind: str, rows: Sequence[Any], population: Population, bounds: tuple[int, int]
) -> SubjectChunk:
    ids = np.array([r.id for r in rows], dtype=np.int64)
    hashes, regions = [r.profile_hash for r in rows], [r.region_code for r in rows]
    return SubjectChunk(kind, ids, hashes, regions, *bounds, population=population)


def household_keys(read: Sequence[Any], members: Sequence[Any]) -> SubjectKeys:
    """The keys of household rows (`household_rows`): those without members go to `empty`."""
    housed = {m.household_id for m in members}
    rows = [r for r in read if r.id in housed]
    ids = np.array([r.id for r in rows], dtype=np.int64)
    empty = {r.id: r.profile_hash for r in read if r.id not in housed}
    return SubjectKeys(
        "household", ids, [r.profile_hash for r in rows], [r.region_code for r in rows],
        read[0].id, read[-1].id, empty,
    )  # fmt: skip


def household_chunk(
    read: Sequence[Any],
    members: Sequence[Any],
    *,
    on: date,
    facts: FactCatalogue,
    only: Collection[str] | None = None,
) -> SubjectChunk:
    """Household rows and their members' rows (parsed facts) as engine columns.

    Args:
        read: household rows in id order (`id`, `region_code`, `profile_hash`, `facts`).
        members: their members in household then position order (`household_id`,
            `id_number`, `relation`, `facts`).
        on: the evaluation date of the derived facts.
        facts: the fact catalogue.
        only: the facts to build (`program_facts`); None: every fact.

    Raises:
        ValueError: a stored fact of the wrong type.
    """
    housed = {m.household_id for m in members}
    rows = [r for r in read if r.id in housed]
    households = _identity(rows, "household_id")
    _columns([r.facts for r in rows], _stored_names(facts, only, "household"), facts, households)
    mm = _columns(
        [m.facts for m in members], _stored_names(facts, only, "member"), facts, Columns()
    )
    mm.put("household_id", np.array([m.household_id for m in members], dtype=np.int64))
    mm.put("id_number", np.array([m.id_number for m in members], dtype=np.str_))
    mm.put("relation", np.array([m.relation for m in members], dtype=np.str_))
    population = from_chunk(PopulationChunk(households, mm), facts, on, Vocabulary(), only=only)
    chunk = _chunk("household", rows, population, (read[0].id, read[-1].id))
    chunk.empty.update((r.id, r.profile_hash) for r in read if r.id not in housed)
    return chunk


def enterprise_chunk(
    rows: Sequence[Any], *, on: date, facts: FactCatalogue, only: Collection[str] | None = None
) -> SubjectChunk:
    """Enterprise rows (parsed facts) as engine columns (as `household_chunk`)."""
    cols = _identity(rows, "enterprise_id")
    _columns([r.facts for r in rows], _stored_names(facts, only, "enterprise"), facts, cols)
    population = from_enterprises(cols, facts, on, Vocabulary(), only=only)
    return _chunk("enterprise", rows, population, (rows[0].id, rows[-1].id))
