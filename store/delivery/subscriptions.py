"""Subscriptions: storage functions (keyword-only). Validation of targets is the caller's
(`store.delivery.registration`), which checks URLs, addresses and numbers before anything is
stored."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import Session, col

from store.tables.delivery import Subscription
from store.tables.profiles import EnterpriseRow, HouseholdRow
from store.tables.types import utcnow

__all__ = [
    "add_subscription",
    "disable_subscription",
    "get_subscription",
    "list_subscriptions",
    "rotate_secret",
    "subject_id_of",
]


def subject_id_of(*, session: Session, kind: str, key: str) -> int | None:
    """The surrogate id of an enterprise (credit code) or household (户编号), or None if
    unknown. A village (12-digit region code) has no id: 0 when a household lives there."""
    if kind == "enterprise":
        query = select(col(EnterpriseRow.id)).where(col(EnterpriseRow.credit_code) == key)
    elif kind == "household":
        query = select(col(HouseholdRow.id)).where(col(HouseholdRow.household_no) == key)
    else:
        query = select(col(HouseholdRow.id)).where(col(HouseholdRow.region_code) == key).limit(1)
        return None if session.execute(query).first() is None else 0
    found = session.execute(query).scalar()
    return None if found is None else int(found)


def add_subscription(
    *,
    session: Session,
    kind: str,
    key: str,
    subject_id: int | None,
    channel: str,
    target: str,
    sealed_secret: str | None = None,
) -> Subscription:
    """Store a subscription (active) and return it with its id."""
    row = Subscription(
        subject_kind=kind, subject_key=key, subject_id=subject_id, channel=channel,
        target=target, secret=sealed_secret,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def list_subscriptions(*, session: Session) -> Sequence[Subscription]:
    """Every subscription, by id (detached: readable after the session ends)."""
    rows = session.execute(select(Subscription).order_by(col(Subscription.id))).scalars().all()
    session.expunge_all()
    return rows


def get_subscription(*, session: Session, subscription_id: int) -> Subscription | None:
    """One subscription, or None."""
    return session.get(Subscription, subscription_id)


def rotate_secret(
    *, session: Session, subscription: Subscription, sealed_secret: str, keep_until: datetime
) -> None:
    """Make `sealed_secret` the secret; the current one keeps signing until `keep_until`."""
    subscription.previous_secret = subscription.secret
    subscription.previous_until = keep_until
    subscription.secret = sealed_secret
    subscription.updated_at = utcnow()
    session.add(subscription)


def disable_subscription(*, session: Session, subscription_id: int, reason: str) -> None:
    """Disable a subscription (no further delivery to it), saying why."""
    session.execute(
        update(Subscription)
        .where(col(Subscription.id) == subscription_id)
        .values(state="disabled", reason=reason[:300], updated_at=utcnow())
    )
