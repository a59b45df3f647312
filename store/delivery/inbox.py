"""Notices as the people they concern see them (the API's inbox): scoped in SQL, newest first.

Which notices a login sees (`notices_clause`):

| role | notices |
|---|---|
| enterprise | its own (subject `enterprise`, its credit code), pings included |
| village, township | its households' (the household's village inside its region) |
| county, supervisor | its county's households' and enterprises' |
| enterprise, county | besides, the notices delivered to a subscription it manages |
| department, policy_writer | none (their work is in claims and the catalogue) |

A county sees its offices' claim reminders and escalations through its office subscriptions
(`store.delivery.manage`), once the drain has fanned them out.

What is outside is not found (`None`), so the API answers 404. Texts are the payload's own,
masked (`mask_ids_in_text`): a reason quoting an ID number shows `522***********0037`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Table, false, func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from matcher.profiles.masking import mask_ids_in_text
from store.delivery.manage import subscriptions_clause
from store.delivery.outbox import label_of, labels_of
from store.scope import Scope
from store.tables.delivery import Delivery, DeliveryAttempt, Subscription
from store.tables.entitlements import OutboxMessage
from store.tables.profiles import EnterpriseRow, HouseholdRow

__all__ = [
    "InboxNotice",
    "inbox",
    "inbox_count",
    "inbox_notice",
    "notice_view",
    "notices_clause",
]

_OUTBOX: Table = OutboxMessage.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_SUB: Table = Subscription.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_DELIVERY: Table = Delivery.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_ATTEMPT: Table = DeliveryAttempt.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_H: Any = aliased(HouseholdRow.__table__)  # type: ignore[attr-defined]
_E: Any = aliased(EnterpriseRow.__table__)  # type: ignore[attr-defined]
_SEES_SUBJECTS = frozenset({"enterprise", "village", "township", "county", "supervisor"})


@dataclass(frozen=True)
class InboxNotice:
    """A notice with its subject's label, and (for one notice) its deliveries and attempts."""

    row: Any  # the outbox row (id, kind, state, payload…) with `subject_key`, `subject_name`
    subject: str  # the label `store.delivery.outbox.labels_of` gives (names and codes)
    deliveries: list[Any] = field(default_factory=list)  # with the subscription's channel, target
    attempts: list[Any] = field(default_factory=list)

    def text(self, *keys: str) -> str | None:
        """A text of the payload (`policy.title` as `text("policy", "title")`), masked."""
        value: Any = self.row.payload
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return None if value is None else mask_ids_in_text(str(value))

    def texts(self, key: str) -> list[str]:
        """A list of the payload (`says`, `not_met`), each masked."""
        found = self.row.payload.get(key)
        return [mask_ids_in_text(str(s)) for s in found] if isinstance(found, list) else []


def _columns() -> tuple[Any, ...]:
    """The outbox row, its subject's key (户编号 or credit code) and an enterprise's name."""
    key = func.coalesce(_H.c.household_no, _E.c.credit_code)
    return _OUTBOX, key.label("subject_key"), _E.c.name.label("subject_name")


def _from() -> Any:
    o = _OUTBOX.c
    household = (o.subject_kind == "household") & (_H.c.id == o.subject_id)
    enterprise = (o.subject_kind == "enterprise") & (_E.c.id == o.subject_id)
    return _OUTBOX.outerjoin(_H, household).outerjoin(_E, enterprise)


def notices_clause(scope: Scope) -> ColumnElement[bool]:
    """Notices `scope` sees (module docstring); needs the joins of `_from`."""
    o, d = _OUTBOX.c, _DELIVERY.c
    heard = o.id.in_(
        select(d.outbox_id)
        .join(_SUB, _SUB.c.id == d.subscription_id)
        .where(subscriptions_clause(scope))
    )
    if scope.role not in _SEES_SUBJECTS:
        return false()
    key = func.coalesce(_H.c.household_no, _E.c.credit_code)
    region = func.coalesce(_H.c.region_code, _E.c.region_code)
    own: ColumnElement[bool] = scope.subject_clause(o.subject_kind, key, region)
    return own | heard


def inbox(
    *, session: Session, scope: Scope, limit: int, offset: int = 0, state: str | None = None
) -> list[InboxNotice]:
    """The notices `scope` sees, newest first, `limit` from `offset`, of one state if given."""
    o = _OUTBOX.c
    query = select(*_columns()).select_from(_from()).where(notices_clause(scope))
    if state:
        query = query.where(o.state == state)
    rows = list(
        session.connection().execute(query.order_by(o.id.desc()).limit(limit).offset(offset))
    )
    labels = labels_of(session, rows)
    return [InboxNotice(r, label_of(labels, r)) for r in rows]


def inbox_count(*, session: Session, scope: Scope, state: str | None = None) -> int:
    """How many notices `scope` sees (of one state if given): the total of `inbox`'s pages."""
    o = _OUTBOX.c
    query = select(func.count()).select_from(_from()).where(notices_clause(scope))
    if state:
        query = query.where(o.state == state)
    return int(session.connection().execute(query).scalar_one())


def inbox_notice(*, session: Session, scope: Scope, outbox_id: int) -> InboxNotice | None:
    """One notice `scope` sees, with its deliveries and attempts; None when not found in its
    reach."""
    o, d, s, a = _OUTBOX.c, _DELIVERY.c, _SUB.c, _ATTEMPT.c
    query = select(*_columns()).select_from(_from())
    query = query.where(o.id == outbox_id, notices_clause(scope))
    row = session.connection().execute(query).first()
    if row is None:
        return None
    conn = session.connection()
    deliveries: Sequence[Any] = conn.execute(
        select(_DELIVERY, s.target)
        .join(_SUB, s.id == d.subscription_id)
        .where(d.outbox_id == outbox_id)
        .order_by(d.id)
    ).all()
    attempts = conn.execute(select(_ATTEMPT).where(a.outbox_id == outbox_id).order_by(a.id)).all()
    labels = labels_of(session, [row])
    return InboxNotice(row, label_of(labels, row), list(deliveries), list(attempts))


def _missing(n: InboxNotice) -> list[str]:
    after = n.row.payload.get("after") or {}
    items = after.get("missing_labels") or after.get("missing") or []
    return [
        str(i.get("label") or i.get("fact")) if isinstance(i, dict) else str(i) for i in items if i
    ]


def _key(n: InboxNotice) -> str | None:
    payload = n.row.payload
    subject = payload.get("subject") if isinstance(payload.get("subject"), dict) else {}
    return n.row.subject_key or payload.get("office") or subject.get("key")


def notice_view(n: InboxNotice) -> dict[str, Any]:
    """A notice as the inbox shows it: what it says (policy, amount, why, what is missing, the
    basis), to whom, and how its delivery stands (the API's and the console's shape)."""
    r, t = n.row, n.text
    return {
        "id": r.id, "kind": r.kind, "state": r.state, "created_at": r.created_at,
        "subject_kind": r.subject_kind, "subject_key": _key(n), "subject_name": r.subject_name,
        "policy_id": r.policy_id, "title": t("policy", "title"),
        "department": t("policy", "department"), "basis": t("policy", "basis"),
        "delivery": t("policy", "delivery"), "amount": t("after", "amount"),
        "before_amount": t("before", "amount"), "unit": t("policy", "unit"),
        "period": t("policy", "period"), "says": n.texts("says"), "not_met": n.texts("not_met"),
        "missing": _missing(n), "on_date": t("on_date"),
        "effective_on": t("effective_on") or t("due_on"), "attempts": r.attempts,
        "last_error": r.last_error,
    }  # fmt: skip
