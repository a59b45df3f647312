"""What `zhida notices list` and `show` read: notices with their subject's label, deliveries
and attempts (typed rows, newest state as stored)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session, col

from store.delivery.outbox import label_of, labels_of
from store.tables.delivery import Delivery, DeliveryAttempt, Subscription
from store.tables.entitlements import OutboxMessage

__all__ = ["NoticeDetail", "NoticeLine", "list_notices", "notice_detail"]


@dataclass(frozen=True)
class NoticeLine:
    """A notice as a listing shows it."""

    notice: OutboxMessage
    subject: str


@dataclass(frozen=True)
class NoticeDetail:
    """A notice with its deliveries (and their subscriptions) and every attempt."""

    line: NoticeLine
    deliveries: list[tuple[Delivery, Subscription]]
    attempts: list[DeliveryAttempt]


def list_notices(
    *,
    session: Session,
    state: str | None = None,
    subject: tuple[str, int] | None = None,
    limit: int = 50,
) -> list[NoticeLine]:
    """The latest `limit` notices (newest first), of one state and subject when given."""
    query = select(OutboxMessage).order_by(col(OutboxMessage.id).desc()).limit(limit)
    if state:
        query = query.where(col(OutboxMessage.state) == state)
    if subject:
        query = query.where(
            col(OutboxMessage.subject_kind) == subject[0],
            col(OutboxMessage.subject_id) == subject[1],
        )
    rows = session.execute(query).scalars().all()
    session.expunge_all()  # the caller reads them after the read transaction ends
    return _lines(session, rows)


def _lines(session: Session, rows: Sequence[OutboxMessage]) -> list[NoticeLine]:
    labels = labels_of(session, rows)
    return [NoticeLine(r, label_of(labels, r)) for r in rows]


def notice_detail(*, session: Session, outbox_id: int) -> NoticeDetail | None:
    """One notice with its deliveries and attempts, or None."""
    row = session.get(OutboxMessage, outbox_id)
    if row is None:
        return None
    deliveries = session.execute(
        select(Delivery, Subscription)
        .join(Subscription, col(Subscription.id) == col(Delivery.subscription_id))
        .where(col(Delivery.outbox_id) == outbox_id)
        .order_by(col(Delivery.id))
    ).all()
    attempts = session.execute(
        select(DeliveryAttempt)
        .where(col(DeliveryAttempt.outbox_id) == outbox_id)
        .order_by(col(DeliveryAttempt.id))
    ).scalars()
    detail = NoticeDetail(
        _lines(session, [row])[0], [(d, s) for d, s in deliveries], list(attempts)
    )
    session.expunge_all()  # the caller reads them after the read transaction ends
    return detail
