"""Entitlements, their current state, the changes between sweeps, and the outbox.

- `Entitlement`: what one sweep decided for (subject, policy, catalogue version, on-date) —
  the key that makes a re-run an upsert, never a duplicate. Rows are kept for results that are
  eligible or undetermined, and for a result that became ineligible; an absent row means
  ineligible (see docs/storage.md).
- `EntitlementCurrent`: the latest status per (subject, policy), what the next sweep diffs with.
- `EntitlementChange`: newly eligible, no longer eligible, amount changed, became undetermined.
- `OutboxMessage`: one per change, written in the same transaction (the transactional outbox);
  `dedup_key` is unique, so a re-run can never queue a notice twice. Drained by the delivery jobs.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from store.models.types import JSONType, Money, UTCDateTime, utcnow

__all__ = [
    "CHANGE_KINDS",
    "STATUSES",
    "Entitlement",
    "EntitlementChange",
    "EntitlementCurrent",
    "OutboxMessage",
]

STATUSES = ("ineligible", "undetermined", "eligible")
CHANGE_KINDS = ("newly_eligible", "no_longer_eligible", "amount_changed", "became_undetermined")


class Entitlement(SQLModel, table=True):
    """One decision: status, amount, the conditions' verdicts, the facts still missing."""

    __tablename__ = "entitlement"
    __table_args__ = (
        UniqueConstraint(
            "subject_kind",
            "subject_id",
            "policy_id",
            "catalogue_version_id",
            "on_date",
            name="uq_entitlement_key",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    subject_kind: str = Field(max_length=16)
    subject_id: int
    policy_id: str = Field(max_length=120)
    catalogue_version_id: int = Field(foreign_key="catalogue_version.id")
    on_date: date
    status: str = Field(max_length=16)
    amount: float | None = Field(default=None, sa_type=Money)
    conditions: str = Field(default="", max_length=64)  # one of T/F/U per condition, in order
    missing: list[str] = Field(default_factory=list, sa_type=JSONType)
    dropped_for: str | None = Field(default=None, max_length=120)
    sweep_run_id: int | None = Field(default=None, foreign_key="sweep_run.id", index=True)


class EntitlementCurrent(SQLModel, table=True):
    """The latest non-ineligible status of (subject, policy); absent means ineligible."""

    __tablename__ = "entitlement_current"

    subject_kind: str = Field(max_length=16, primary_key=True)
    subject_id: int = Field(primary_key=True)
    policy_id: str = Field(max_length=120, primary_key=True)
    status: str = Field(max_length=16)
    amount: float | None = Field(default=None, sa_type=Money)
    catalogue_version_id: int = Field(foreign_key="catalogue_version.id")
    on_date: date


class EntitlementChange(SQLModel, table=True):
    """A difference between a sweep's result and the state before it."""

    __tablename__ = "entitlement_change"
    __table_args__ = (
        UniqueConstraint(
            "subject_kind",
            "subject_id",
            "policy_id",
            "catalogue_version_id",
            "on_date",
            name="uq_entitlement_change_key",
        ),
        Index("ix_entitlement_change_subject", "subject_kind", "subject_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subject_kind: str = Field(max_length=16)
    subject_id: int
    policy_id: str = Field(max_length=120)
    catalogue_version_id: int = Field(foreign_key="catalogue_version.id")
    on_date: date
    kind: str = Field(max_length=24)
    before_status: str = Field(max_length=16)
    after_status: str = Field(max_length=16)
    before_amount: float | None = Field(default=None, sa_type=Money)
    after_amount: float | None = Field(default=None, sa_type=Money)
    sweep_run_id: int | None = Field(default=None, foreign_key="sweep_run.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OutboxMessage(SQLModel, table=True):
    """A notice waiting to be delivered; never queued twice for one `dedup_key`."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_state_id", "state", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    dedup_key: str = Field(max_length=200, unique=True)
    change_id: int = Field(foreign_key="entitlement_change.id")
    subject_kind: str = Field(max_length=16)
    subject_id: int
    policy_id: str = Field(max_length=120)
    kind: str = Field(max_length=24)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    state: str = Field(default="pending", max_length=16)  # pending | sent | dead
    attempts: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
