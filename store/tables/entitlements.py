"""Entitlements as validity intervals, the changes between sweeps, and the outbox.

- `Entitlement`: what (subject, policy) was decided to be from `valid_from` until `valid_to`
  (exclusive; NULL = still open), under which catalogue, with status, amount, each condition's
  verdict and the facts still missing. A sweep that finds the same result writes nothing, so the
  table grows with changes, not with days; "what was this household entitled to on date D, under
  which rules" is one query (`store.sweep.history.entitlements_on`). At most one interval of a
  (subject, policy) is open (`uq_entitlement_open`): the open intervals are the current state
  the next sweep diffs with. Ineligible intervals exist only after a non-ineligible one: they
  record when and why it ended; no interval covering a date means ineligible (see
  docs/storage.md).
- `EntitlementChange`: newly eligible, no longer eligible, amount changed, became undetermined;
  keyed by the run too, so a result that changes and changes back keeps both transitions. A
  change written by the live event path (`store.events`) carries its `event_id` instead of a
  run, one per (subject, policy, event) (`uq_entitlement_change_event`), and an `effective_on`
  when it takes effect later than its date (follow-ons ending from the first of next month).
- `OutboxMessage`: one per change, written in the same transaction (the transactional outbox);
  `dedup_key` is unique, so a re-run can never queue a notice twice. Drained by the delivery jobs
  (`jobs.drain`): `pending` until every delivery of it ended, then `sent`, `dead` (one delivery
  ran out of tries) or `undeliverable` (nobody subscribed: `last_error` says so).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from store.tables.types import JSONType, Money, UTCDateTime, utcnow

__all__ = [
    "CHANGE_KINDS",
    "STATUSES",
    "Entitlement",
    "EntitlementBase",
    "EntitlementChange",
    "EntitlementPublic",
    "OutboxMessage",
]

STATUSES = ("ineligible", "undetermined", "eligible")
CHANGE_KINDS = ("newly_eligible", "no_longer_eligible", "amount_changed", "became_undetermined")
_OPEN = text("valid_to IS NULL")
_BY_EVENT = text("event_id IS NOT NULL")


class EntitlementBase(SQLModel):
    """One result of (subject, policy) and the dates it held."""

    subject_kind: str = Field(max_length=16)
    subject_id: int
    policy_id: str = Field(max_length=120)
    valid_from: date
    valid_to: date | None = None  # exclusive; None: still the result
    catalogue_version_id: int = Field(foreign_key="catalogue_version.id")
    # sha256[:16] of the policy's file as published: an interval is cut when it changes, so the
    # interval's catalogue version holds, byte for byte, the rules in force all along it. None:
    # the policy is not in that catalogue (it was removed).
    rule_hash: str | None = Field(default=None, max_length=16)
    status: str = Field(max_length=16)
    amount: Decimal | None = Field(default=None, sa_type=Money)
    conditions: str = Field(default="", max_length=64)  # one of T/F/U per condition, in order
    missing: list[str] = Field(default_factory=list, sa_type=JSONType)
    dropped_for: str | None = Field(default=None, max_length=120)
    inputs_hash: str | None = Field(default=None, max_length=64)  # the profile it came from
    sweep_run_id: int | None = Field(default=None, foreign_key="sweep_run.id")  # who opened it
    event_id: int | None = Field(default=None, foreign_key="event.id")  # … or which event did


class Entitlement(EntitlementBase, table=True):
    """An entitlement interval, as stored."""

    __tablename__ = "entitlement"
    __table_args__ = (
        Index(
            "uq_entitlement_open",
            "subject_kind",
            "subject_id",
            "policy_id",
            unique=True,
            sqlite_where=_OPEN,
            postgresql_where=_OPEN,
        ),
        Index("ix_entitlement_subject", "subject_kind", "subject_id"),
    )

    id: int | None = Field(default=None, primary_key=True)


class EntitlementPublic(EntitlementBase):
    """An entitlement interval as the history reads it, with its catalogue's content hash."""

    id: int
    catalogue_hash: str


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
            "sweep_run_id",
            name="uq_entitlement_change_key",
        ),
        Index("ix_entitlement_change_subject", "subject_kind", "subject_id"),
        Index(
            "uq_entitlement_change_event",
            "event_id",  # first: the event path reads its changes back by event
            "subject_kind",
            "subject_id",
            "policy_id",
            unique=True,
            sqlite_where=_BY_EVENT,
            postgresql_where=_BY_EVENT,
        ),
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
    before_amount: Decimal | None = Field(default=None, sa_type=Money)
    after_amount: Decimal | None = Field(default=None, sa_type=Money)
    sweep_run_id: int | None = Field(default=None, foreign_key="sweep_run.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="event.id")  # the live event path's
    effective_on: date | None = None  # when the change takes effect, if not `on_date` (payments)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OutboxMessage(SQLModel, table=True):
    """A notice waiting to be delivered; never queued twice for one `dedup_key`."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_state_id", "state", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    dedup_key: str = Field(max_length=200, unique=True)
    change_id: int | None = Field(default=None, foreign_key="entitlement_change.id")
    claim_id: int | None = Field(default=None, foreign_key="claim.id")  # a claim's own notice
    subject_kind: str = Field(max_length=16)
    subject_id: int
    policy_id: str = Field(max_length=120)
    kind: str = Field(max_length=24)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    state: str = Field(default="pending", max_length=16)  # pending|sent|dead|undeliverable
    attempts: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # the drain's bookkeeping (store.delivery.outbox): when the next delivery is due (NULL:
    # now), until when a drainer holds it (its lease), the last error, when it ended
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=300)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
