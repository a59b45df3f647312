"""An import chunk through the live event path, in the chunk's own transaction.

`households_in` / `enterprises_in` replace the plain upsert of `store.ingest.run` when an import
is given a date (`zhida import … --on DATE`): the chunk's stored documents are read before, the
profiles upserted (as always), and every subject whose document changed — new ones, changed
ones, and households that lost a member to one of them — goes to `react_in` (events, reactions,
one vectorised re-evaluation of the chunk's changed subjects, entitlement changes, notices),
before the chunk's checkpoint commits. An unchanged re-import changes no document, so it raises
no event and writes nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from matcher.profiles.parse import Enterprise, Household
from store.events.outcome import Outcome
from store.events.react import EventSetup, SubjectChange, react_in
from store.ingest.documents import household_rows, stored_households
from store.ingest.profiles import (
    IN_LIST,
    UpsertCounts,
    rows_by_key,
    upsert_enterprises,
    upsert_households,
)
from store.tables.profiles import EnterpriseRow, HouseholdRow, MemberRow, ProfileChange

__all__ = ["enterprises_in", "households_in"]


def _household_ids(session: Session, numbers: Sequence[str]) -> dict[str, int]:
    h = HouseholdRow
    found = rows_by_key(session, col(h.household_no), numbers, col(h.household_no), col(h.id))
    return {number: row["id"] for number, row in found.items()}


def _holders(session: Session, households: Sequence[Household], mine: Collection[int]) -> set[int]:
    """Stored households outside the chunk holding one of its members (they lose them)."""
    numbers = [m.id_number for h in households for m in h.members]
    found: set[int] = set()
    for at in range(0, len(numbers), IN_LIST):
        rows = session.execute(
            select(col(MemberRow.household_id)).where(
                col(MemberRow.id_number).in_(numbers[at : at + IN_LIST])
            )
        ).scalars()
        found.update(r for r in rows if r not in mine)
    return found


def _docs(session: Session, ids: Collection[int]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    every = sorted(ids)
    for at in range(0, len(every), IN_LIST):
        out |= stored_households(session, household_rows(session, every[at : at + IN_LIST]))
    return out


def _last_changes(session: Session, kind: str, ids: Collection[int]) -> dict[int, int]:
    p, every, out = ProfileChange, sorted(ids), {}
    for at in range(0, len(every), IN_LIST):
        rows = session.execute(
            select(col(p.subject_id), func.max(col(p.id)))
            .where(col(p.subject_kind) == kind, col(p.subject_id).in_(every[at : at + IN_LIST]))
            .group_by(col(p.subject_id))
        )
        out.update({r[0]: r[1] for r in rows})
    return out


def households_in(
    session: Session,
    *,
    setup: EventSetup,
    items: Sequence[tuple[Household, str]],
    import_run_id: int | None,
) -> tuple[UpsertCounts, Outcome]:
    """Upsert a chunk of households and react to every changed one (the caller's transaction).

    Returns:
        The upsert's counts, and what the events recorded.
    """
    numbers = [str(h.household_id) for h, _ in items]
    sources = {str(h.household_id): f"import {s}" for h, s in items}
    known = _household_ids(session, numbers)
    losers = _holders(session, [h for h, _ in items], set(known.values()))
    before = _docs(session, set(known.values()) | losers)
    counts = upsert_households(session=session, households=items, import_run_id=import_run_id)
    ids = _household_ids(session, numbers)
    after = _docs(session, set(ids.values()) | losers)
    number_of = {i: n for n, i in ids.items()}
    changed = [i for i in sorted(after) if before.get(i) != after[i]]
    last = _last_changes(session, "household", changed)
    changes = [
        SubjectChange("household", i, before.get(i), after[i], after[i]["region_code"],
                      last.get(i), sources.get(number_of.get(i, ""), None))
        for i in changed
    ]  # fmt: skip
    return counts, react_in(session, setup=setup, changes=changes)


def enterprises_in(
    session: Session,
    *,
    setup: EventSetup,
    items: Sequence[tuple[Enterprise, str]],
    import_run_id: int | None,
) -> tuple[UpsertCounts, Outcome]:
    """Upsert a chunk of enterprises and react to every changed one (the caller's transaction)."""
    codes = [e.credit_code for e, _ in items]
    sources = dict(zip(codes, (f"import {s}" for _, s in items), strict=True))
    before = _enterprise_docs(session, codes)
    counts = upsert_enterprises(session=session, enterprises=items, import_run_id=import_run_id)
    after = _enterprise_docs(session, codes)
    changed = [c for c in codes if before.get(c) != after[c]]
    ids = {c: after[c]["id"] for c in changed}
    last = _last_changes(session, "enterprise", ids.values())
    changes = [
        SubjectChange("enterprise", ids[c], _doc(before.get(c)), _doc(after[c]),
                      after[c]["region_code"], last.get(ids[c]), sources[c])
        for c in changed
    ]  # fmt: skip
    return counts, react_in(session, setup=setup, changes=changes)


def _enterprise_docs(session: Session, codes: Sequence[str]) -> dict[str, dict[str, Any]]:
    e = EnterpriseRow
    columns = (col(e.id), col(e.credit_code), col(e.name), col(e.region_code), col(e.facts))
    return {
        c: dict(r) for c, r in rows_by_key(session, col(e.credit_code), codes, *columns).items()
    }


def _doc(row: dict[str, Any] | None) -> dict[str, Any] | None:
    """An enterprise row as its stored document (`store.ingest.documents`)."""
    if row is None:
        return None
    return {k: row[k] for k in ("credit_code", "name", "region_code", "facts")}
