"""A synthetic population of households, deterministic for a seed and generated in chunks.

Households follow a handful of family shapes (single, couple, parents and children, three
generations, grandparents with grandchildren …); ages respect relations (a child is at least
18 years younger than each parent, a parent 18–40 years older than the head); ID numbers are
valid, unique and carry the county code in force at birth; shares of 低保, 特困 and disability
are configurable. Every chunk is columnar (`Columns`): one table of households and one of
members, in the fact catalogue's names. The same generator feeds `zhida demo-data`, the tests
and the benchmark.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from matcher.profiles.regions import RegionTable, load_regions
from matcher.vector.frames import PopulationChunk
from synth.codes import Array, ric_numbers
from synth.draws import IdAllocator, names, rank_within
from synth.facts import blank, household_facts, member_facts

__all__ = ["DEFAULT_AS_OF", "Population", "generate_households", "raw_households"]

DEFAULT_AS_OF = date(2025, 3, 1)
_YEAR = 365.2425
# (share, head's age range, relations after the head): mean size ≈ 2.8.
_SHAPES: tuple[tuple[float, tuple[int, int], tuple[str, ...]], ...] = (
    (0.10, (22, 59), ()),
    (0.07, (60, 92), ()),
    (0.10, (22, 59), ("spouse",)),
    (0.10, (60, 88), ("spouse",)),
    (0.18, (24, 50), ("spouse", "child")),
    (0.13, (26, 52), ("spouse", "child", "child")),
    (0.03, (24, 50), ("child",)),
    (0.08, (26, 48), ("spouse", "child", "parent")),
    (0.06, (28, 50), ("spouse", "child", "child", "parent", "parent")),
    (0.05, (55, 78), ("spouse", "child", "grandchild")),
    (0.05, (55, 80), ("grandchild",)),
    (0.03, (55, 80), ("spouse", "grandchild", "grandchild")),
    (0.02, (25, 55), ("sibling",)),
)
RELATION_CODES: tuple[str, ...] = ("head", "spouse", "child", "parent", "grandchild", "sibling")
_CHANGE_YEAR = 2011  # 铜仁地区 → 铜仁市: people born before carry the former county code


@dataclass(frozen=True)
class Population:
    """What to generate: sizes, shares and the reference date ages are counted at."""

    households: int
    seed: int = 1
    as_of: date = DEFAULT_AS_OF
    dibao_share: float = 0.04
    dibao_lapsed_share: float = 0.01
    tekun_share: float = 0.005
    disability_share: float = 0.06
    newborn_share: float = 0.06
    unknown_share: float = 0.01
    county_weights: tuple[float, ...] = (0.45, 0.35, 0.12, 0.08)
    chunk_size: int = 50_000
    regions: RegionTable = field(default_factory=load_regions)


def _spread_below(values: Array, floor: float, width: float) -> Array:
    """Values under `floor` spread over [floor, floor + width) instead of piled on it.

    A pile is one birth date, and IDs allow only 500 people of one sex born on one day in one
    county: clamping to the floor made 10^6 households fail. The spread is the fractional part
    of the shortfall (itself random), so no random number is drawn and every other value of a
    seed stays the same.
    """
    short = floor - values
    spread = floor + np.mod(short * 997.0, 1.0) * width
    return np.where(short > 0, spread, values)


def _shape_ages(rng: np.random.Generator, shape: int, n: int) -> tuple[Array, Array]:
    """(ages, male) of `n` households of one shape, as (n, size) arrays."""
    _, (lo, hi), others = _SHAPES[shape]
    rels = ("head", *others)
    ages = np.zeros((n, len(rels)))
    male = rng.random((n, len(rels))) < 0.5
    ages[:, 0] = rng.uniform(lo, hi + 1, n)
    male[:, 0] = rng.random(n) < 0.75
    for j, rel in enumerate(rels[1:], start=1):
        if rel == "spouse":
            spouse = ages[:, 0] + np.clip(rng.normal(-2, 3, n), -8, 8)
            ages[:, j] = np.minimum(_spread_below(spouse, 20.0, 1.0), 100)
            male[:, j] = ~male[:, 0]
        elif rel == "parent":
            ages[:, j], male[:, j] = _parent(rng, rels, ages, j)
        else:
            ages[:, j] = _younger(rng, rels, ages, j)
    return ages, male


def _parent(
    rng: np.random.Generator, rels: tuple[str, ...], ages: Array, j: int
) -> tuple[Array, Array]:
    """A parent of the head: father first, then mother; 18–40 years older than the head."""
    n, head = len(ages), ages[:, 0]
    if rels[j - 1] == "parent":
        return np.clip(ages[:, j - 1] + rng.normal(-2, 3, n), head + 18, 100), np.zeros(n, bool)
    return np.minimum(head + rng.uniform(20, 40, n), 100), np.ones(n, bool)


def _younger(rng: np.random.Generator, rels: tuple[str, ...], ages: Array, j: int) -> Array:
    """A child (of the head and spouse), a grandchild or a sibling of the head."""
    n, head = len(ages), ages[:, 0]
    rel = rels[j]
    if rel == "sibling":
        return np.clip(head + rng.uniform(-10, 10, n), 16, 100)
    kids = [k for k in range(1, j) if rels[k] == "child"]
    if rel == "grandchild":
        oldest = head - 40 if not kids else ages[:, kids].min(axis=1) - 20
        grandchild: Array = rng.uniform(0.01, np.clip(oldest, 0.02, 16))
        return grandchild
    spouses = [k for k in range(j) if rels[k] in ("head", "spouse")]
    younger = ages[:, spouses].min(axis=1)
    top = 35.0 if "grandchild" in rels else 40.0
    low = np.minimum(20.0, younger - 0.01)
    high = np.maximum(low, np.minimum(top, younger - (22 if "grandchild" in rels else 0.01)))
    age = younger - rng.uniform(low, high)
    if kids:
        earlier = ages[:, kids].min(axis=1)
        cap = earlier - rng.uniform(1, 6, n)
        age = np.where(cap < 0.01, earlier * rng.uniform(0.1, 0.9, n), np.minimum(age, cap))
    child: Array = _spread_below(age, 0.01, 0.5)
    return child


def _newborns(rng: np.random.Generator, ages: Array, rels: tuple[str, ...], share: float) -> None:
    """Make the youngest child a newborn in a share of young families (in place)."""
    kids = [j for j, r in enumerate(rels) if r == "child"]
    if not kids:
        return
    parents = ages[:, 0] if "spouse" not in rels else ages[:, :2].min(axis=1)
    pick = (rng.random(len(ages)) < share * 2.5) & (parents < 42)
    ages[pick, kids[-1]] = rng.uniform(0.01, 0.99, int(pick.sum()))


def _people(rng: np.random.Generator, n: int, pop: Population) -> tuple[Array, Array, Array]:
    """For n households: shape per household, then flat (household index, relation, age, male)."""
    shares = np.array([s[0] for s in _SHAPES])
    shape = rng.choice(len(_SHAPES), size=n, p=shares / shares.sum())
    parts: list[tuple[Array, Array, Array, Array]] = []
    for k, (_, _, others) in enumerate(_SHAPES):
        idx = np.flatnonzero(shape == k)
        ages, male = _shape_ages(rng, k, len(idx))
        rels = ("head", *others)
        _newborns(rng, ages, rels, pop.newborn_share)
        codes = np.array([RELATION_CODES.index(r) for r in rels])
        width = len(rels)
        parts.append(
            (
                np.repeat(idx, width) * 8 + np.tile(np.arange(width), len(idx)),
                ages.ravel(),
                np.tile(codes, len(idx)),
                male.ravel(),
            )
        )
    order_key, age, relation, male = (np.concatenate(p) for p in zip(*parts, strict=True))
    order = np.argsort(order_key, kind="stable")
    household = order_key[order] // 8
    return household, np.stack([relation[order], age[order]]), male[order]


def _regions(rng: np.random.Generator, n: int, pop: Population) -> tuple[Array, Array, Array]:
    """Per household: village code, county index, whether the village is urban."""
    counties = pop.regions.counties
    weights = np.array(pop.county_weights[: len(counties)], dtype=float)
    county = rng.choice(len(counties), size=n, p=weights / weights.sum())
    village = np.empty(n, dtype="U12")
    urban = np.zeros(n, dtype=bool)
    for c, region in enumerate(counties):
        villages = pop.regions.villages_in(region.code)
        pick = rng.integers(0, len(villages), int((county == c).sum()))
        village[county == c] = np.array([v.code for v in villages])[pick]
        urban[county == c] = np.array([v.urban for v in villages])[pick]
    return village, county, urban


class _Generator:
    """Holds what must stay unique across chunks: ID sequences and household serials."""

    def __init__(self, pop: Population) -> None:
        self.pop = pop
        self.ids = IdAllocator(pop.as_of)
        self.serials: dict[str, int] = {}
        counties = pop.regions.counties
        self.prefixes = [(c.code, c.former_code or c.code) for c in counties]

    def chunk(self, index: int, n: int) -> PopulationChunk:
        rng = np.random.default_rng([self.pop.seed, index])
        village, county, urban = _regions(rng, n, self.pop)
        hh, (relation, age), male = _people(rng, n, self.pop)
        relation = relation.astype(np.int64)
        birth = np.datetime64(self.pop.as_of, "D") - np.round(age * _YEAR).astype("timedelta64[D]")
        ids = self._ids(county[hh], birth, male)
        surname, person = names(rng, hh, relation == RELATION_CODES.index("spouse"))
        members = member_facts(rng, self.pop, age, relation, male, urban[hh])
        households = household_facts(rng, self.pop, hh, members, relation, n)
        blank(rng, members, self.pop.unknown_share, keep=())
        blank(rng, households, self.pop.unknown_share, keep=())
        households.data.update(household_id=self._household_ids(village), region_code=village)
        members.data.update(
            household_id=households.data["household_id"][hh],
            region_code=village[hh],
            name=np.strings.add(surname, person),
            id_number=ids,
            relation=np.array(RELATION_CODES)[relation],
        )
        return PopulationChunk(households, members)

    def _ids(self, county: Array, birth: Array, male: Array) -> Array:
        year = birth.astype("datetime64[Y]").astype(np.int64) + 1970
        former = np.array([p[1] for p in self.prefixes])[county]
        current = np.array([p[0] for p in self.prefixes])[county]
        region = np.where(year < _CHANGE_YEAR, former, current)
        return ric_numbers(region, birth, self.ids.allocate(region, birth, male))

    def _household_ids(self, village: Array) -> Array:
        serial = rank_within(village)
        for code in np.unique(village):
            start = self.serials.get(str(code), 0)
            serial[village == code] += start + 1
            self.serials[str(code)] = start + int((village == code).sum())
        if serial.max(initial=0) > 99_999:
            raise ValueError("more than 99,999 households in one village: add villages")
        return np.strings.add(
            np.strings.add(village, "-"), np.strings.zfill(serial.astype("U5"), 5)
        )


def generate_households(pop: Population) -> Iterator[PopulationChunk]:
    """The population, `pop.chunk_size` households at a time (the same for the same seed).

    Args:
        pop: sizes, shares, seed and the date ages are counted at.

    Yields:
        Chunks of households with their members, in order; IDs are unique across chunks.
    """
    generator = _Generator(pop)
    for index, start in enumerate(range(0, pop.households, pop.chunk_size)):
        yield generator.chunk(index, min(pop.chunk_size, pop.households - start))


def raw_households(chunk: PopulationChunk) -> list[dict[str, Any]]:
    """The chunk as flat raw profiles (docs/rule-language.md), unknown cells left out."""
    households = list(chunk.households.rows())
    by_id: dict[str, list[dict[str, Any]]] = {h["household_id"]: [] for h in households}
    for row in chunk.members.rows():
        member = {k: v for k, v in row.items() if k not in ("household_id", "region_code")}
        by_id[row["household_id"]].append(member)
    return [{**h, "members": by_id[h["household_id"]]} for h in households]
