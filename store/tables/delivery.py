"""Where notices go and what happened to each try: subscriptions, deliveries, attempts.

- `Subscription`: a subject that wants to hear, on one channel. The subject is an enterprise
  (by its credit code), a household (by its 户编号) or a village centre (by its 12-digit
  region code), which hears on behalf of the households of its village that have no
  subscription of their own. `subject_id` is the enterprise's or household's surrogate id (the
  outbox names subjects by it); a village has none. A webhook's secret is kept encrypted
  (`store.delivery.secrets`), as is the previous one during a rotation until
  `previous_until`. `state` is `active` or `disabled` (with the reason, e.g. the receiver
  answered 410).
- `Delivery`: one notice (outbox row) to one subscription, with its own state (`pending`,
  `sent`, `dead`, `gone` when its subscription was disabled), attempts and next due time.
- `DeliveryAttempt`: every try, kept: when, on which channel and subscription, the status
  code or the error, how long it took, and what it led to (`sent`, `retry`, `dead`, `gone`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from store.tables.types import UTCDateTime, utcnow

__all__ = [
    "CHANNELS",
    "DELIVERY_STATES",
    "SUBJECT_KINDS",
    "Delivery",
    "DeliveryAttempt",
    "Subscription",
]

SUBJECT_KINDS = ("enterprise", "household", "village")
CHANNELS = ("webhook", "email", "sms")
DELIVERY_STATES = ("pending", "sent", "dead", "gone")


class Subscription(SQLModel, table=True):
    """A subject's wish to hear on one channel, at one target."""

    __tablename__ = "subscription"
    __table_args__ = (
        Index("ix_subscription_subject", "subject_kind", "subject_id"),
        Index("ix_subscription_key", "subject_kind", "subject_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subject_kind: str = Field(max_length=16)
    subject_key: str = Field(max_length=64)  # credit code, 户编号 or 12-digit region code
    subject_id: int | None = None  # the enterprise's or household's id; None for a village
    channel: str = Field(max_length=16)
    target: str = Field(max_length=500)  # URL, e-mail address or mobile number
    secret: str | None = Field(default=None, max_length=500)  # encrypted whsec_…
    previous_secret: str | None = Field(default=None, max_length=500)  # encrypted, rotating out
    previous_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    state: str = Field(default="active", max_length=16)
    reason: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Delivery(SQLModel, table=True):
    """One notice on its way to one subscription."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("outbox_id", "subscription_id", name="uq_delivery_notice_subscription"),
    )

    id: int | None = Field(default=None, primary_key=True)
    outbox_id: int = Field(foreign_key="outbox.id", index=True)
    subscription_id: int = Field(foreign_key="subscription.id", index=True)
    channel: str = Field(max_length=16)
    on_behalf: str = Field(default="subject", max_length=16)  # subject | village
    state: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=300)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DeliveryAttempt(SQLModel, table=True):
    """One try of one delivery, as it went."""

    __tablename__ = "delivery_attempt"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="delivery.id", index=True)
    outbox_id: int = Field(index=True)
    subscription_id: int
    channel: str = Field(max_length=16)
    number: int  # 1 for the first try (counted again from 1 after a replay)
    at: datetime = Field(sa_type=UTCDateTime)
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=300)
    latency_ms: int = 0
    outcome: str = Field(max_length=16)  # sent | retry | dead | gone
