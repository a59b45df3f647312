"""Stored profiles: households with their members, enterprises, and the record of every change.

A profile's facts are kept as JSON under their catalogue names (`facts.yaml`), exactly as the
validated `matcher.profiles.parse` model holds them (dates as ISO strings); `profile_hash` is the
SHA-256 of the profile's canonical JSON, so an unchanged re-import is recognised without
comparing field by field. Members are stored in their sheet order (`position`), head first.
ID numbers are stored in clear only in `member.id_number` (claims need them); `MemberPublic`
masks them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Integer
from sqlmodel import Field, SQLModel

from store.tables.types import JSONType, UTCDateTime, utcnow

__all__ = [
    "EnterpriseBase",
    "EnterpriseRow",
    "HouseholdBase",
    "HouseholdRow",
    "MemberBase",
    "MemberPublic",
    "MemberRow",
    "ProfileChange",
]


class HouseholdBase(SQLModel):
    """What identifies a household and what it declares."""

    household_no: str = Field(max_length=64, unique=True)  # 户编号, the natural key
    region_code: str | None = Field(default=None, max_length=12, index=True)
    facts: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)


class HouseholdRow(HouseholdBase, table=True):
    """A stored household (户)."""

    __tablename__ = "household"

    id: int | None = Field(default=None, primary_key=True)
    profile_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class MemberBase(SQLModel):
    """One person of a household."""

    id_number: str = Field(max_length=18, index=True)
    name: str | None = Field(default=None, max_length=64)
    relation: str = Field(max_length=16)
    facts: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)


class MemberRow(MemberBase, table=True):
    """A stored member; deleted with its household, replaced as a set on re-import."""

    __tablename__ = "member"
    __table_args__ = (Index("ix_member_household_position", "household_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    household_id: int = Field(
        sa_column=Column(Integer, ForeignKey("household.id", ondelete="CASCADE"), nullable=False)
    )
    position: int = 0


class MemberPublic(SQLModel):
    """A member as shown outside the places that need the ID number (masked)."""

    id_number_masked: str
    name: str | None
    relation: str


class EnterpriseBase(SQLModel):
    """What identifies an enterprise and what it declares."""

    credit_code: str = Field(max_length=18, unique=True)  # 统一社会信用代码, the natural key
    name: str | None = Field(default=None, max_length=200)
    region_code: str | None = Field(default=None, max_length=12, index=True)
    facts: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)


class EnterpriseRow(EnterpriseBase, table=True):
    """A stored enterprise (市场主体)."""

    __tablename__ = "enterprise"

    id: int | None = Field(default=None, primary_key=True)
    profile_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ProfileChange(SQLModel, table=True):
    """What changed in one profile, from where, and when (read by the sweep and life events).

    `changes` lists `{path, before, after}` with ID numbers masked; `kind` is `created`,
    `updated` or `removed_member` (a person who moved to another household).
    """

    __tablename__ = "profile_change"
    __table_args__ = (Index("ix_profile_change_subject", "subject_kind", "subject_id"),)

    id: int | None = Field(default=None, primary_key=True)
    subject_kind: str = Field(max_length=16)  # household | enterprise
    subject_id: int
    kind: str = Field(max_length=16)
    changes: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    source: str = Field(max_length=300)  # "households.xlsx rows 12–15"
    import_run_id: int | None = Field(default=None, foreign_key="import_run.id")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
