"""The flat fact set every engine evaluates: subject facts plus one mapping per member."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from rules.facts import FactValue


@dataclass(frozen=True)
class Facts:
    """Facts of one subject at one date. An absent key means the fact is unknown."""

    subject: Mapping[str, FactValue]
    members: tuple[Mapping[str, FactValue], ...] = field(default=())
    region_code: str | None = None
