"""The live event path's records: the events a profile change raised, and the deadlines waiting.

- `EventRow`: one event (`dibao_granted`, `dibao_lapsed`, `profile_changed`, `followons_end`…)
  of one subject on one date: its attributes (never an ID number: members are named by masked
  ID), where it came from (`"zhida profile set"`, `"import households.xlsx rows 2–4"`,
  `"deadline 12"`), the profile change that raised it, and what the reactions did (`actions`).
  Entitlement intervals, changes and outbox rows the event wrote carry its id (`event_id`).
- `DeadlineRow`: an event to raise on a date (`due_on`), written by an `end-from-date` action.
  The due-deadline job (`jobs.tasks:fire_deadlines`) turns it into an event, once: its `state`
  moves `pending` → `fired` by compare-and-set, in the event's own transaction, or
  `pending` → `failed` when the event path refuses it (the reason in `details["failed"]`; no
  migration: `state` is a free string of at most 16 characters).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from store.tables.types import JSONType, UTCDateTime, utcnow

__all__ = ["DEADLINE_STATES", "DeadlineRow", "EventRow"]

DEADLINE_STATES = ("pending", "fired", "failed")


class EventRow(SQLModel, table=True):
    """An event of one subject, and what the delivery reactions did about it."""

    __tablename__ = "event"
    __table_args__ = (Index("ix_event_subject", "subject_kind", "subject_id"),)

    id: int | None = Field(default=None, primary_key=True)
    subject_kind: str = Field(max_length=16)
    subject_id: int
    name: str = Field(max_length=64)
    on_date: date
    attributes: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    source: str = Field(max_length=300)
    profile_change_id: int | None = Field(default=None, foreign_key="profile_change.id")
    actions: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DeadlineRow(SQLModel, table=True):
    """An event due on a date; fired once by the due-deadline job."""

    __tablename__ = "deadline"
    __table_args__ = (
        UniqueConstraint(
            "subject_kind", "subject_id", "event_name", "due_on", name="uq_deadline_key"
        ),
        Index("ix_deadline_state_due", "state", "due_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subject_kind: str = Field(max_length=16)
    subject_id: int
    event_name: str = Field(max_length=64)
    due_on: date
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    state: str = Field(default="pending", max_length=16)  # pending | fired | failed
    fired_event_id: int | None = Field(default=None, foreign_key="event.id")
    created_by_event_id: int | None = Field(default=None, foreign_key="event.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
