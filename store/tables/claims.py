"""Claims (申领): grants, prepared claims and bundle claims, their department parts and steps.

- `Claim`: one claim of one subject. `kind` is `grant` (免申即享: no one acts, the system grants
  it), `claim` (one policy, `delivery: confirm`: prepared, then confirmed once) or `bundle`
  (一件事: one form for the follow-ons of a bundle, a part per department). `state` and
  `version` move by compare-and-set (`UPDATE … WHERE id=:id AND state=:from AND
  version=:v`, RELIABILITY S2). `form` is the form filled from the profile; `materials` every
  material required, merged across the claim's policies, each with where it came from
  (`held`: a fact we hold; `waived`: 容缺, due later; `asked`: truly asked of the person).
  `origin` names what opened it (unique: opening is idempotent).
- `ClaimPart`: one department's part of a claim (a single-policy claim has one); its
  `sections` are the policies it pays, with amounts as strings of yuan. A bundle claim's parts
  move with the claim until the township check, then each on its own.
- `ClaimStep`: each transition taken, with who (user, role, region, department), on whose
  behalf, the reason and the idempotency key; the history `rules.workflow.Workflow.decide`
  reads for separation of duties. The audit log holds the same step, hash-chained.
- `ClaimDeadline`: a step's deadline (承诺时限) in working days, with its reminder and
  escalation dates; the deadline job (`jobs.tasks`) turns due rows into notices.
- `IdempotencyKey`: the first answer to a state-changing request, replayed for the same key
  (Stripe's semantics, RELIABILITY D2).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from store.tables.types import JSONType, UTCDateTime, utcnow

__all__ = ["Claim", "ClaimDeadline", "ClaimPart", "ClaimStep", "IdempotencyKey"]


class Claim(SQLModel, table=True):
    """A claim of one subject: a grant, a prepared claim or a bundle claim."""

    __tablename__ = "claim"
    __table_args__ = (
        UniqueConstraint("origin", name="uq_claim_origin"),
        Index("ix_claim_region_state", "region", "state"),
        Index("ix_claim_subject", "subject_kind", "subject_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # grant | claim | bundle
    subject_kind: str = Field(max_length=16)
    subject_id: int
    subject_key: str = Field(max_length=64)  # household_no or credit code
    region: str = Field(max_length=12)  # the subject's region code (a household's village)
    bundle_id: str | None = Field(default=None, max_length=120)
    title: str = Field(max_length=300)
    state: str = Field(max_length=24)
    version: int = 1
    entered_on: date  # the day the claim entered `state` (deadlines count from it)
    eligible_on: date  # the day the entitlement (first) became eligible
    origin: str = Field(max_length=200)
    form: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    materials: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    catalogue_version_id: int = Field(foreign_key="catalogue_version.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ClaimPart(SQLModel, table=True):
    """One department's part of a claim."""

    __tablename__ = "claim_part"
    __table_args__ = (
        UniqueConstraint("claim_id", "department", name="uq_claim_part_department"),
        Index("ix_claim_part_department_state", "department", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    claim_id: int = Field(foreign_key="claim.id", index=True)
    department: str = Field(max_length=120)
    state: str = Field(max_length=24)
    version: int = 1
    entered_on: date
    sections: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    paid_on: date | None = None
    payment_ref: str | None = Field(default=None, max_length=120)
    ends_on: date | None = None  # a paid grant's payments stop from this day
    end_reason: str | None = Field(default=None, max_length=500)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ClaimStep(SQLModel, table=True):
    """A transition taken on a claim (part_id None) or on one department's part."""

    __tablename__ = "claim_step"
    __table_args__ = (
        Index("ix_claim_step_claim", "claim_id"),
        UniqueConstraint("claim_id", "idempotency_key", name="uq_claim_step_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    claim_id: int = Field(foreign_key="claim.id")
    part_id: int | None = Field(default=None, foreign_key="claim_part.id")
    action: str = Field(max_length=24)
    from_state: str = Field(max_length=24)
    to_state: str = Field(max_length=24)
    actor: str = Field(max_length=64)  # the workflow actor's user (a credit code for an enterprise)
    person: str | None = Field(default=None, max_length=64)  # the user's name, when not `actor`
    role: str = Field(max_length=24)
    region: str = Field(max_length=12)
    department: str | None = Field(default=None, max_length=120)
    on_behalf: bool = False
    reason: str | None = Field(default=None, max_length=500)
    on_date: date
    idempotency_key: str | None = Field(default=None, max_length=255)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ClaimDeadline(SQLModel, table=True):
    """The deadline of the step due from a claim's (or part's) state."""

    __tablename__ = "claim_deadline"
    __table_args__ = (
        Index("ix_claim_deadline_open", "done_at", "remind_on"),
        Index("ix_claim_deadline_claim", "claim_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    claim_id: int = Field(foreign_key="claim.id")
    part_id: int | None = Field(default=None, foreign_key="claim_part.id")
    state: str = Field(max_length=24)  # the state the step is due from
    version: int  # the claim's (or part's) version when it entered the state
    region: str = Field(max_length=12)
    department: str | None = Field(default=None, max_length=120)
    entered_on: date
    due_on: date  # the last working day of the 承诺时限
    remind_on: date  # a reminder is sent this day (one working day before due_on)
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # the step was taken


class IdempotencyKey(SQLModel, table=True):
    """The saved answer to a state-changing request made with an idempotency key."""

    __tablename__ = "idempotency_key"

    key: str = Field(primary_key=True, max_length=255)
    scope: str = Field(max_length=64)  # the operation, e.g. `claims.confirm`
    actor: str = Field(max_length=64)
    request_hash: str = Field(max_length=64)
    status: int = 200
    response: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
