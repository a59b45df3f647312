"""The entitlement history: what a subject was entitled to on a date, and under which rules.

Every sweep result is kept as a validity interval (`store.tables.entitlements.Entitlement`):
from `valid_from` until `valid_to` (exclusive; None = still the result). An appeal asks one
question — "what was this household entitled to on D, and under which rules" — and gets every
interval covering D, each with its status, amount, verdicts, missing facts, and the catalogue
version whose text of the policy decided it (`catalogue_hash`; the version row holds every file
as published). An interval is cut whenever the policy's file changes (`rule_hash`), so that
version's text of the policy is the text in force all along the interval.

    with read_session(engine) as session:
        held = entitlements_on(session=session, subject_kind="household", subject_id=12,
                               on=date(2025, 3, 1))

A (subject, policy) with no interval covering D was ineligible on D, or not swept yet:
ineligible results are stored only as the interval that follows a non-ineligible one (the
record of when and why it ended); replay the stored profile against the catalogue for the rest.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Select, Table, or_, select
from sqlmodel import Session

from rules.catalogue import Catalogue
from store.tables.catalogue import CatalogueVersion
from store.tables.entitlements import Entitlement, EntitlementPublic

__all__ = ["entitlement_history", "entitlements_on", "rule_hash", "rule_hashes"]

_ENTITLEMENT: Table = Entitlement.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_VERSION: Table = CatalogueVersion.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__


def rule_hash(text: str) -> str:
    """The identity of a policy's rules: SHA-256 (16 hex) of its file's text as published.

    The text as `store.audit.catalogues.catalogue_files` stores it (read as UTF-8, newlines as
    Python reads them), so the hash can be recomputed from any stored catalogue version.
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def rule_hashes(catalogue: Catalogue) -> dict[str, str]:
    """The `rule_hash` of every policy of `catalogue`, by policy id (its files read once)."""
    return {
        pid: rule_hash(Path(p.path).read_text(encoding="utf-8"))
        for pid, p in catalogue.policies.items()
    }


def _intervals(subject_kind: str, subject_id: int) -> Select[Any]:
    e, v = _ENTITLEMENT.c, _VERSION.c
    return (
        select(*e, v.content_hash.label("catalogue_hash"))
        .join(_VERSION, v.id == e.catalogue_version_id)
        .where(e.subject_kind == subject_kind, e.subject_id == subject_id)
    )


def _public(session: Session, query: Select[Any]) -> list[EntitlementPublic]:
    e = _ENTITLEMENT.c
    rows = session.connection().execute(query.order_by(e.policy_id, e.valid_from, e.id))
    return [EntitlementPublic.model_validate(dict(r._mapping)) for r in rows]


def entitlements_on(
    *, session: Session, subject_kind: str, subject_id: int, on: date
) -> list[EntitlementPublic]:
    """Every entitlement interval of a subject that covers `on`, by policy id.

    Args:
        session: a read session.
        subject_kind: "household" or "enterprise".
        subject_id: the subject's surrogate id (`household.id`, `enterprise.id`).
        on: the date asked about.

    Returns:
        One interval per policy the subject had a non-ineligible result for by `on` (ineligible
        ones too, when that result had ended by then); an interval opened and superseded on
        the same day covers no date and is not returned (`entitlement_history` lists it).
    """
    e = _ENTITLEMENT.c
    query = _intervals(subject_kind, subject_id).where(
        e.valid_from <= on, or_(e.valid_to.is_(None), e.valid_to > on)
    )
    return _public(session, query)


def entitlement_history(
    *, session: Session, subject_kind: str, subject_id: int, policy_id: str | None = None
) -> list[EntitlementPublic]:
    """Every interval of a subject (of one policy, if given), by policy id then date.

    Args:
        session: a read session.
        subject_kind: "household" or "enterprise".
        subject_id: the subject's surrogate id.
        policy_id: only this policy's intervals; None: every policy's.
    """
    query = _intervals(subject_kind, subject_id)
    if policy_id is not None:
        query = query.where(_ENTITLEMENT.c.policy_id == policy_id)
    return _public(session, query)
