"""Claims as the CLI (and the API) read them: lists filtered in SQL, and one claim in full.

A claim's `overall` state is its own while it moves as one; once its parts move on their own
(`township_checked`, `granted`), it is the least advanced state among its parts that are still
open, else `paid` if any part was paid, else the parts' common end (rejected / withdrawn).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Table, exists, select
from sqlmodel import Session

from store.claims.steps import CLAIM_LEVEL
from store.tables.claims import Claim, ClaimDeadline, ClaimPart, ClaimStep

__all__ = ["ClaimView", "PartView", "list_claims", "overall_state", "show_claim"]

_CLAIM: Table = Claim.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_PART: Table = ClaimPart.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_STEP: Table = ClaimStep.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_DEADLINE: Table = ClaimDeadline.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_PROGRESS = ("prepared", "confirmed", "returned", "village_accepted", "township_checked",
             "granted", "county_approved")  # fmt: skip
_ENDS = ("rejected", "withdrawn")


@dataclass(frozen=True)
class PartView:
    """One department's part."""

    id: int
    department: str
    state: str
    version: int
    sections: list[dict[str, Any]]
    entered_on: date
    paid_on: date | None
    payment_ref: str | None
    ends_on: date | None
    end_reason: str | None


@dataclass(frozen=True)
class ClaimView:
    """A claim with its parts (and, from `show_claim`, its steps and open deadlines)."""

    id: int
    kind: str
    title: str
    subject_kind: str
    subject_key: str
    region: str
    bundle_id: str | None
    state: str
    overall: str
    version: int
    eligible_on: date
    entered_on: date
    form: dict[str, Any]
    materials: list[dict[str, Any]]
    parts: list[PartView]
    steps: list[dict[str, Any]] = field(default_factory=list)
    deadlines: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """Plain JSON values (dates as ISO strings)."""
        return _plain(asdict(self))  # type: ignore[no-any-return]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def overall_state(state: str, part_states: Sequence[str]) -> str:
    """The claim's state as a queue shows it (module docstring)."""
    if state in CLAIM_LEVEL or not part_states:
        return state
    open_ = [s for s in part_states if s in _PROGRESS]
    if open_:
        return min(open_, key=_PROGRESS.index)
    if "paid" in part_states:
        return "paid"
    return next((s for s in _ENDS if s in part_states), state)


def _views(session: Session, rows: Sequence[Any]) -> list[ClaimView]:
    ids = [r.id for r in rows]
    parts: dict[int, list[PartView]] = {i: [] for i in ids}
    if ids:
        p = _PART.c
        for r in session.connection().execute(
            select(_PART).where(p.claim_id.in_(ids)).order_by(p.claim_id, p.id)
        ):
            parts[r.claim_id].append(
                PartView(r.id, r.department, r.state, r.version, list(r.sections or []),
                         r.entered_on, r.paid_on, r.payment_ref, r.ends_on, r.end_reason)
            )  # fmt: skip
    return [
        ClaimView(
            id=r.id,
            kind=r.kind,
            title=r.title,
            subject_kind=r.subject_kind,
            subject_key=r.subject_key,
            region=r.region,
            bundle_id=r.bundle_id,
            state=r.state,
            overall=overall_state(r.state, [x.state for x in parts[r.id]]),
            version=r.version,
            eligible_on=r.eligible_on,
            entered_on=r.entered_on,
            form=dict(r.form or {}),
            materials=list(r.materials or []),
            parts=parts[r.id],
        )  # fmt: skip
        for r in rows
    ]


def list_claims(
    session: Session,
    *,
    state: str | None = None,
    region: str | None = None,
    department: str | None = None,
    kind: str | None = None,
    subject: tuple[str, str] | None = None,
    ids: Sequence[int] | None = None,
    limit: int | None = None,
) -> list[ClaimView]:
    """Claims filtered in SQL, by id.

    Args:
        session: a session.
        state: a state one of its parts is in (while a claim moves as one its parts share
            its state; after, a claim with a part paid and a part still waiting is in both).
        region: a region code prefix (a village, township or county sees only its own).
        department: claims with a part of this department.
        kind: grant, claim or bundle.
        subject: (kind, key): one household's (户编号) or enterprise's (credit code) claims.
        ids: only these claims.
        limit: at most this many.

    Returns:
        The claims with their parts.
    """
    c, p = _CLAIM.c, _PART.c
    query = select(_CLAIM).order_by(c.id)
    if state is not None:  # the parts follow a claim while it moves as one: a part's state
        query = query.where(exists().where(p.claim_id == c.id, p.state == state))
    if region:
        query = query.where(c.region.like(f"{region}%"))
    if department is not None:
        query = query.where(exists().where(p.claim_id == c.id, p.department == department))
    if kind is not None:
        query = query.where(c.kind == kind)
    if subject is not None:
        query = query.where(c.subject_kind == subject[0], c.subject_key == subject[1])
    if ids is not None:
        query = query.where(c.id.in_(list(ids)))
    if limit is not None:
        query = query.limit(limit)
    return _views(session, session.connection().execute(query).all())


def show_claim(session: Session, claim_id: int, *, region: str | None = None) -> ClaimView | None:
    """One claim with its parts, steps and open deadlines; None if unknown (or outside
    `region`, the caller's scope: existence is not revealed)."""
    c, s, d = _CLAIM.c, _STEP.c, _DEADLINE.c
    query = select(_CLAIM).where(c.id == claim_id)
    if region:
        query = query.where(c.region.like(f"{region}%"))
    row = session.connection().execute(query).first()
    if row is None:
        return None
    view = _views(session, [row])[0]
    conn = session.connection()
    part_names = {x.id: x.department for x in view.parts}
    for r in conn.execute(select(_STEP).where(s.claim_id == claim_id).order_by(s.id)):
        view.steps.append({
            "action": r.action, "from": r.from_state, "to": r.to_state,
            "part": part_names.get(r.part_id) if r.part_id else None, "actor": r.actor,
            "person": r.person, "role": r.role, "region": r.region, "department": r.department,
            "on_behalf": r.on_behalf, "reason": r.reason, "on_date": r.on_date,
            "at": r.at.isoformat(),
        })  # fmt: skip
    open_ = select(_DEADLINE).where(d.claim_id == claim_id, d.done_at.is_(None)).order_by(d.id)
    for r in conn.execute(open_):
        view.deadlines.append({
            "state": r.state, "part": part_names.get(r.part_id) if r.part_id else None,
            "entered_on": r.entered_on, "due_on": r.due_on, "remind_on": r.remind_on,
        })  # fmt: skip
    return view
