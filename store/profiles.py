"""Storing validated profiles: upsert by natural key, members replaced as a set, changes recorded.

A household is found by its 户编号 (`household_no`), an enterprise by its credit code. Each
profile is stored with the SHA-256 of its canonical document (`document`), so re-storing an
unchanged profile writes nothing — which makes a re-import idempotent. A changed profile
is updated in place, its members deleted and inserted again in the new order, and a
`ProfileChange` row says what changed (`{path, before, after}`, ID numbers masked), from where
and when.

    counts = upsert_households(session=s, households=[(household, "x.xlsx rows 2–4"), …])
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import delete, insert, select, update
from sqlmodel import Session

from matcher.identifiers import mask_id
from matcher.profiles import Enterprise, Household
from store.models.profiles import EnterpriseRow, HouseholdRow, MemberRow, ProfileChange
from store.models.types import utcnow

__all__ = [
    "UpsertCounts",
    "document",
    "enterprise_document",
    "profile_diff",
    "upsert_enterprises",
    "upsert_households",
]


@dataclass
class UpsertCounts:
    """What an upsert did: profiles inserted, updated (changed) and left alone (unchanged)."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: UpsertCounts) -> None:
        """Add another chunk's counts to these."""
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged


def _jsonable(facts: Mapping[str, Any]) -> dict[str, Any]:
    """Facts with dates as ISO strings (what JSON columns store), keys sorted."""
    return dict(sorted(orjson.loads(orjson.dumps(dict(facts))).items()))


def document(household: Household) -> dict[str, Any]:
    """A household as stored: region, facts and members in order (the hashed document)."""
    return {
        "household_no": household.household_id,
        "region_code": household.region_code,
        "facts": _jsonable(household.facts),
        "members": [
            {
                "id_number": m.id_number,
                "name": m.name,
                "relation": m.relation,
                "facts": _jsonable(m.facts),
            }
            for m in household.members
        ],
    }


def enterprise_document(enterprise: Enterprise) -> dict[str, Any]:
    """An enterprise as stored (the hashed document)."""
    return {
        "credit_code": enterprise.credit_code,
        "name": enterprise.name,
        "region_code": enterprise.region_code,
        "facts": _jsonable(enterprise.facts),
    }


