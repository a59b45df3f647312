"""Due deadlines become events, once: what the due-deadline job runs.

A deadline row (`store.tables.events.DeadlineRow`, written by an `end-from-date` action) is
fired in a transaction of its own: its state moves `pending` → `fired` by compare-and-set (an
UPDATE … WHERE state = 'pending'), then its event goes through the live event path
(`store.events.react.react_in`: recorded, reacted to, the subject re-evaluated on the firing
date, changes and notices written) and `fired_event_id` is set. Two jobs firing the same row
cannot both win the compare-and-set, and a crash before the commit leaves it pending for the
next run: a deadline fires exactly once.

    fired = fire_due(engine, catalogue=c, root=root, reactions=r, on=date.today())
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine, Table, select, update

from matcher.events.reactions import Event, Reactions
from rules.catalogue import Catalogue
from store.db import read_session, write_session
from store.events.apply import setup_in
from store.events.outcome import Outcome
from store.events.react import SubjectChange, react_in
from store.tables.events import DeadlineRow
from store.tables.profiles import EnterpriseRow, HouseholdRow

__all__ = ["due_deadlines", "fire_due"]

_DEADLINE: Table = DeadlineRow.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_SUBJECTS = {"household": HouseholdRow, "enterprise": EnterpriseRow}


def due_deadlines(engine: Engine, *, on: date) -> list[int]:
    """The ids of pending deadlines due on or before `on`, oldest first."""
    d = _DEADLINE.c
    with read_session(engine) as session:
        query = select(d.id).where(d.state == "pending", d.due_on <= on).order_by(d.due_on, d.id)
        return list(session.connection().execute(query).scalars())


def _fire(
    engine: Engine, deadline_id: int, *, catalogue: Catalogue, root: Path, reactions: Reactions,
    on: date, actor: str,
) -> Outcome | None:  # fmt: skip
    """Fire one deadline (None when another process fired it first)."""
    d = _DEADLINE.c
    with write_session(engine) as session:
        setup = setup_in(session, catalogue=catalogue, root=root, reactions=reactions, on=on,
                         actor=actor, source=f"deadline {deadline_id}")  # fmt: skip
        won = session.connection().execute(
            update(_DEADLINE).where(d.id == deadline_id, d.state == "pending").values(state="fired")
        )
        if won.rowcount != 1:
            return None
        row = session.connection().execute(select(_DEADLINE).where(d.id == deadline_id)).one()
        table: Table = _SUBJECTS[row.subject_kind].__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
        region = (
            session.connection()
            .execute(select(table.c.region_code).where(table.c.id == row.subject_id))
            .scalar()
        )
        said = {"deadline": deadline_id, "due_on": row.due_on.isoformat()}
        event = Event(row.event_name, row.subject_kind, said)
        change = SubjectChange(row.subject_kind, row.subject_id, None, None, region, events=[event])
        outcome = react_in(session, setup=setup, changes=[change])
        fired = outcome.events[0].id if outcome.events else None
        session.connection().execute(
            update(_DEADLINE).where(d.id == deadline_id).values(fired_event_id=fired)
        )
        return outcome


def fire_due(
    engine: Engine,
    *,
    catalogue: Catalogue,
    root: Path,
    reactions: Reactions,
    on: date,
    actor: str = "scheduler",
) -> list[Outcome]:
    """Fire every deadline due on or before `on`, each in its own transaction.

    Args:
        engine: the database.
        catalogue: the catalogue to re-evaluate with.
        root: its folder.
        reactions: the delivery reactions.
        on: the firing date (the subjects are re-evaluated at it).
        actor: who fires (audited with each entitlement change).

    Returns:
        One outcome per deadline this call fired (others fired elsewhere are skipped).
    """
    fired = []
    for deadline_id in due_deadlines(engine, on=on):
        outcome = _fire(engine, deadline_id, catalogue=catalogue, root=root,
                        reactions=reactions, on=on, actor=actor)  # fmt: skip
        if outcome is not None:
            fired.append(outcome)
    return fired
