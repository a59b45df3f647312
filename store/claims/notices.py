"""A claim's own notices in the outbox: to an office (a village centre, a township, a county
department, the county's supervisors), not to the claim's subject.

An office notice is an outbox row with `subject_kind="office"`, `subject_id` and `claim_id`
the claim's id, no entitlement change, and `payload.office` naming the office: a 12-digit
village code, a 9-digit township code, a 6-digit county code (its supervisors), or
`{county code}/{department}` for a county department. `dedup_key` makes each notice once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlmodel import Session

from store.bulk import dialect_insert
from store.tables.entitlements import OutboxMessage
from store.tables.types import utcnow

__all__ = ["OfficeNotice", "department_office", "queue_office_notices"]

_OUTBOX: Table = OutboxMessage.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__

OfficeNotice = Mapping[str, Any]  # dedup_key, claim_id, kind, office, policy_id, payload


def department_office(region: str, department: str) -> str:
    """The office key of a county department: `{county code}/{department}`."""
    return f"{region[:6]}/{department}"


def queue_office_notices(session: Session, notices: Sequence[OfficeNotice]) -> None:
    """Queue office notices (each at most once for its `dedup_key`)."""
    if not notices:
        return
    now = utcnow()
    rows = [
        {"dedup_key": n["dedup_key"][:200], "change_id": None, "claim_id": n["claim_id"],
         "subject_kind": "office", "subject_id": n["claim_id"],
         "policy_id": n.get("policy_id", "")[:120], "kind": n["kind"][:24],
         "payload": {"type": n["kind"], "office": n["office"], "claim_id": n["claim_id"],
                     **n.get("payload", {})},
         "state": "pending", "attempts": 0, "created_at": now}
        for n in notices
    ]  # fmt: skip
    stmt = dialect_insert(session, _OUTBOX).on_conflict_do_nothing(index_elements=["dedup_key"])
    session.execute(stmt, rows)
