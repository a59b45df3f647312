"""The fact catalogue (`policies/facts.yaml`): every fact a policy may name.

A fact has one name everywhere: in rule files, profiles, JSON, the database and the console.
"""

from __future__ import annotations

import difflib
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FactType = Literal["number", "string", "bool", "date"]
FactLevel = Literal["household", "member", "enterprise"]
FactValue = int | float | str | bool | date
Bound = Decimal | date | Literal["today"]

PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "number": (int, float),
    "string": (str,),
    "bool": (bool,),
    "date": (date,),
}


class FactDef(BaseModel):
    """One declared fact."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = ""
    type: FactType
    level: FactLevel
    meaning: str = Field(min_length=1, description="含义 (in Chinese)")
    source: str = Field(min_length=1, description="来源部门")
    sensitive: bool = Field(description="敏感个人信息 under PIPL Art. 28")
    unit: str | None = None
    label: str | None = Field(default=None, description="short Chinese column header (表头)")
    values: tuple[str, ...] | None = Field(default=None, description="allowed string values")
    derived: bool = Field(default=False, description="computed by the matcher, never supplied")
    inputs: tuple[str, ...] = Field(
        default=(), description="for a derived fact: the supplied facts to ask for when unknown"
    )
    minimum: Bound | None = Field(
        default=None, alias="min", description="smallest allowed value (number or date)"
    )
    maximum: Bound | None = Field(
        default=None,
        alias="max",
        description="largest allowed value; `today` for a date: not after the evaluation date",
    )
    integer: bool = Field(default=False, description="whole numbers only (a number fact)")

    @model_validator(mode="after")
    def _domain_fits_type(self) -> FactDef:
        bounds = [b for b in (self.minimum, self.maximum) if b is not None]
        if bounds and self.type not in ("number", "date"):
            raise ValueError(f"fact `{self.name}`: min/max apply to numbers and dates only")
        kind = Decimal if self.type == "number" else (date, str)
        if any(not isinstance(b, kind) for b in bounds):
            raise ValueError(f"fact `{self.name}`: min/max must be {self.type}s")
        if self.integer and self.type != "number":
            raise ValueError(f"fact `{self.name}`: `integer` applies to numbers only")
        return self

    def accepts(self, value: object) -> bool:
        """Whether `value` has this fact's type (and is one of its allowed values)."""
        if self.type == "number" and isinstance(value, bool):
            return False
        if not isinstance(value, PYTHON_TYPES[self.type]):
            return False
        return self.values is None or value in self.values


class FactCatalogue(BaseModel):
    """All declared facts, by name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    facts: dict[str, FactDef]

    @model_validator(mode="after")
    def _inputs_are_supplied_facts(self) -> FactCatalogue:
        for name, fact in self.facts.items():
            for source in fact.inputs:
                found = self.facts.get(source)
                if found is None or found.derived:
                    raise ValueError(f"fact `{name}`: input `{source}` must be a supplied fact")
        return self

    def get(self, name: str) -> FactDef | None:
        """The fact called `name`, or None."""
        return self.facts.get(name)

    def suggest(self, name: str, level: FactLevel | None = None) -> str | None:
        """The closest declared name to a misspelt one (did-you-mean), if any is close."""
        names = [n for n, f in self.facts.items() if level is None or f.level == level]
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        return close[0] if close else None

    def at_level(self, *levels: FactLevel) -> dict[str, FactDef]:
        """The facts of the given levels."""
        return {n: f for n, f in self.facts.items() if f.level in levels}
