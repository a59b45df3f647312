"""Pydantic schema of a policy file and a bundle file. Extra keys are refused."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

PolicyId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")]
RegionPrefix = Annotated[str, StringConstraints(pattern=r"^\d{2,12}$")]
ParamValue = int | Decimal | str


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Effective(_Strict):
    """When a policy is in force: `from` inclusive, `until` exclusive."""

    start: date = Field(alias="from")
    until: date | None = None


class Parameter(_Strict):
    """A dated value with its unit and its source."""

    values: dict[date, ParamValue] = Field(min_length=1)
    unit: str
    reference: str = Field(min_length=1)
    illustrative: bool = False
    description: str | None = None


class Condition(_Strict):
    """One readable eligibility condition: all of a policy's conditions must hold."""

    when: str = Field(min_length=1)
    says: str = Field(min_length=1)


class Benefit(_Strict):
    """What the policy gives: an amount expression, its unit and period."""

    amount: str | int | Decimal
    unit: str = "CNY"
    period: Literal["once", "month", "year"] = "once"


class Material(_Strict):
    """A document a claim needs; `from` names the fact that fills it from data we hold."""

    name: str
    source: str | None = Field(default=None, alias="from")
    waivable: bool = False


class Expectation(_Strict):
    """What a test case expects."""

    eligible: bool | None = None
    status: Literal["eligible", "ineligible", "undetermined"] | None = None
    amount: Decimal | None = None
    missing: list[str] | None = None

    @model_validator(mode="after")
    def _one_status(self) -> Expectation:
        if self.eligible is None and self.status is None:
            raise ValueError("expect needs `eligible: true|false` or `status: …`")
        return self

    @property
    def expected_status(self) -> str:
        """The expected status, from `status` or the `eligible` shorthand."""
        if self.status is not None:
            return self.status
        return "eligible" if self.eligible else "ineligible"


class TestCase(_Strict):
    """A named case: a profile on a date, and what the policy must say about it."""

    __test__ = False  # not a pytest class

    name: str = Field(min_length=1)
    on: date
    household: dict[str, Any] | None = None
    enterprise: dict[str, Any] | None = None
    expect: Expectation

    @model_validator(mode="after")
    def _one_profile(self) -> TestCase:
        if (self.household is None) == (self.enterprise is None):
            raise ValueError("a test case needs exactly one of `household` or `enterprise`")
        return self


class PolicyFile(_Strict):
    """One policy: who qualifies, for what, on which basis, with its tests."""

    id: PolicyId
    title: str = Field(min_length=1)
    department: str = Field(min_length=1)
    subject: Literal["household", "enterprise"]
    regions: list[RegionPrefix] | None = None
    effective: Effective
    delivery: Literal["auto", "confirm", "notify"]
    bundle: PolicyId | None = None
    kind: Literal["benefit", "service"] = "benefit"
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    eligible: list[Condition] = Field(min_length=1)
    benefit: Benefit | None = None
    materials: list[Material] = Field(default_factory=list)
    excludes: list[PolicyId] = Field(default_factory=list)
    basis: str = Field(min_length=1)
    tests: list[TestCase] = Field(default_factory=list)


class BundleFile(_Strict):
    """A bundle (一件事): a gate and the member policies it opens."""

    id: PolicyId
    title: str = Field(min_length=1)
    subject: Literal["household", "enterprise"]
    gate: Condition
    members: list[PolicyId] = Field(min_length=1)
    basis: str = Field(min_length=1)
    lapse_event: str | None = None