def _hash(doc: Mapping[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()


def profile_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The changes from one stored document to another, as `{path, before, after}`.

    Members are compared by ID number; paths name them by masked ID number
    (`members[110***********002X].monthly_income`), and a member added or removed is one
    change at `members[…]`.
    """
    changes: list[dict[str, Any]] = []
    for key in ("region_code", "name"):
        if before.get(key) != after.get(key):
            changes.append({"path": key, "before": before.get(key), "after": after.get(key)})
    changes += _facts_diff("facts", before.get("facts", {}), after.get("facts", {}))
    old = {m["id_number"]: m for m in before.get("members", [])}
    new = {m["id_number"]: m for m in after.get("members", [])}
    for number in sorted(old.keys() | new.keys()):
        path = f"members[{mask_id(number)}]"
        if number not in new:
            changes.append({"path": path, "before": "member", "after": None})
        elif number not in old:
            changes.append({"path": path, "before": None, "after": "member"})
        else:
            for key in ("name", "relation"):
                if old[number].get(key) != new[number].get(key):
                    changes.append(
                        {
                            "path": f"{path}.{key}",
                            "before": old[number][key],
                            "after": new[number][key],
                        }
                    )
            changes += _facts_diff(path, old[number]["facts"], new[number]["facts"])
    if not changes and [m["id_number"] for m in before.get("members", [])] != list(new):
        changes.append({"path": "members", "before": "order", "after": "reordered"})
    return changes


def _facts_diff(
    prefix: str, before: Mapping[str, Any], after: Mapping[str, Any]
) -> list[dict[str, Any]]:
    return [
        {"path": f"{prefix}.{name}", "before": before.get(name), "after": after.get(name)}
        for name in sorted(before.keys() | after.keys())
        if before.get(name) != after.get(name)
    ]


def _stored_household(session: Session, row: Mapping[str, Any]) -> dict[str, Any]:
    members = session.execute(
        select(MemberRow.id_number, MemberRow.name, MemberRow.relation, MemberRow.facts)
        .where(MemberRow.household_id == row["id"])
        .order_by(MemberRow.position)  # type: ignore[arg-type]
    )
    return {
        "household_no": row["household_no"],
        "region_code": row["region_code"],
        "facts": row["facts"],
        "members": [dict(m._mapping) for m in members],
    }


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
            household needs a `household_id` (the 户编号) and the numbers must be distinct.
        import_run_id: the import these come from, recorded on each profile change.

    Returns:
        How many were inserted, updated and unchanged.
    """
    counts = UpsertCounts()
    docs = {h.household_id: (document(h), source) for h, source in households}
    if None in docs or len(docs) != len(households):
        raise ValueError("every household needs a distinct household_id (户编号)")
    stored = {
        r["household_no"]: r
        for r in session.execute(
            select(
                HouseholdRow.id,
                HouseholdRow.household_no,
                HouseholdRow.region_code,
                HouseholdRow.facts,
                HouseholdRow.profile_hash,
            ).where(HouseholdRow.household_no.in_(list(docs)))  # type: ignore[attr-defined]
        ).mappings()
    }
    now = utcnow()
    new_rows, changed, member_docs = [], [], []
    for number, (doc, source) in docs.items():
        digest = _hash(doc)
        old = stored.get(number)
        if old is None:
            new_rows.append((number, doc, digest, source))
        elif old["profile_hash"] == digest:
            counts.unchanged += 1
        else:
            changed.append((old, doc, digest, source))
    if new_rows:
        result = session.execute(
            insert(HouseholdRow).returning(HouseholdRow.id, HouseholdRow.household_no),
            [
                {
                    "household_no": n,
                    "region_code": d["region_code"],
                    "facts": d["facts"],
                    "profile_hash": h,
                    "created_at": now,
                    "updated_at": now,
                }
                for n, d, h, _ in new_rows
            ],
        )
        ids = {r.household_no: r.id for r in result}
        for n, d, _, _ in new_rows:
            member_docs.append((ids[n], d))
        counts.inserted = len(new_rows)
        _record(
            session, [(ids[n], "created", [], s) for n, _, _, s in new_rows], import_run_id, now
        )
    if changed:
        records = []
        for old, doc, digest, source in changed:
            records.append(
                (old["id"], "updated", profile_diff(_stored_household(session, old), doc), source)
            )
            session.execute(
                update(HouseholdRow)
                .where(HouseholdRow.id == old["id"])
                .values(
                    region_code=doc["region_code"],
                    facts=doc["facts"],
                    profile_hash=digest,
                    updated_at=now,
                )
            )
            member_docs.append((old["id"], doc))
        session.execute(
            delete(MemberRow).where(MemberRow.household_id.in_([o["id"] for o, *_ in changed]))
        )  # type: ignore[attr-defined]
        _record(session, records, import_run_id, now)
        counts.updated = len(changed)
    rows = [
        {"household_id": hid, "position": i, **m}
        for hid, doc in member_docs
        for i, m in enumerate(doc["members"])
    ]
    if rows:
        session.execute(insert(MemberRow), rows)
    return counts


def upsert_enterprises(
    *,
    session: Session,
    enterprises: Sequence[tuple[Enterprise, str]],
    import_run_id: int | None = None,
) -> UpsertCounts:
    """Insert new enterprises, update changed ones, skip unchanged ones (as households)."""
    counts = UpsertCounts()
    docs = {e.credit_code: (enterprise_document(e), source) for e, source in enterprises}
    if len(docs) != len(enterprises):
        raise ValueError("a credit code appears twice in one chunk")
    stored = {
        r["credit_code"]: r
        for r in session.execute(
            select(
                EnterpriseRow.id,
                EnterpriseRow.credit_code,
                EnterpriseRow.name,
                EnterpriseRow.region_code,
                EnterpriseRow.facts,
                EnterpriseRow.profile_hash,
            ).where(EnterpriseRow.credit_code.in_(list(docs)))  # type: ignore[attr-defined]
        ).mappings()
    }
    now = utcnow()
    records: list[tuple[int, str, list[dict[str, Any]], str]] = []
    for code, (doc, source) in docs.items():
        digest = _hash(doc)
        old = stored.get(code)
        values = {k: doc[k] for k in ("name", "region_code", "facts")}
        if old is None:
            new_id = session.execute(
                insert(EnterpriseRow).returning(EnterpriseRow.id),
                [
                    {
                        "credit_code": code,
                        **values,
                        "profile_hash": digest,
                        "created_at": now,
                        "updated_at": now,
                    }
                ],
            ).scalar_one()
            records.append((new_id, "created", [], source))
            counts.inserted += 1
        elif old["profile_hash"] == digest:
            counts.unchanged += 1
        else:
            before = {"credit_code": code, **{k: old[k] for k in ("name", "region_code", "facts")}}
            session.execute(
                update(EnterpriseRow)
                .where(EnterpriseRow.id == old["id"])
                .values(**values, profile_hash=digest, updated_at=now)
            )
            records.append((old["id"], "updated", profile_diff(before, doc), source))
            counts.updated += 1
    _record(session, records, import_run_id, now, kind="enterprise")
    return counts


def _record(
    session: Session,
    records: Sequence[tuple[int, str, list[dict[str, Any]], str]],
    import_run_id: int | None,
    at: Any,
    kind: str = "household",
) -> None:
    if not records:
        return
    session.execute(
        insert(ProfileChange),
        [
            {
                "subject_kind": kind,
                "subject_id": sid,
                "kind": change,
                "changes": diff,
                "source": source[:300],
                "import_run_id": import_run_id,
                "at": at,
            }
            for sid, change, diff, source in records
        ],
    )
