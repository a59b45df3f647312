"""Apply one profile change through the live event path, in ONE write transaction.

    outcome = apply_change(engine, catalogue=c, root=root, reactions=r, kind="household",
                           key="5206021002010001", facts={"dibao_status": "active"},
                           on=date(2025, 3, 1), actor="cli", source="zhida profile set")
    outcome.events, outcome.actions, outcome.changes, outcome.notices, outcome.deadlines

The transaction is serialised with sweeps (`store.sweep.runs.lock_sweeps`), publishes the
catalogue, reads the stored profile, sets the facts, validates the result
(`store.events.changes`), stores it through the import's own upsert (a `ProfileChange` row), and
hands the changed subjects to `store.events.react.react_in` (events, reactions, re-evaluation,
entitlement changes, notices, deadlines). Anything refused or failing rolls all of it back.

A household that loses a member to the changed one (`apply_profile` with a member stored
elsewhere: the person moved) is a changed subject too (`member_moved`, re-evaluated).
`change_in` / `profile_in` do the same inside a caller's transaction (tests, the API).

A date after today (Asia/Shanghai, `rules.clock.today`) is refused (`refuse_the_future`, in
`setup_in`, so changes, imports given `--on` and deadlines alike): the notices would go out
now, and intervals opened in the future would make every sweep before that date refuse to run.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from matcher.events.reactions import Reactions
from matcher.profiles.parse import Enterprise, Household
from rules.catalogue import Catalogue
from rules.clock import future_date_message, today
from rules.facts import FactValue
from store.audit.catalogues import publish_catalogue
from store.db import write_session
from store.events.changes import ProfileChangeError, changed_profile, stored_document
from store.events.outcome import Outcome
from store.events.react import EventSetup, SubjectChange, react_in
from store.ingest.documents import household_rows, stored_households
from store.ingest.profiles import upsert_enterprises, upsert_households
from store.sweep.runs import lock_sweeps
from store.tables.profiles import HouseholdRow, MemberRow, ProfileChange

__all__ = [
    "EventSetup",
    "Outcome",
    "ProfileChangeError",
    "apply_change",
    "apply_profile",
    "change_in",
    "profile_in",
    "refuse_the_future",
    "setup_in",
]


def setup_in(
    session: Session,
    *,
    catalogue: Catalogue,
    root: Path,
    reactions: Reactions,
    on: date,
    actor: str,
    source: str,
) -> EventSetup:
    """Take the sweep lock and publish the catalogue; what the transaction's events share.

    Raises:
        ProfileChangeError: `on` is after today in Asia/Shanghai (`rules.clock.today`): the
            notices would be sent now, and the intervals opened at that date would refuse
            every sweep before it.
    """
    refuse_the_future(on)
    lock_sweeps(session)
    version = publish_catalogue(session=session, catalogue=catalogue, root=root, actor=actor)
    assert version.id is not None
    return EventSetup(catalogue, root, reactions, on, actor, source, version.id)


def refuse_the_future(on: date, option: str = "--on") -> None:
    """Refuse a date after today in Asia/Shanghai: history is recorded as it happens.

    Raises:
        ProfileChangeError: naming the option, the date given and today.
    """
    if on > today():
        raise ProfileChangeError(future_date_message(on, option))


def _last_change(session: Session, kind: str, subject_id: int) -> int | None:
    p = ProfileChange
    return session.execute(
        select(func.max(col(p.id))).where(
            col(p.subject_kind) == kind, col(p.subject_id) == subject_id
        )
    ).scalar()


def _holders(session: Session, household: Household) -> dict[int, dict[str, Any]]:
    """Other stored households holding one of `household`'s members (they will lose them)."""
    numbers = [m.id_number for m in household.members]
    rows = session.execute(
        select(col(MemberRow.household_id))
        .join(HouseholdRow, col(HouseholdRow.id) == col(MemberRow.household_id))
        .where(col(MemberRow.id_number).in_(numbers))
        .where(col(HouseholdRow.household_no) != household.household_id)
    ).scalars()
    return stored_households(session, household_rows(session, set(rows)))


