"""Subscriptions managed by the people they belong to (the API): scoped reads, add, rotate,
disable and a test ping.

Whose subscriptions a login manages, filtered in SQL (`subscriptions_clause`):

| role | subscriptions |
|---|---|
| enterprise | its own (`enterprise`, its credit code) |
| county | its county's offices and village centres (`office`, `village` keys under its code) |
| any other | none (a list is empty, an object 404) |

A subscription outside the caller's reach is not found (`None`), so the API answers 404 and
existence is not revealed. Targets and secrets are checked by `store.delivery.registration`
(the CLI's own checks). A ping is an outbox row of kind `ping` with its one delivery written in
the same transaction, so the drain never fans it out to the subject's other subscriptions.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import ColumnElement, Engine, Table, false, insert, select
from sqlmodel import Session, col

from store.db import read_session, write_session
from store.delivery.registration import BadSubscription, Registered, register, rotate
from store.delivery.subscriptions import disable_subscription
from store.scope import Scope
from store.tables.delivery import Delivery, Subscription
from store.tables.entitlements import OutboxMessage

__all__ = [
    "MANAGED_KINDS",
    "disable_for",
    "queue_ping",
    "register_for",
    "rotate_for",
    "subscription_for",
    "subscriptions_clause",
    "subscriptions_for",
]

_SUB: Table = Subscription.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_OUTBOX: Table = OutboxMessage.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_DELIVERY: Table = Delivery.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
MANAGED_KINDS = {"enterprise": ("enterprise",), "county": ("office", "village")}


def subscriptions_clause(scope: Scope) -> ColumnElement[bool]:
    """Subscriptions `scope` manages, as a SQL condition (module docstring)."""
    s = _SUB.c
    if scope.role == "enterprise" and scope.subject_key:
        own: ColumnElement[bool] = (s.subject_kind == "enterprise") & (
            s.subject_key == scope.subject_key
        )
        return own
    if scope.role == "county" and scope.region:
        county: ColumnElement[bool] = s.subject_kind.in_(MANAGED_KINDS["county"]) & (
            scope.region_clause(s.subject_key)
        )
        return county
    return false()


def subscriptions_for(*, session: Session, scope: Scope) -> Sequence[Subscription]:
    """The subscriptions `scope` manages, by id (detached)."""
    query = select(Subscription).where(subscriptions_clause(scope)).order_by(col(Subscription.id))
    rows = session.execute(query).scalars().all()
    session.expunge_all()
    return rows


def subscription_for(
    *, session: Session, scope: Scope, subscription_id: int
) -> Subscription | None:
    """One subscription `scope` manages, or None (missing and out of reach alike; detached)."""
    query = select(Subscription).where(
        col(Subscription.id) == subscription_id, subscriptions_clause(scope)
    )
    row = session.execute(query).scalars().first()
    session.expunge_all()
    return row


def register_for(
    engine: Engine, *, scope: Scope, channel: str, target: str, kind: str | None, key: str | None
) -> Registered:
    """Register a subscription for `scope`: an enterprise for itself, a county for one of its
    offices or village centres (`kind`, `key`).

    Raises:
        BadSubscription: a subject outside the caller's reach (field `key`), or what
            `store.delivery.registration.register` refuses (an unknown subject, a bad target).
    """
    kinds = MANAGED_KINDS.get(scope.role, ())
    if scope.role == "enterprise":
        if (kind or "enterprise") != "enterprise" or key not in (None, scope.subject_key):
            raise BadSubscription(
                "企业只能为自己订阅：subject_kind、key 应省略（或为本企业）", field="key"
            )
        kind, key = "enterprise", scope.subject_key or ""
    elif kind not in kinds or not key:
        raise BadSubscription(
            f"subject_kind {kind!r}：应为 {' 或 '.join(kinds)}，并给出 key", field="subject_kind"
        )
    elif not key.strip().startswith(scope.region):
        raise BadSubscription(
            f"key {key!r}：不在您的辖区 {scope.region} 内；应以 {scope.region} 开头", field="key"
        )
    return register(engine, kind=kind, key=key, channel=channel, target=target)


def rotate_for(engine: Engine, *, scope: Scope, subscription_id: int) -> str | None:
    """A new secret for a webhook subscription `scope` manages (the old one signs 24 h more);
    None when it is not found in the caller's reach.

    Raises:
        BadSubscription: it is not a webhook subscription.
    """
    with read_session(engine) as session:
        if subscription_for(session=session, scope=scope, subscription_id=subscription_id) is None:
            return None
    return rotate(engine, subscription_id)


def disable_for(engine: Engine, *, scope: Scope, subscription_id: int) -> bool:
    """Disable a subscription `scope` manages; False when it is not found in its reach."""
    with write_session(engine) as session:
        row = subscription_for(session=session, scope=scope, subscription_id=subscription_id)
        if row is None:
            return False
        disable_subscription(
            session=session, subscription_id=subscription_id, reason=f"由 {scope.user} 停用"
        )
    return True


def queue_ping(
    engine: Engine, *, scope: Scope, subscription_id: int, on: date, now: datetime
) -> int | None:
    """Queue a test push to one webhook subscription `scope` manages; returns the outbox id
    (None when the subscription is not found in its reach). The drain sends it, signed.

    Raises:
        BadSubscription: the subscription is not a webhook, or it is disabled.
    """
    with write_session(engine) as session:
        sub = subscription_for(session=session, scope=scope, subscription_id=subscription_id)
        if sub is None:
            return None
        if sub.channel != "webhook" or sub.state != "active":
            said = "已停用" if sub.state != "active" else f"是 {sub.channel} 订阅"
            raise BadSubscription(
                f"订阅 {subscription_id} {said}：只能向有效的 webhook 订阅发送测试推送",
                field="subscription_id",
            )
        payload = {"type": "ping", "subscription_id": sub.id, "on_date": on.isoformat(),
                   "subject": {"kind": sub.subject_kind, "key": sub.subject_key}}  # fmt: skip
        conn = session.connection()
        outbox_id = conn.execute(
            insert(_OUTBOX).returning(_OUTBOX.c.id),
            {"dedup_key": f"ping:{sub.id}:{uuid.uuid4().hex}", "subject_kind": sub.subject_kind,
             "subject_id": sub.subject_id or 0, "policy_id": "", "kind": "ping",
             "payload": payload, "state": "pending", "attempts": 0, "created_at": now},
        ).scalar_one()  # fmt: skip
        conn.execute(
            insert(_DELIVERY),
            {"outbox_id": outbox_id, "subscription_id": sub.id, "channel": "webhook",
             "on_behalf": "subject", "state": "pending", "attempts": 0},
        )  # fmt: skip
    return int(outbox_id)
