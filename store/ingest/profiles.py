"""Storing validated profiles: upsert by natural key, members replaced as a set, changes recorded.

A household is found by its 户编号 (`household_no`), an enterprise by its credit code. An
unchanged profile (same `profile_hash`, see `store.ingest.documents`) writes nothing, which makes a
re-import idempotent. A changed profile is updated in place, its members deleted and inserted
again in the new order, and a `ProfileChange` row says what changed (`{path, before, after}`,
anything ID-shaped masked, an account number in a fact too), from where
(`"households.xlsx rows 12–15"`) and when.

A person already stored in ANOTHER household who is listed in an imported one has moved (分户,
迁入): a village register lists each person once. They are deleted from the old household,
which gets a `removed_member` change naming the household they moved to (`moved_to`) and is
re-hashed; the caller is told (`UpsertCounts.moved`), so an old household left without a head
or without anyone can be reported to the operator rather than silently kept or deleted.

    counts = upsert_households(session=s, households=[(household, "x.xlsx rows 2–4"), …])
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, delete, insert, select, update
from sqlmodel import Session, col

from matcher.profiles.masking import mask_id, mask_ids_in_data, mask_ids_in_text
from matcher.profiles.parse import Enterprise, Household
from store.ingest.documents import (
    document,
    enterprise_document,
    household_rows,
    profile_diff,
    profile_hash,
    stored_households,
)
from store.tables.profiles import EnterpriseRow, HouseholdRow, MemberRow, ProfileChange
from store.tables.types import utcnow

__all__ = [
    "IN_LIST",
    "MovedMember",
    "UpsertCounts",
    "rows_by_key",
    "upsert_enterprises",
    "upsert_households",
]

IN_LIST = 1000  # ids per IN list: well under SQLite's and PostgreSQL's bound-parameter limits
# Bulk inserts go to the Core tables: the ORM's bulk path costs ≈ 10 µs of bookkeeping a row.
_HOUSEHOLD, _MEMBER = HouseholdRow.__table__, MemberRow.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_ENTERPRISE, _CHANGE = EnterpriseRow.__table__, ProfileChange.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
Record = tuple[int, str, list[dict[str, Any]], str]  # subject id, kind, changes, source


@dataclass(frozen=True)
class MovedMember:
    """A person who was stored in another household and is listed in an imported one."""

    to_household: str  # the imported household's 户编号
    position: int  # the person's index among its members (the caller knows the sheet row)
    from_household: str  # the 户编号 they were removed from
    left_empty: bool  # the old household has no member now
    left_without_head: bool  # … or no member with relation head


@dataclass
class UpsertCounts:
    """What an upsert did: profiles inserted, updated (changed), left alone; people moved."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    moved: list[MovedMember] = field(default_factory=list)

    def add(self, other: UpsertCounts) -> None:
        """Add another chunk's counts to these."""
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.moved += other.moved


def rows_by_key(
    session: Session, column: Any, keys: Sequence[str], *columns: Any
) -> dict[str, RowMapping]:
    """The rows whose `column` is one of `keys`, by that key (`columns` selected; the key's
    column among them), read `IN_LIST` keys at a time."""
    found: dict[str, RowMapping] = {}
    for start in range(0, len(keys), IN_LIST):
        rows = session.execute(select(*columns).where(column.in_(keys[start : start + IN_LIST])))
        found.update({r[column.key]: r for r in rows.mappings()})
    return found


