"""The notices about one household, as the people who may read the household see them.

    with read_session(engine) as s:
        found = household_notices(session=s, scope=scope, household_no="5206…-00014", limit=50)

`None` when the household is not in the scope (not found, as everywhere: RELIABILITY P2); else
its notices (the outbox rows whose subject it is), newest first, as `store.delivery.inbox`
gives them, so `notice_view` shapes them for a page. The inbox lists every notice a login sees;
this is the one household's part of it (a village, township or county sees the same rows there).
"""

from __future__ import annotations

from sqlalchemy import Table, literal, null, select
from sqlmodel import Session

from store.delivery.inbox import InboxNotice
from store.delivery.outbox import label_of, labels_of
from store.scope import Scope
from store.subjects.reads import find_subject
from store.tables.entitlements import OutboxMessage

__all__ = ["household_notices"]

_OUTBOX: Table = OutboxMessage.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__


def household_notices(
    *, session: Session, scope: Scope, household_no: str, limit: int = 100
) -> list[InboxNotice] | None:
    """The notices about household `household_no`, newest first (at most `limit`), or None
    outside `scope`."""
    ref = find_subject(session=session, scope=scope, kind="household", key=household_no)
    if ref is None:
        return None
    o = _OUTBOX.c
    rows = list(
        session.connection().execute(
            select(_OUTBOX, literal(household_no).label("subject_key"),
                   null().label("subject_name"))
            .where(o.subject_kind == "household", o.subject_id == ref.id)
            .order_by(o.id.desc())
            .limit(limit)
        )
    )  # fmt: skip
    labels = labels_of(session, rows)
    return [InboxNotice(r, label_of(labels, r)) for r in rows]
