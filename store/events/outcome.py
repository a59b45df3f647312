"""What one event transaction did, as plain records the CLI (and later the API) prints.

`read_outcome` reads back, inside the transaction that wrote them, the entitlement changes and
outbox rows carrying the transaction's event ids, and the deadlines those events created.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, func, select
from sqlmodel import Session

from store.tables.entitlements import EntitlementChange, OutboxMessage
from store.tables.events import DeadlineRow

__all__ = ["ActionDone", "ChangeDone", "DeadlineDone", "EventDone", "NoticeDone", "Outcome"]

_CHANGE: Table = EntitlementChange.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_OUTBOX: Table = OutboxMessage.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_DEADLINE: Table = DeadlineRow.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__


@dataclass(frozen=True)
class EventDone:
    """An event recorded (its row id)."""

    id: int
    subject_kind: str
    subject_id: int
    name: str
    attributes: Mapping[str, Any]


@dataclass(frozen=True)
class ActionDone:
    """One action a reaction called for, on which event."""

    event_id: int
    verb: str
    args: Mapping[str, Any]
    reaction: str
    says: str | None


@dataclass(frozen=True)
class ChangeDone:
    """An entitlement change written."""

    id: int
    subject_kind: str
    subject_id: int
    policy_id: str
    kind: str
    before_status: str
    after_status: str
    before_amount: Decimal | None
    after_amount: Decimal | None
    effective_on: date | None
    event_id: int


@dataclass(frozen=True)
class NoticeDone:
    """An outbox row queued."""

    id: int
    dedup_key: str
    kind: str
    policy_id: str
    subject_id: int
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class DeadlineDone:
    """A deadline row created."""

    id: int
    subject_id: int
    event_name: str
    due_on: date


@dataclass
class Outcome:
    """Everything one event transaction recorded; empty when the profile did not change."""

    events: list[EventDone] = field(default_factory=list)
    actions: list[ActionDone] = field(default_factory=list)
    changes: list[ChangeDone] = field(default_factory=list)
    notices: list[NoticeDone] = field(default_factory=list)
    deadlines: list[DeadlineDone] = field(default_factory=list)

    def add(self, other: Outcome) -> None:
        """Append another transaction's records to these."""
        self.events += other.events
        self.actions += other.actions
        self.changes += other.changes
        self.notices += other.notices
        self.deadlines += other.deadlines


def outbox_mark(session: Session) -> int:
    """The highest outbox id so far: the rows an event transaction queues come after it (event
    and sweep writers are serialised by `lock_sweeps`), so reading them back scans no more."""
    return int(session.connection().execute(select(func.max(_OUTBOX.c.id))).scalar() or 0)


def read_written(session: Session, event_ids: Collection[int], *, after_outbox: int) -> Outcome:
    """The changes, notices and deadlines that carry these events (in the caller's session);
    notices are looked for after `after_outbox` (`outbox_mark` before writing)."""
    out, ids = Outcome(), sorted(event_ids)
    if not ids:
        return out
    c, o, d = _CHANGE.c, _OUTBOX.c, _DEADLINE.c
    conn = session.connection()
    for r in conn.execute(select(_CHANGE).where(c.event_id.in_(ids)).order_by(c.id)):
        out.changes.append(
            ChangeDone(
                r.id, r.subject_kind, r.subject_id, r.policy_id, r.kind, r.before_status,
                r.after_status, r.before_amount, r.after_amount, r.effective_on, r.event_id,
            )
        )  # fmt: skip
    changes = [ch.id for ch in out.changes]
    if changes:
        query = select(_OUTBOX).where(o.id > after_outbox, o.change_id.in_(changes))
        query = query.order_by(o.id)
        out.notices = [
            NoticeDone(r.id, r.dedup_key, r.kind, r.policy_id, r.subject_id, r.payload)
            for r in conn.execute(query)
        ]
    query = select(_DEADLINE).where(d.created_by_event_id.in_(ids)).order_by(d.id)
    out.deadlines = [
        DeadlineDone(r.id, r.subject_id, r.event_name, r.due_on) for r in conn.execute(query)
    ]
    return out