def upsert_households(
    *,
    session: Session,
    households: Sequence[tuple[Household, str]],
    import_run_id: int | None = None,
) -> UpsertCounts:
    """Insert new households, update changed ones (members replaced), skip unchanged ones.

    Args:
        session: a write session (the caller's transaction: one chunk, one transaction).
        households: validated households, each with its source (`"x.xlsx rows 2–4"`); every
            household needs a `household_id` (the 户编号), the numbers must be distinct, and
            an ID number may appear in one of them only.
        import_run_id: the import these come from, recorded on each profile change.

    Returns:
        How many were inserted, updated and unchanged, and the people who moved here.
    """
    keyed = {h.household_id: (document(h), source) for h, source in households}
    docs = {number: d for number, d in keyed.items() if number is not None}
    if None in keyed or len(keyed) != len(households):
        raise ValueError("every household needs a distinct household_id (户编号)")
    h = HouseholdRow
    stored = rows_by_key(
        session, h.household_no, list(docs), h.id, h.household_no, h.region_code, h.facts,
        h.profile_hash,
    )  # fmt: skip
    counts, new, changed = UpsertCounts(), {}, {}
    for number, (doc, source) in docs.items():
        old = stored.get(number)
        if old is None:
            new[number] = (doc, source)
        elif old["profile_hash"] == profile_hash(doc):
            counts.unchanged += 1
        else:
            changed[number] = (doc, source)
    now = utcnow()
    counts.moved = _move_members(session, {**new, **changed}, docs, import_run_id, now)
    ids = _insert_households(session, new, import_run_id, now)
    ids.update(_update_households(session, changed, stored, import_run_id, now))
    members = [
        {"household_id": ids[number], "position": i, **m}
        for number, (doc, _) in {**new, **changed}.items()
        for i, m in enumerate(doc["members"])
    ]
    if members:
        session.execute(insert(_MEMBER), members)
    counts.inserted, counts.updated = len(new), len(changed)
    return counts


def _insert_households(
    session: Session, new: Mapping[str, tuple[dict[str, Any], str]], run: int | None, now: datetime
) -> dict[str, int]:
    if not new:
        return {}
    result = session.execute(
        insert(_HOUSEHOLD).returning(_HOUSEHOLD.c.id, _HOUSEHOLD.c.household_no),
        [
            {"household_no": n, "region_code": d["region_code"], "facts": d["facts"],
             "profile_hash": profile_hash(d), "created_at": now, "updated_at": now}
            for n, (d, _) in new.items()
        ],
    )  # fmt: skip
    ids = {r.household_no: r.id for r in result}
    _record(session, [(ids[n], "created", [], s) for n, (_, s) in new.items()], run, now)
    return ids


def _update_households(
    session: Session,
    changed: Mapping[str, tuple[dict[str, Any], str]],
    stored: Mapping[str, RowMapping],
    run: int | None,
    now: datetime,
) -> dict[str, int]:
    """Update changed households, delete their members (the caller inserts the new set)."""
    if not changed:
        return {}
    ids = {n: stored[n]["id"] for n in changed}
    before = stored_households(session, [stored[n] for n in changed])
    session.execute(
        update(HouseholdRow),
        [
            {"id": ids[n], "region_code": d["region_code"], "facts": d["facts"],
             "profile_hash": profile_hash(d), "updated_at": now}
            for n, (d, _) in changed.items()
        ],
    )  # fmt: skip
    for start in range(0, len(ids), IN_LIST):
        part = list(ids.values())[start : start + IN_LIST]
        session.execute(delete(MemberRow).where(col(MemberRow.household_id).in_(part)))
    records = [
        (ids[n], "updated", profile_diff(before[ids[n]], d), s) for n, (d, s) in changed.items()
    ]
    _record(session, records, run, now)
    return ids


def _members_elsewhere(
    session: Session, numbers: list[str], chunk: Collection[str]
) -> list[RowMapping]:
    """Stored members with one of these ID numbers in a household outside the chunk."""
    found: list[RowMapping] = []
    for start in range(0, len(numbers), IN_LIST):
        m = MemberRow
        rows = session.execute(
            select(col(m.id), col(m.id_number), col(m.household_id), col(HouseholdRow.household_no))
            .join(HouseholdRow, col(HouseholdRow.id) == col(m.household_id))
            .where(col(m.id_number).in_(numbers[start : start + IN_LIST]))
        )
        found += [r for r in rows.mappings() if r["household_no"] not in chunk]
    return found