def _household_changes(
    session: Session, household: Household, setup: EventSetup
) -> list[SubjectChange]:
    key = str(household.household_id)
    found = stored_document(session, "household", key)
    losers = _holders(session, household)
    counts = upsert_households(session=session, households=[(household, setup.source)])
    if counts.unchanged:
        return []
    after_id = stored_document(session, "household", key)
    assert after_id is not None
    subject_id, after = after_id
    changes = [
        SubjectChange("household", subject_id, found[1] if found else None, after,
                      household.region_code, _last_change(session, "household", subject_id))
    ]  # fmt: skip
    now = stored_households(session, household_rows(session, set(losers)))
    for hid, before in sorted(losers.items()):
        changes.append(
            SubjectChange("household", hid, before, now[hid], before["region_code"],
                          _last_change(session, "household", hid))
        )  # fmt: skip
    return changes


def _enterprise_changes(
    session: Session, enterprise: Enterprise, setup: EventSetup
) -> list[SubjectChange]:
    found = stored_document(session, "enterprise", enterprise.credit_code)
    counts = upsert_enterprises(session=session, enterprises=[(enterprise, setup.source)])
    if counts.unchanged:
        return []
    stored = stored_document(session, "enterprise", enterprise.credit_code)
    assert stored is not None
    subject_id, after = stored
    last = _last_change(session, "enterprise", subject_id)
    before = found[1] if found else None
    return [SubjectChange("enterprise", subject_id, before, after, enterprise.region_code, last)]


def profile_in(session: Session, *, setup: EventSetup, profile: Household | Enterprise) -> Outcome:
    """Store a whole validated profile (new or changed) and react, in the caller's transaction.

    Args:
        session: a write session after `setup_in`.
        setup: what the events share.
        profile: a validated household (with its 户编号) or enterprise.

    Returns:
        What was recorded; empty when the profile is the one stored.
    """
    if isinstance(profile, Household):
        if profile.household_id is None:
            raise ProfileChangeError("档案缺少户编号（household_id）：应为已知户编号的户")
        changes = _household_changes(session, profile, setup)
    else:
        changes = _enterprise_changes(session, profile, setup)
    return react_in(session, setup=setup, changes=changes)


def change_in(
    session: Session,
    *,
    setup: EventSetup,
    kind: str,
    key: str,
    facts: Mapping[str, FactValue | None],
    member: str | None = None,
) -> Outcome:
    """Set facts of a stored profile and react, in the caller's transaction (`apply_change`)."""
    _, _, profile = changed_profile(
        session, kind=kind, key=key, changes=facts, facts=setup.catalogue.facts, on=setup.on,
        member=member,
    )  # fmt: skip
    return profile_in(session, setup=setup, profile=profile)


def apply_change(
    engine: Engine,
    *,
    catalogue: Catalogue,
    root: Path,
    reactions: Reactions,
    kind: str,
    key: str,
    facts: Mapping[str, FactValue | None],
    member: str | None = None,
    on: date,
    actor: str,
    source: str,
) -> Outcome:
    """Change one stored profile through the event path, in one write transaction.

    Args:
        engine: the database (migrated).
        catalogue: the catalogue to evaluate with (published if new).
        root: the folder it was loaded from.
        reactions: the delivery reactions of the catalogue.
        kind: "household" or "enterprise".
        key: the 户编号 or the credit code.
        facts: fact → typed value (`store.events.values`), or None to remove it.
        member: set the facts on this member (full ID number) of the household.
        on: the date of the change (entitlement intervals open and close at it).
        actor: who changes it (audited with each entitlement change).
        source: where the change comes from ("zhida profile set").

    Returns:
        The events, the reactions' actions, the entitlement changes, notices and deadlines.

    Raises:
        ProfileChangeError: an unknown subject, member or fact, a bad value, an invalid
            profile, or a date before the subject's history; nothing is written.
    """
    with write_session(engine) as session:
        setup = setup_in(session, catalogue=catalogue, root=root, reactions=reactions, on=on,
                         actor=actor, source=source)  # fmt: skip
        return change_in(session, setup=setup, kind=kind, key=key, facts=facts, member=member)


def apply_profile(
    engine: Engine,
    *,
    catalogue: Catalogue,
    root: Path,
    reactions: Reactions,
    profile: Household | Enterprise,
    on: date,
    actor: str,
    source: str,
) -> Outcome:
    """Store a whole validated profile through the event path, in one write transaction
    (as `apply_change`; members added, removed or moved from another household)."""
    with write_session(engine) as session:
        setup = setup_in(session, catalogue=catalogue, root=root, reactions=reactions, on=on,
                         actor=actor, source=source)  # fmt: skip
        return profile_in(session, setup=setup, profile=profile)
