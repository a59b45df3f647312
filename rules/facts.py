"""The fact catalogue (`policies/facts.yaml`): every fact a policy may name.

A fact has one name everywhere: in rule files, profiles, JSON, the database and the console.
"""

from __future__ import annotations

import difflib
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FactType = Literal["number", "string", "bool", "date"]
FactLevel = Literal["household", "member", "enterprise"]
FactValue = int | Decimal | Fraction | str | bool | date
Bound = Decimal | date | Literal["today"]

PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "number": (int, Decimal, Fraction),
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
    value_labels: dict[str, str] | None = Field(
        default=None, description="the Chinese name of allowed values (`active: 在册`): sheets"
    )
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
    formula: str | None = Field(
        default=None, description="a derived fact computed by this expression, exactly"
    )

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
        if self.value_labels is not None:
            unknown = sorted(set(self.value_labels) - set(self.values or ()))
            if unknown:
                raise ValueError(
                    f"fact `{self.name}`: value_labels names {', '.join(unknown)}, "
                    f"not among its values {list(self.values or ())}"
                )
            if len(set(self.value_labels.values())) != len(self.value_labels):
                raise ValueError(f"fact `{self.name}`: two values have the same label")
        if self.formula is not None and (not self.derived or self.level == "member"):
            raise ValueError(
                f"fact `{self.name}`: a formula defines a derived household or enterprise fact"
            )
        return self

    @property
    def bounds(self) -> tuple[Decimal | date | None, Decimal | date | None]:
        """(min, max) as values three-valued logic can use; `today` is not a fixed bound."""
        low = None if self.minimum == "today" else self.minimum
        high = None if self.maximum == "today" else self.maximum
        return low, high

    def domain_problem(self, value: FactValue, on: date | None = None) -> str | None:
        """Why `value` is outside this fact's domain (in Chinese), or None when it is inside.

        Args:
            value: a value of the fact's type (numbers as read by `rules.numbers.read_number`).
            on: the evaluation or import date, for a date whose `max` is `today`.
        """
        if self.type == "number" and self.integer and value != int(value):  # type: ignore[arg-type]
            return f"应为整数，实际为 {value}"
        low, high = self.minimum, self.maximum
        if low == "today":
            low = on
        if high == "today":
            high = on
        if (low is not None and value < low) or (high is not None and value > high):  # type: ignore[operator]
            return f"超出取值范围：应为{self.describe_domain(on)}，实际为 {value}"
        return None

    def describe_domain(self, on: date | None = None) -> str:
        """The domain in words (`0 至 1000000 之间的整数`, `不晚于 2025-03-01 的日期`)."""
        noun = "整数" if self.integer else ("日期" if self.type == "date" else "数")
        low = on if self.minimum == "today" else self.minimum
        high = on if self.maximum == "today" else self.maximum
        high_text = "评估日" if self.maximum == "today" and on is None else str(high)
        if low is not None and (high is not None or self.maximum == "today"):
            return f"{low} 至 {high_text} 之间的{noun}"
        if low is not None:
            return f"不小于 {low} 的{noun}" if noun != "日期" else f"不早于 {low} 的日期"
        if high is not None:
            return (
                f"不大于 {high_text} 的{noun}" if noun != "日期" else f"不晚于 {high_text} 的日期"
            )
        return noun

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