def _move_members(
    session: Session,
    writes: Mapping[str, tuple[dict[str, Any], str]],
    chunk: Collection[str],
    run: int | None,
    now: datetime,
) -> list[MovedMember]:
    """Take the imported households' members out of any other household (they moved)."""
    where = {
        m["id_number"]: (number, i)
        for number, (doc, _) in writes.items()
        for i, m in enumerate(doc["members"])
    }
    found = _members_elsewhere(session, list(where), chunk)
    if not found:
        return []
    session.execute(delete(MemberRow).where(col(MemberRow.id).in_([f["id"] for f in found])))
    left = stored_households(session, household_rows(session, {f["household_id"] for f in found}))
    session.execute(
        update(HouseholdRow),
        [{"id": i, "profile_hash": profile_hash(d), "updated_at": now} for i, d in left.items()],
    )
    moved, records = [], []
    for f in found:
        to, position = where[f["id_number"]]
        rest = left[f["household_id"]]["members"]
        headless = all(m["relation"] != "head" for m in rest)
        moved.append(MovedMember(to, position, f["household_no"], not rest, headless))
        change = {"path": f"members[{mask_id(f['id_number'])}]", "before": "member",
                  "after": None, "moved_to": to}  # fmt: skip
        records.append((f["household_id"], "removed_member", [change], writes[to][1]))
    _record(session, records, run, now)
    return moved


def upsert_enterprises(
    *,
    session: Session,
    enterprises: Sequence[tuple[Enterprise, str]],
    import_run_id: int | None = None,
) -> UpsertCounts:
    """Insert new enterprises, update changed ones, skip unchanged ones (as households).

    Args:
        session: a write session (the caller's transaction).
        enterprises: validated enterprises with their sources; credit codes distinct.
        import_run_id: the import these come from.

    Returns:
        How many were inserted, updated and unchanged.
    """
    docs = {e.credit_code: (enterprise_document(e), source) for e, source in enterprises}
    if len(docs) != len(enterprises):
        raise ValueError("a credit code appears twice in one chunk")
    e = EnterpriseRow
    stored = rows_by_key(
        session, e.credit_code, list(docs), e.id, e.credit_code, e.name, e.region_code, e.facts,
        e.profile_hash,
    )  # fmt: skip
    counts, now = UpsertCounts(), utcnow()
    rows, updates, records = [], [], []
    for code, (doc, source) in docs.items():
        old, digest = stored.get(code), profile_hash(doc)
        values = {k: doc[k] for k in ("name", "region_code", "facts")}
        if old is None:
            rows.append({"credit_code": code, **values, "profile_hash": digest,
                         "created_at": now, "updated_at": now})  # fmt: skip
        elif old["profile_hash"] == digest:
            counts.unchanged += 1
        else:
            updates.append({"id": old["id"], **values, "profile_hash": digest, "updated_at": now})
            before = {"credit_code": code, **{k: old[k] for k in values}}
            records.append((old["id"], "updated", profile_diff(before, doc), source))
    if rows:
        returning = insert(_ENTERPRISE).returning(_ENTERPRISE.c.id, _ENTERPRISE.c.credit_code)
        result = session.execute(returning, rows)
        records += [(r.id, "created", [], docs[r.credit_code][1]) for r in result]
    if updates:
        session.execute(update(e), updates)
    _record(session, records, import_run_id, now, kind="enterprise")
    counts.inserted, counts.updated = len(rows), len(updates)
    return counts


def _record(
    session: Session,
    records: Sequence[Record],
    import_run_id: int | None,
    at: datetime,
    kind: str = "household",
) -> None:
    if not records:
        return
    session.execute(
        insert(_CHANGE),
        [
            {"subject_kind": kind, "subject_id": sid, "kind": change,
             "changes": mask_ids_in_data(diff), "source": mask_ids_in_text(source)[:300],
             "import_run_id": import_run_id, "at": at}
            for sid, change, diff, source in records
        ],
    )  # fmt: skip
