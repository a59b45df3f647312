"""What a caller may read of households and enterprises, filtered by its scope in SQL.

    with read_session(engine) as s:
        page = list_households(session=s, scope=scope, region="520602001", limit=50, offset=0)
        view = household_view(session=s, scope=scope, household_no="5206021002010001")

ID numbers leave here masked (`mask_id`), except in `household_identity`, which answers only a
village login of the household's own village and appends `household.identity` to the audit
log (who, which household, how many members) in the same transaction. Facts are returned as
stored (the JSON `zhida match` and `PUT` take) but with every ID-shaped run masked (a bank
account number may hold one: RELIABILITY P1), so a view is not sent back as a PUT unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from matcher.profiles.masking import mask_id, mask_ids_in_data
from store.audit.log import AuditEntry, append
from store.db import write_session
from store.ingest.documents import stored_households
from store.scope import Scope
from store.sweep.history import entitlement_history, entitlements_on
from store.tables.entitlements import EntitlementPublic
from store.tables.profiles import EnterpriseRow, HouseholdRow

__all__ = [
    "EnterpriseView",
    "HistoryItem",
    "HouseholdView",
    "IdentityView",
    "MemberView",
    "Page",
    "SubjectRef",
    "enterprise_view",
    "find_subject",
    "household_identity",
    "household_view",
    "list_enterprises",
    "list_households",
    "subject_entitlements",
    "subject_history",
]


@dataclass(frozen=True)
class SubjectRef:
    """A stored household or enterprise inside the caller's scope."""

    kind: str  # household | enterprise
    id: int
    key: str  # 户编号 or credit code
    region_code: str | None


@dataclass(frozen=True)
class MemberView:
    """A member as shown: position (what `PATCH … member` names), masked ID number, facts."""

    position: int
    id_number_masked: str
    name: str | None
    relation: str
    facts: dict[str, Any]


@dataclass(frozen=True)
class HouseholdView:
    """A household as shown to its scope (ID numbers masked)."""

    household_no: str
    region_code: str | None
    facts: dict[str, Any]
    members: list[MemberView]
    updated_at: datetime


@dataclass(frozen=True)
class IdentityMember:
    """A member with the full ID number (the identity view only)."""

    position: int
    id_number: str
    name: str | None
    relation: str


@dataclass(frozen=True)
class IdentityView:
    """A household's members with their full ID numbers, for its own village."""

    household_no: str
    region_code: str | None
    members: list[IdentityMember]


@dataclass(frozen=True)
class EnterpriseView:
    """An enterprise as shown to its scope."""

    credit_code: str
    name: str | None
    region_code: str | None
    facts: dict[str, Any]
    updated_at: datetime


@dataclass(frozen=True)
class Page:
    """One page of a list: the items, how many there are in all, and the page asked for."""

    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class HistoryItem:
    """One entitlement interval and what opened and closed it (`event:41`, `sweep_run:3`)."""

    interval: EntitlementPublic
    opened_by: str | None
    closed_by: str | None


def _shown(facts: Any) -> dict[str, Any]:
    """Facts as shown: every ID-shaped run in a value masked (a bank account number can hold
    one), so a view is not a profile to PUT back unchanged."""
    shown: dict[str, Any] = mask_ids_in_data(dict(facts))
    return shown


def _in_scope(scope: Scope, kind: str) -> Any:
    if kind == "household":
        h = HouseholdRow
        return h, col(h.household_no), scope.households_clause(col(h.region_code))
    e = EnterpriseRow
    return e, col(e.credit_code), scope.enterprises_clause(col(e.region_code), col(e.credit_code))


def find_subject(*, session: Session, scope: Scope, kind: str, key: str) -> SubjectRef | None:
    """The household (by 户编号) or enterprise (by credit code) `key`, if `scope` may read it."""
    table, key_column, clause = _in_scope(scope, kind)
    row = session.execute(
        select(table.id, table.region_code).where(key_column == key, clause)
    ).first()
    return None if row is None else SubjectRef(kind, int(row[0]), key, row[1])


def _page(
    session: Session, query: Any, count: Any, *, limit: int, offset: int
) -> tuple[list[Any], int]:
    total = int(session.execute(count).scalar() or 0)
    return list(session.execute(query.limit(limit).offset(offset)).mappings()), total


def list_households(
    *, session: Session, scope: Scope, region: str | None, limit: int, offset: int
) -> Page:
    """The households `scope` may read (within `region`, a code prefix, if given), by 户编号.

    Args:
        session: a read session.
        scope: the caller's scope.
        region: only households whose region code starts with this (matched literally).
        limit: at most this many.
        offset: skip this many first.
    """
    h = HouseholdRow
    where = [scope.households_clause(col(h.region_code))]
    if region:
        where.append(col(h.region_code).startswith(region, autoescape=True))
    query = select(col(h.household_no), col(h.region_code), col(h.updated_at)).where(*where)
    rows, total = _page(session, query.order_by(col(h.household_no)),
                        select(func.count()).select_from(h).where(*where),
                        limit=limit, offset=offset)  # fmt: skip
    return Page([dict(r) for r in rows], total, limit, offset)


