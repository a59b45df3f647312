"""What a policy says about one profile: the result shapes every engine returns."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal
from typing import Any, Literal, TypeVar

__all__ = ["BundleResult", "ConditionResult", "MatchResult", "PolicyResult", "Status", "build"]

T = TypeVar("T")

Status = Literal["eligible", "ineligible", "undetermined"]


@dataclass(frozen=True)
class ConditionResult:
    """One condition: the verdict, the threshold, and the values the profile showed."""

    says: str
    text: str
    verdict: bool | None
    seen: tuple[tuple[str, str], ...]
    threshold: str | None
    missing: tuple[str, ...]


@dataclass(frozen=True)
class PolicyResult:
    """What one policy says about one profile.

    `amount` is exact, to the fen (`rules.numbers.to_fen`), for an eligible result whose amount
    is known; when a fact it needs is missing it is None and `amount_bounds` holds the lowest
    and highest amount the missing facts allow (None: unbounded on that side).
    """

    policy_id: str
    title: str
    department: str
    delivery: str
    status: Status
    amount: Decimal | None = None
    unit: str | None = None
    period: str | None = None
    conditions: tuple[ConditionResult, ...] = ()
    missing: tuple[str, ...] = ()
    note: str | None = None
    dropped_for: str | None = None
    bundle: str | None = None
    amount_bounds: tuple[Decimal | None, Decimal | None] | None = None


@dataclass(frozen=True)
class BundleResult:
    """A bundle (一件事): its gate and each member's result."""

    bundle_id: str
    title: str
    gate: ConditionResult
    members: tuple[PolicyResult, ...]


@dataclass(frozen=True)
class MatchResult:
    """Every policy's result for one profile on one date."""

    on: date
    catalogue_version: str
    results: tuple[PolicyResult, ...]
    bundles: tuple[BundleResult, ...] = field(default=())

    def by_id(self) -> dict[str, PolicyResult]:
        """Results keyed by policy id."""
        return {r.policy_id: r for r in self.results}


_FIELDS = {cls: frozenset(f.name for f in fields(cls)) for cls in (ConditionResult, PolicyResult)}


def build(cls: type[T], values: dict[str, Any]) -> T:
    """A `ConditionResult` or `PolicyResult` from every one of its fields, without `__init__`.

    The same object `cls(**values)` makes (equal, hashing alike), in a sixth of the time: a
    frozen dataclass's `__init__` sets each field through `object.__setattr__`, ≈ 2 µs for a
    `PolicyResult`, which the compiled explainer (`matcher.interpreter.compiled`) would pay
    200 times a profile. `values` must name every field (a test checks the compiled results
    equal the interpreter's).
    """
    obj = object.__new__(cls)
    obj.__dict__.update(values)
    return obj
