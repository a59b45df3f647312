"""Office notices in the drain: who hears them, how they are named, why nobody did.

An office notice is an outbox row with `subject_kind` "office" (a claim's reminder,
escalation or ending; `store.claims.notices`): `subject_id` is the claim's id and
`payload.office` the office's key — a 12-digit village code, a 9-digit township code, a 6-digit
county code (its supervisors) or `{county code}/{department}`. It goes to the active
subscriptions of kind "office" whose `subject_key` is that key (`zhida subscriptions add office
KEY …`), and to nobody else: an office without one ends `undeliverable`, saying which key to
subscribe.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, select
from sqlmodel import Session

from store.tables.delivery import Subscription

__all__ = ["label_key", "office_label", "office_of", "office_subscriptions", "unheard_error"]

_SUB: Table = Subscription.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__


def office_of(row: Any) -> str:
    """The office key of an outbox row ("" when it names none)."""
    return str((row.payload or {}).get("office", ""))


def office_subscriptions(session: Session, notices: list[Any]) -> dict[str, list[int]]:
    """Office key → its active office subscriptions, for the office notices among `notices`."""
    keys = {office_of(r) for r in notices if r.subject_kind == "office"}
    if not keys:
        return {}
    s, out = _SUB.c, dict[str, list[int]]()
    for sub in session.connection().execute(
        select(s.id, s.subject_key)
        .where(s.subject_kind == "office", s.subject_key.in_(keys), s.state == "active")
        .order_by(s.id)
    ):
        out.setdefault(sub.subject_key, []).append(sub.id)
    return out


def unheard_error(row: Any) -> str | None:
    """Why nobody hears an office notice (None for other notices)."""
    if row.subject_kind != "office":
        return None
    office = office_of(row)
    return (
        f"无人订阅 (no_channel)：办公室 {office} 没有有效订阅；"
        f"应先 zhida subscriptions add office {office} --email …（或 --webhook、--sms）"
    )[:300]


def label_key(row: Any) -> tuple[str, int]:
    """The key of `row`'s label in `store.delivery.outbox.labels_of` (one claim may notify
    several offices, so an office notice's key names its office)."""
    if row.subject_kind == "office":
        return f"office:{office_of(row)}", row.subject_id
    return row.subject_kind, row.subject_id


def office_label(office: str) -> str:
    """An office key for people: "县医疗保障局", "乡镇（街道）520602100", "县 520602 督查"."""
    code, slash, department = office.partition("/")
    if slash:
        return department
    names = {12: "村（社区）", 9: "乡镇（街道）"}
    return f"{names[len(code)]}{code}" if len(code) in names else f"县 {code} 督查"