def list_enterprises(
    *, session: Session, scope: Scope, region: str | None, limit: int, offset: int
) -> Page:
    """The enterprises `scope` may read (within `region`, if given), by credit code."""
    e = EnterpriseRow
    where = [scope.enterprises_clause(col(e.region_code), col(e.credit_code))]
    if region:
        where.append(col(e.region_code).startswith(region, autoescape=True))
    query = select(col(e.credit_code), col(e.name), col(e.region_code), col(e.updated_at))
    rows, total = _page(session, query.where(*where).order_by(col(e.credit_code)),
                        select(func.count()).select_from(e).where(*where),
                        limit=limit, offset=offset)  # fmt: skip
    return Page([dict(r) for r in rows], total, limit, offset)


def _document(session: Session, scope: Scope, household_no: str) -> Any:
    h = HouseholdRow
    row = session.execute(
        select(col(h.id), col(h.household_no), col(h.region_code), col(h.facts),
               col(h.updated_at))
        .where(col(h.household_no) == household_no, scope.households_clause(col(h.region_code)))
    ).mappings().first()  # fmt: skip
    if row is None:
        return None, None
    return row, stored_households(session, [row])[row["id"]]


def household_view(*, session: Session, scope: Scope, household_no: str) -> HouseholdView | None:
    """The household `household_no` with its members (ID numbers masked), if in `scope`."""
    row, doc = _document(session, scope, household_no)
    if row is None:
        return None
    members = [
        MemberView(i, mask_id(m["id_number"]), m["name"], m["relation"], _shown(m["facts"]))
        for i, m in enumerate(doc["members"])
    ]
    return HouseholdView(row["household_no"], row["region_code"], _shown(row["facts"]), members,
                         row["updated_at"])  # fmt: skip


def household_identity(*, engine: Engine, scope: Scope, household_no: str) -> IdentityView | None:
    """The members' full ID numbers, for a village login of the household's own village only
    (anyone else: None); audited as `household.identity` naming the user, in one transaction.
    """
    if scope.role != "village" or len(scope.region) != 12:
        return None
    own = Scope(user=scope.user, role="village", region=scope.region)
    with write_session(engine) as session:
        row, doc = _document(session, own, household_no)
        if row is None or row["region_code"] != scope.region:
            return None
        members = [IdentityMember(i, m["id_number"], m["name"], m["relation"])
                   for i, m in enumerate(doc["members"])]  # fmt: skip
        entry = AuditEntry(actor=scope.user, action="household.identity",
                           subject=f"household:{row['id']}",
                           details={"role": scope.role, "region": scope.region,
                                    "members": len(members)})  # fmt: skip
        append(session=session, entry=entry)
    return IdentityView(row["household_no"], row["region_code"], members)


def enterprise_view(*, session: Session, scope: Scope, credit_code: str) -> EnterpriseView | None:
    """The enterprise `credit_code`, if `scope` may read it."""
    e = EnterpriseRow
    row = session.execute(
        select(col(e.credit_code), col(e.name), col(e.region_code), col(e.facts),
               col(e.updated_at))
        .where(col(e.credit_code) == credit_code,
               scope.enterprises_clause(col(e.region_code), col(e.credit_code)))
    ).first()  # fmt: skip
    if row is None:
        return None
    return EnterpriseView(row[0], row[1], row[2], _shown(row[3]), row[4])


def subject_entitlements(
    *, session: Session, scope: Scope, kind: str, key: str, on: date
) -> list[EntitlementPublic] | None:
    """What the subject held on `on` (one interval per policy), or None outside `scope`."""
    ref = find_subject(session=session, scope=scope, kind=kind, key=key)
    if ref is None:
        return None
    return entitlements_on(session=session, subject_kind=kind, subject_id=ref.id, on=on)


def _opener(interval: EntitlementPublic) -> str | None:
    if interval.event_id is not None:
        return f"event:{interval.event_id}"
    if interval.sweep_run_id is not None:
        return f"sweep_run:{interval.sweep_run_id}"
    return None


def subject_history(
    *, session: Session, scope: Scope, kind: str, key: str
) -> list[HistoryItem] | None:
    """Every entitlement interval of the subject, by policy then date, each with what opened
    it and what closed it (the next interval's opener), or None outside `scope`."""
    ref = find_subject(session=session, scope=scope, kind=kind, key=key)
    if ref is None:
        return None
    intervals = entitlement_history(session=session, subject_kind=kind, subject_id=ref.id)
    out = []
    for i, interval in enumerate(intervals):
        after = intervals[i + 1] if i + 1 < len(intervals) else None
        follows = after is not None and after.policy_id == interval.policy_id
        closed = _opener(after) if follows and after and interval.valid_to else None
        out.append(HistoryItem(interval, _opener(interval), closed))
    return out
