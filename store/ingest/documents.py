"""Profiles as stored documents: the canonical form that is hashed, and the diff between two.

A profile is stored with the SHA-256 of its canonical document (`profile_hash`), so storing an
unchanged profile again writes nothing. The same document is rebuilt from the tables
(`stored_households`) to diff a changed household against what is stored, and to re-hash a
household that lost a member to another one. Paths in a diff name members by masked ID
number, so a `ProfileChange` never holds a full one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import RowMapping, select
from sqlmodel import Session, col

from matcher.profiles.masking import mask_id
from matcher.profiles.parse import Enterprise, Household
from store.tables.profiles import HouseholdRow, MemberRow

__all__ = [
    "document",
    "enterprise_document",
    "household_rows",
    "profile_diff",
    "profile_hash",
    "stored_households",
]


def _jsonable(facts: Mapping[str, Any]) -> dict[str, Any]:
    """Facts with dates as ISO strings (what JSON columns store), keys sorted. A decimal is
    written as the JSON number of its digits (at most 15 significant: `rules.numbers`), which
    reads back as the float that gives the same decimal.

    What a JSON round trip (`orjson`) would give, without one for the usual values (ASCII
    text, booleans, 64-bit integers, decimals, dates, None); any other value takes the round
    trip, so it is converted, or refused, exactly as before.
    """
    out = {}
    for key, value in facts.items():
        kind = type(value)
        if kind is str and value.isascii() or kind is bool or value is None:
            out[key] = value
        elif kind is int and _INT_LOW <= value < _INT_HIGH:
            out[key] = value
        elif kind is Decimal and value.is_finite():
            out[key] = float(value)
        elif kind is date:
            out[key] = value.isoformat()
        else:
            return _round_trip(facts)
    if any(type(key) is not str for key in out):
        return _round_trip(facts)
    return dict(sorted(out.items()))


_INT_LOW, _INT_HIGH = -(2**63), 2**64  # what orjson writes as a JSON integer


def _round_trip(facts: Mapping[str, Any]) -> dict[str, Any]:
    return dict(sorted(orjson.loads(orjson.dumps(dict(facts), default=_decimal)).items()))


def _decimal(value: object) -> float:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"cannot store {type(value).__name__} in a profile")


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


def profile_hash(doc: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of a document's canonical JSON (sorted keys)."""
    return hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()


def stored_households(session: Session, rows: Collection[RowMapping]) -> dict[int, dict[str, Any]]:
    """The stored documents of some households, by household id, members in their order.

    Args:
        session: the caller's session.
        rows: household rows with `id`, `household_no`, `region_code` and `facts`.

    Returns:
        `{id: document}`, the same shape as `document()` gives.
    """
    docs: dict[int, dict[str, Any]] = {
        r["id"]: {
            "household_no": r["household_no"],
            "region_code": r["region_code"],
            "facts": r["facts"],
            "members": [],
        }
        for r in rows
    }
    ids = list(docs)
    for start in range(0, len(ids), 1000):  # bounded IN lists on both databases
        members = session.execute(
            select(
                col(MemberRow.household_id),
                col(MemberRow.id_number),
                col(MemberRow.name),
                col(MemberRow.relation),
                col(MemberRow.facts),
            )
            .where(col(MemberRow.household_id).in_(ids[start : start + 1000]))
            .order_by(col(MemberRow.household_id), col(MemberRow.position))
        )
        for m in members:
            docs[m.household_id]["members"].append(
                {"id_number": m.id_number, "name": m.name, "relation": m.relation, "facts": m.facts}
            )
    return docs


def household_rows(session: Session, ids: Collection[int]) -> list[RowMapping]:
    """The household rows (id, household_no, region_code, facts) of some ids."""
    return list(
        session.execute(
            select(
                col(HouseholdRow.id),
                col(HouseholdRow.household_no),
                col(HouseholdRow.region_code),
                col(HouseholdRow.facts),
            ).where(col(HouseholdRow.id).in_(list(ids)))
        ).mappings()
    )


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
        changes += _member_diff(f"members[{mask_id(number)}]", old.get(number), new.get(number))
    if not changes and [m["id_number"] for m in before.get("members", [])] != list(new):
        changes.append({"path": "members", "before": "order", "after": "reordered"})
    return changes


def _member_diff(
    path: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    if new is None:
        return [{"path": path, "before": "member", "after": None}]
    if old is None:
        return [{"path": path, "before": None, "after": "member"}]
    changes = [
        {"path": f"{path}.{key}", "before": old[key], "after": new[key]}
        for key in ("name", "relation")
        if old.get(key) != new.get(key)
    ]
    return changes + _facts_diff(path, old["facts"], new["facts"])


def _facts_diff(
    prefix: str, before: Mapping[str, Any], after: Mapping[str, Any]
) -> list[dict[str, Any]]:
    return [
        {"path": f"{prefix}.{name}", "before": before.get(name), "after": after.get(name)}
        for name in sorted(before.keys() | after.keys())
        if before.get(name) != after.get(name)
    ]
