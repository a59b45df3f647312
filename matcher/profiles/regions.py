"""The region table shipped as data (`data/regions.csv` beside this module; its README: the source).

>>> table = load_regions()
>>> table.name("520602")
'碧江区'
>>> table.county_of("520602100201")
'520602'
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

from matcher.profiles.identifiers import parse_region_code

__all__ = ["Region", "RegionTable", "load_regions", "parse_regions"]

Level = Literal["county", "township", "village"]
_LENGTHS: dict[str, int] = {"county": 6, "township": 9, "village": 12}


@dataclass(frozen=True)
class Region:
    """One row of the table: a county (6 digits), township (9) or village (12)."""

    code: str
    name: str
    level: Level
    urban_rural: str | None = None
    former_code: str | None = None

    @property
    def urban(self) -> bool:
        """Whether the NBS 城乡分类代码 says urban (1xx) rather than rural (2xx)."""
        return (self.urban_rural or "2").startswith("1")


@dataclass(frozen=True)
class RegionTable:
    """Counties, townships and villages by code."""

    regions: tuple[Region, ...]

    def name(self, code: str) -> str | None:
        """The name of a county, township or village code, or None when it is not in the table."""
        return next((r.name for r in self.regions if r.code == code), None)

    def county_of(self, code: str) -> str:
        """The 6-digit county code of any code."""
        return code[:6]

    @property
    def counties(self) -> tuple[Region, ...]:
        """Every county, in file order."""
        return tuple(r for r in self.regions if r.level == "county")

    def villages_in(self, county: str) -> tuple[Region, ...]:
        """The villages of one county, in file order."""
        return tuple(r for r in self.regions if r.level == "village" and r.code[:6] == county)


def _row(raw: dict[str, str], line: int) -> Region:
    level = raw["level"]
    if level not in _LENGTHS:
        raise ValueError(f"regions.csv line {line}: level {level!r} is not county/township/village")
    code = raw["code"].strip()
    if len(code) != _LENGTHS[level] or not code.isdigit():
        raise ValueError(f"regions.csv line {line}: a {level} code has {_LENGTHS[level]} digits")
    parse_region_code(code.ljust(12, "0"), lengths=(12,))
    return Region(
        code=code,
        name=raw["name"].strip(),
        level=level,  # type: ignore[arg-type]  # checked against _LENGTHS above
        urban_rural=raw.get("urban_rural") or None,
        former_code=raw.get("former_code") or None,
    )


def parse_regions(text: str) -> RegionTable:
    """Read a region table from CSV text (columns: code, name, level, urban_rural, former_code).

    Raises:
        ValueError: naming the line of a malformed row.
    """
    rows = csv.DictReader(io.StringIO(text))
    return RegionTable(tuple(_row(raw, i) for i, raw in enumerate(rows, start=2)))


@cache
def load_regions() -> RegionTable:
    """The region table shipped with the package (cached)."""
    data = resources.files("matcher.profiles").joinpath("data/regions.csv")
    text = data.read_text(encoding="utf-8")
    return parse_regions(text)
