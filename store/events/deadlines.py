"""Due deadlines become events, once: what the due-deadline job runs.

A deadline row (`store.tables.events.DeadlineRow`, written by an `end-from-date` action) is
fired in a transaction of its own: its state moves `pending` → `fired` by compare-and-set (an
UPDATE … WHERE state = 'pending'), then its event goes through the live event path
(`store.events.react.react_in`: recorded, reacted to, the subject re-evaluated on the firing
date, changes and notices written) and `fired_event_id` is set. Two jobs firing the same row
cannot both win the compare-and-set, and a crash before the commit leaves it pending for the
next run: a deadline fires exactly once.

One deadline never holds up the others: `fire_due` fires them in due order, each on its own.
A deadline the event path refuses (`ProfileChangeError`, e.g. its subject's history already
reaches past the firing date) would be refused again every hour, so it moves `pending` →
`failed` (compare-and-set again, after its transaction rolled back), with the reason in
Chinese in `details["failed"]` (`{"on": firing date, "reason": …}`), and is returned in
`Fired.failed` for the job to log; it is not retried. Anything else (a database that went
away) leaves the deadline pending for the next run, is logged with its traceback, and the
later deadlines are still tried. A firing date after today is refused before any fires.

    fired = fire_due(engine, catalogue=c, root=root, reactions=r, on=rules.clock.today())
    fired.outcomes, fired.failed  # len(fired) = how many fired
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, Table, select, update

from matcher.events.reactions import Event, Reactions
from rules.catalogue import Catalogue
from store.db import read_session, write_session
from store.events.apply import refuse_the_future, setup_in
from store.events.changes import ProfileChangeError
from store.events.outcome import Outcome
from store.events.react import SubjectChange, react_in
from store.tables.events import DeadlineRow
from store.tables.profiles import EnterpriseRow, HouseholdRow

__all__ = ["Fired", "due_deadlines", "fire_due"]

log = logging.getLogger(__name__)

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


@dataclass
class Fired:
    """What one `fire_due` call did: the outcomes of the deadlines it fired, and those it
    marked `failed` (id, reason)."""

    outcomes: list[Outcome] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.outcomes)


def _mark_failed(engine: Engine, deadline_id: int, *, on: date, reason: str) -> bool:
    """Move a pending deadline to `failed` with its reason (False when no longer pending)."""
    d = _DEADLINE.c
    with write_session(engine) as session:
        details = (
            session.connection().execute(select(d.details).where(d.id == deadline_id)).scalar()
        )
        said = dict(details or {}) | {"failed": {"on": on.isoformat(), "reason": reason}}
        moved = session.connection().execute(
            update(_DEADLINE)
            .where(d.id == deadline_id, d.state == "pending")
            .values(state="failed", details=said)
        )
        return bool(moved.rowcount == 1)


def fire_due(
    engine: Engine,
    *,
    catalogue: Catalogue,
    root: Path,
    reactions: Reactions,
    on: date,
    actor: str = "scheduler",
) -> Fired:
    """Fire every deadline due on or before `on`, each in its own transaction.

    A deadline the event path refuses is marked `failed` with the reason and the others still
    fire; one that fails otherwise stays pending (logged) and the others still fire.

    Args:
        engine: the database.
        catalogue: the catalogue to re-evaluate with.
        root: its folder.
        reactions: the delivery reactions.
        on: the firing date (the subjects are re-evaluated at it).
        actor: who fires (audited with each entitlement change).

    Returns:
        The outcomes of the deadlines this call fired (others fired elsewhere are skipped), and
        the deadlines it marked failed.

    Raises:
        ProfileChangeError: `on` is after today (nothing fires).
    """
    refuse_the_future(on)
    fired = Fired()
    for deadline_id in due_deadlines(engine, on=on):
        try:
            outcome = _fire(engine, deadline_id, catalogue=catalogue, root=root,
                            reactions=reactions, on=on, actor=actor)  # fmt: skip
        except ProfileChangeError as exc:
            reason = f"期限 #{deadline_id} 于 {on} 无法触发（cannot fire）：{exc}"
            if _mark_failed(engine, deadline_id, on=on, reason=reason):
                fired.failed.append((deadline_id, reason))
            continue
        except Exception:  # not this deadline's fault, perhaps: it stays pending for next time
            log.exception("deadline %s not fired on %s; it stays pending", deadline_id, on)
            continue
        if outcome is not None:
            fired.outcomes.append(outcome)
    return fired
