"""The drain's transactions: claim due notices with a lease, fan out, record attempts, replay.

Nothing here waits on the network: `claim` and `record` are each one short write transaction,
and the caller (`jobs.drain`) sends in between, outside any transaction — on SQLite a
transaction held across an HTTP call would hold the single write lock for its length.

- **Claim.** Due rows: `pending`, `next_attempt_at` NULL or past, no live lease, in id order.
  On PostgreSQL the SELECT takes `FOR UPDATE SKIP LOCKED` (RELIABILITY S3), so concurrent
  drainers take disjoint rows; on SQLite the write transaction (`BEGIN IMMEDIATE`) serialises
  claims. Each claimed row gets `locked_until = now + lease`: a drainer killed mid-batch
  leaves leases that expire, and the rows are claimed again — and sent again with the same
  `webhook-id`, which the receiver dedupes (RELIABILITY D1).
- **Fan-out** happens at a notice's first claim: one `delivery` per active subscription of
  its subject; for a household with none, the subscriptions of its village centre (its
  12-digit region code), on its behalf. A payload `notify: ["subject", "village"]` asks for
  both (either alone restricts to it). An office notice (`subject_kind` "office", a claim's
  reminder or escalation: `store.claims.notices`) goes to the active office subscriptions whose
  key is its `payload.office`. A notice nobody hears about becomes `undeliverable`
  ("no_channel", naming the office key for an office notice) rather than being claimed for
  ever; `replay` fans it out again once someone subscribed.
- **Record.** Every attempt is a row. A delivery is `sent` on success, `gone` when its
  subscription is disabled (a 410), `dead` after a permanent failure or the last try, else
  due again after `store.delivery.retry.delay_after`. The notice is `dead` if any delivery is
  dead, else `sent` if any was sent, else `undeliverable` (every subscription disabled) —
  once every delivery ended; until then `pending`, due when its earliest delivery is. A
  delivery is only moved on by the drainer that saw it at its current try count, so a second
  drainer that sent the same try after a lease expired adds its attempt row but no second
  transition.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Table, and_, bindparam, insert, or_, select, true, update
from sqlmodel import Session

from store.audit.log import AuditEntry, append
from store.db import write_session
from store.delivery.offices import (
    label_key,
    office_label,
    office_of,
    office_subscriptions,
    unheard_error,
)
from store.delivery.retry import SCHEDULE, delay_after
from store.tables.delivery import Delivery, DeliveryAttempt, Subscription
from store.tables.entitlements import OutboxMessage
from store.tables.profiles import EnterpriseRow, HouseholdRow

__all__ = [
    "NO_CHANNEL",
    "Batch",
    "Claimed",
    "Result",
    "Send",
    "aware",
    "label_of",
    "labels_of",
    "office_label",
    "claim",
    "record",
    "replay",
    "NotReplayable",
]

_OUTBOX: Table = OutboxMessage.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_DELIVERY: Table = Delivery.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_ATTEMPT: Table = DeliveryAttempt.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_SUB: Table = Subscription.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_HOUSEHOLD: Table = HouseholdRow.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_ENTERPRISE: Table = EnterpriseRow.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
NO_CHANNEL = "无人订阅 (no_channel)"
_ENDED = ("sent", "dead", "gone")


@dataclass(frozen=True)
class Send:
    """One delivery due now: what a sender needs (secrets still sealed)."""

    delivery_id: int
    outbox_id: int
    subscription_id: int
    channel: str
    target: str
    attempts: int  # tries before this one
    on_behalf: str
    secrets: tuple[str, ...] = ()  # sealed; the current first, then one rotating out
    disabled: str | None = None  # the subscription's reason when it was disabled meanwhile


@dataclass(frozen=True)
class Claimed:
    """A claimed notice with its deliveries due now."""

    outbox_id: int
    kind: str
    subject_kind: str
    subject_id: int
    subject_label: str
    payload: dict[str, Any]
    sends: list[Send] = field(default_factory=list)


@dataclass(frozen=True)
class Result:
    """How one try of one delivery went (or that no try was made: `attempted` False)."""

    send: Send
    at: datetime
    ok: bool
    latency_ms: int = 0
    status_code: int | None = None
    error: str | None = None
    permanent: bool = False  # no retry will help (a refused URL, a 5xx mail refusal)
    gone: str | None = None  # disable the subscription, with this reason (410)
    retry_after: timedelta | None = None
    attempted: bool = True


def aware(moment: datetime) -> datetime:
    """A stored time as UTC-aware (SQLite hands back naive times; every stored time is UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _due(now: datetime) -> Any:
    o = _OUTBOX.c
    return and_(
        o.state == "pending",
        or_(o.next_attempt_at.is_(None), o.next_attempt_at <= now),
        or_(o.locked_until.is_(None), o.locked_until <= now),
    )


@dataclass(frozen=True)
class Batch:
    """What one claim took: every claimed id, and the notices among them with deliveries due."""

    ids: list[int]
    notices: list[Claimed]
    until: datetime | None = None  # the lease this claim set; `record` releases only it


def claim(*, engine: Engine, now: datetime, batch: int, lease: timedelta) -> Batch:
    """Claim up to `batch` due notices until `now + lease`, with their due deliveries (fanned
    out at the first claim); see the module docstring. `record` releases every claimed id."""
    o = _OUTBOX.c
    with write_session(engine) as session:
        conn = session.connection()
        query = select(o.id).where(_due(now)).order_by(o.id).limit(batch)
        if engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        ids = list(conn.execute(query).scalars())
        if not ids:
            return Batch([], [])
        until = now + lease
        conn.execute(update(_OUTBOX).where(o.id.in_(ids)).values(locked_until=until))
        rows = {r.id: r for r in conn.execute(select(_OUTBOX).where(o.id.in_(ids)))}
        _fan_out(session, rows, now)
        sends = _sends(session, ids, now)
        labels = labels_of(session, rows.values())
    return Batch(
        ids,
        [
            Claimed(
                outbox_id=r.id,
                kind=r.kind,
                subject_kind=r.subject_kind,
                subject_id=r.subject_id,
                subject_label=label_of(labels, r),
                payload=dict(r.payload),
                sends=sends.get(r.id, []),
            )
            for r in (rows[i] for i in ids)
            if r.id in sends
        ],
        until,
    )


def _wanted(payload: dict[str, Any]) -> tuple[bool, bool]:
    """Whether a notice asks for (the subject's own subscriptions, the village's): its payload's
    `notify` list, else the subject's own only (a household without any falls back to its
    village in `_fan_out`)."""
    notify = payload.get("notify")
    if not isinstance(notify, list):
        return True, False
    return "subject" in notify, "village" in notify


def _fan_out(session: Session, rows: dict[int, Any], now: datetime) -> None:
    """Create the deliveries of notices claimed for the first time; mark the unheard."""
    conn, d = session.connection(), _DELIVERY.c
    done = set(conn.execute(select(d.outbox_id).where(d.outbox_id.in_(list(rows)))).scalars())
    fresh = [r for i, r in rows.items() if i not in done]
    if not fresh:
        return
    chosen = _chosen(session, fresh)
    _insert_deliveries(session, chosen)
    unheard = [r for r in fresh if not chosen.get(r.id)]
    if unheard:
        o = _OUTBOX.c
        conn.execute(
            update(_OUTBOX)
            .where(o.id == bindparam("_id"))
            .values(
                state="undeliverable",
                last_error=bindparam("_error"),
                finished_at=now,
                locked_until=None,
            ),
            [{"_id": r.id, "_error": unheard_error(r) or NO_CHANNEL} for r in unheard],
        )


def _chosen(session: Session, notices: list[Any]) -> dict[int, list[tuple[int, str]]]:
    """Outbox id → the active subscriptions that hear of it now, with on whose behalf."""
    conn, s = session.connection(), _SUB.c
    own: dict[tuple[str, int], list[int]] = {}
    subjects = {(r.subject_kind, r.subject_id) for r in notices if r.subject_kind != "office"}
    for kind in {k for k, _ in subjects}:
        ids = [i for k, i in subjects if k == kind]
        for sub in conn.execute(
            select(s.id, s.subject_id).where(
                s.subject_kind == kind, s.subject_id.in_(ids), s.state == "active"
            )
        ):
            own.setdefault((kind, sub.subject_id), []).append(sub.id)
    villages = _village_subscriptions(
        session, [r.subject_id for r in notices if r.subject_kind == "household"]
    )
    offices = office_subscriptions(session, notices)
    out: dict[int, list[tuple[int, str]]] = {}
    for r in notices:
        if r.subject_kind == "office":
            out[r.id] = [(i, "subject") for i in offices.get(office_of(r), [])]
            continue
        mine, village = own.get((r.subject_kind, r.subject_id), []), villages.get(r.subject_id, [])
        want_own, want_village = _wanted(r.payload)
        if not want_village and not mine and r.subject_kind == "household":
            want_village = True  # on the household's behalf
        out[r.id] = ([(i, "subject") for i in mine] if want_own else []) + (
            [(i, "village") for i in village if i not in mine] if want_village else []
        )
    return out


def _insert_deliveries(session: Session, chosen: dict[int, list[tuple[int, str]]]) -> int:
    """Insert a first-try delivery for each (outbox id, subscription); returns how many."""
    conn, s = session.connection(), _SUB.c
    new = [
        {
            "outbox_id": outbox_id,
            "subscription_id": i,
            "channel": "",
            "on_behalf": who,
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": None,
        }
        for outbox_id, subs in chosen.items()
        for i, who in subs
    ]
    if not new:
        return 0
    channels = dict(
        conn.execute(
            select(s.id, s.channel).where(s.id.in_({n["subscription_id"] for n in new}))
        ).all()
    )
    for n in new:
        n["channel"] = channels[n["subscription_id"]]
    conn.execute(insert(_DELIVERY), new)
    return len(new)


def _village_subscriptions(session: Session, household_ids: list[int]) -> dict[int, list[int]]:
    """Household id → the active subscriptions of its village centre."""
    if not household_ids:
        return {}
    conn, h, s = session.connection(), _HOUSEHOLD.c, _SUB.c
    regions = dict(conn.execute(select(h.id, h.region_code).where(h.id.in_(household_ids))).all())
    codes = {c for c in regions.values() if c}
    by_code: dict[str, list[int]] = {}
    if codes:
        for sub in conn.execute(
            select(s.id, s.subject_key).where(
                s.subject_kind == "village", s.subject_key.in_(codes), s.state == "active"
            )
        ):
            by_code.setdefault(sub.subject_key, []).append(sub.id)
    return {i: by_code.get(code, []) for i, code in regions.items() if code}


def _sends(session: Session, ids: list[int], now: datetime) -> dict[int, list[Send]]:
    conn, d, s = session.connection(), _DELIVERY.c, _SUB.c
    rows = conn.execute(
        select(
            d.id,
            d.outbox_id,
            d.subscription_id,
            d.channel,
            d.attempts,
            d.on_behalf,
            s.target,
            s.secret,
            s.previous_secret,
            s.previous_until,
            s.state,
            s.reason,
        )
        .join(_SUB, s.id == d.subscription_id)
        .where(
            d.outbox_id.in_(ids),
            d.state == "pending",
            or_(d.next_attempt_at.is_(None), d.next_attempt_at <= now),
        )
        .order_by(d.id)
    )
    out: dict[int, list[Send]] = {}
    for r in rows:
        sealed = [r.secret] if r.secret else []
        if r.previous_secret and r.previous_until is not None and aware(r.previous_until) > now:
            sealed.append(r.previous_secret)
        disabled = (r.reason or "订阅已停用") if r.state != "active" else None
        out.setdefault(r.outbox_id, []).append(
            Send(
                r.id,
                r.outbox_id,
                r.subscription_id,
                r.channel,
                r.target,
                r.attempts,
                r.on_behalf,
                tuple(sealed),
                disabled,
            )
        )
    return out


def label_of(labels: dict[tuple[str, int], str], row: Any) -> str:
    """The label `labels_of` gave `row`'s subject (`kind:id` when it found none)."""
    found = labels.get(label_key(row))
    return found or f"{row.subject_kind}:{row.subject_id}"


def labels_of(session: Session, rows: Iterable[Any]) -> dict[tuple[str, int], str]:
    """How notices name their subjects: the 户编号, the enterprise's name and credit code, or
    for an office notice the claim and the office ("申领 12 · 县医疗保障局"). Read a row's
    label with `label_of` (rows need `subject_kind`, `subject_id` and, for offices, `payload`)."""
    rows = list(rows)
    conn, out = session.connection(), {}
    for r in rows:
        if r.subject_kind == "office":
            out[label_key(r)] = f"申领 {r.subject_id} · {office_label(office_of(r))}"
    households = [r.subject_id for r in rows if r.subject_kind == "household"]
    enterprises = [r.subject_id for r in rows if r.subject_kind == "enterprise"]
    if households:
        h = _HOUSEHOLD.c
        for i, no in conn.execute(select(h.id, h.household_no).where(h.id.in_(households))):
            out[("household", i)] = f"户 {no}"
    if enterprises:
        e = _ENTERPRISE.c
        for i, code, name in conn.execute(
            select(e.id, e.credit_code, e.name).where(e.id.in_(enterprises))
        ):
            out[("enterprise", i)] = f"{name}（{code}）" if name else code
    return out


def _outcome(result: Result, rng: random.Random, schedule: tuple[timedelta, ...]) -> dict[str, Any]:
    """The delivery's new values after `result` (state, attempts, next due, error)."""
    tries = result.send.attempts + (1 if result.attempted else 0)
    values: dict[str, Any] = {
        "attempts": tries,
        "last_error": result.error,
        "next_attempt_at": None,
    }
    if result.ok:
        return values | {"state": "sent", "sent_at": result.at, "last_error": None}
    if result.gone is not None or not result.attempted:
        return values | {"state": "gone", "last_error": result.gone or result.error}
    wait = (
        None
        if result.permanent
        else delay_after(tries, retry_after=result.retry_after, rng=rng, schedule=schedule)
    )
    if wait is None:
        return values | {"state": "dead"}
    return values | {"state": "pending", "next_attempt_at": result.at + wait}


def _attempt_row(result: Result, outcome: str) -> dict[str, Any]:
    send = result.send
    return {
        "delivery_id": send.delivery_id,
        "outbox_id": send.outbox_id,
        "subscription_id": send.subscription_id,
        "channel": send.channel,
        "number": send.attempts + 1,
        "at": result.at,
        "status_code": result.status_code,
        "error": (result.error or None) and result.error[:300],
        "latency_ms": result.latency_ms,
        "outcome": "retry" if outcome == "pending" else outcome,
    }


def record(
    *,
    engine: Engine,
    batch: Batch,
    results: Sequence[Result],
    now: datetime,
    rng: random.Random | None = None,
    schedule: tuple[timedelta, ...] = SCHEDULE,
) -> None:
    """Record a batch's results in one transaction and release its claims (module docstring)."""
    rng = rng or random.Random()
    d = _DELIVERY.c
    with write_session(engine) as session:
        conn = session.connection()
        attempts, moves = [], []
        for result in results:
            values = _outcome(result, rng, schedule)
            if result.attempted:
                attempts.append(_attempt_row(result, values["state"]))
            moves.append(
                values
                | {
                    "sent_at": values.get("sent_at"),
                    "_id": result.send.delivery_id,
                    "_before": result.send.attempts,
                }
            )
            if result.gone is not None:
                _disable(session, result.send.subscription_id, result.gone)
        if attempts:
            conn.execute(insert(_ATTEMPT), attempts)
        if moves:
            conn.execute(
                update(_DELIVERY)
                .where(
                    d.id == bindparam("_id"),
                    d.attempts == bindparam("_before"),
                    d.state == "pending",
                )
                .values(
                    state=bindparam("state"),
                    attempts=bindparam("attempts"),
                    next_attempt_at=bindparam("next_attempt_at"),
                    last_error=bindparam("last_error"),
                    sent_at=bindparam("sent_at"),
                ),
                moves,
            )
        _settle(session, batch, now)


def _disable(session: Session, subscription_id: int, reason: str) -> None:
    s = _SUB.c
    session.connection().execute(
        update(_SUB)
        .where(s.id == subscription_id, s.state == "active")
        .values(state="disabled", reason=reason[:300])
    )


def _settle(session: Session, batch: Batch, now: datetime) -> None:
    """Each claimed notice's state from its deliveries; leases released — only where the lease
    is still this claim's: a notice whose lease expired and that another drainer claimed since
    is left to that drainer (which settles it from the same deliveries)."""
    ids = batch.ids
    if not ids:
        return
    conn, d, o = session.connection(), _DELIVERY.c, _OUTBOX.c
    mine = o.locked_until == batch.until if batch.until is not None else true()
    found: dict[int, list[Any]] = {}
    for r in conn.execute(
        select(d.outbox_id, d.state, d.attempts, d.next_attempt_at, d.last_error).where(
            d.outbox_id.in_(ids)
        )
    ):
        found.setdefault(r.outbox_id, []).append(r)
    changes = []
    for i in ids:
        rows = found.get(i)
        if not rows:
            continue  # undeliverable at fan-out, or never fanned out: left as it is
        states = {r.state for r in rows}
        errors = [r.last_error for r in rows if r.last_error]
        values: dict[str, Any] = {
            "_id": i,
            "attempts": sum(r.attempts for r in rows),
            "locked_until": None,
            "last_error": errors[-1] if errors else None,
            "next_attempt_at": None,
            "finished_at": now,
            "state": "pending",
        }
        if "pending" in states:
            due = [r.next_attempt_at for r in rows if r.state == "pending"]
            values |= {
                "finished_at": None,
                "next_attempt_at": min((t for t in due if t is not None), default=None),
            }
        elif "dead" in states:
            values["state"] = "dead"
        elif "sent" in states:
            values["state"] = "sent"
        else:
            values["state"] = "undeliverable"
        changes.append(values)
    if changes:
        columns = ("attempts", "locked_until", "last_error", "next_attempt_at", "finished_at")
        settle = update(_OUTBOX).where(o.id == bindparam("_id"), mine)
        conn.execute(settle.values({k: bindparam(k) for k in (*columns, "state")}), changes)
    rest = [i for i in ids if i not in found]
    if rest:  # an undeliverable notice: just let go of the lease
        conn.execute(update(_OUTBOX).where(o.id.in_(rest), mine).values(locked_until=None))


class NotReplayable(ValueError):
    """The notice is not there, or not dead or undeliverable (so there is nothing to replay)."""


def replay(*, session: Session, outbox_id: int, now: datetime, actor: str) -> int:
    """Put a dead (or undeliverable) notice back in the queue, its dead deliveries reset to a
    first try now, and a first delivery added for each active subscription that hears of it
    now and has none for it yet (an undeliverable notice whose every subscription went `gone`
    reaches the ones added since); audited. Returns how many deliveries were reset or added.

    Raises:
        NotReplayable: no such notice, or it is pending or sent.
    """
    conn, d, o = session.connection(), _DELIVERY.c, _OUTBOX.c
    row = conn.execute(
        select(o.id, o.state, o.subject_kind, o.subject_id, o.payload).where(o.id == outbox_id)
    ).first()
    if row is None:
        raise NotReplayable(f"通知 {outbox_id} 不存在")
    if row.state not in ("dead", "undeliverable"):
        raise NotReplayable(
            f"通知 {outbox_id} 的状态是 {row.state}：只能重发 dead 或 undeliverable 的通知"
        )
    reset = conn.execute(
        update(_DELIVERY)
        .where(d.outbox_id == outbox_id, d.state == "dead")
        .values(state="pending", attempts=0, next_attempt_at=now, last_error=None)
    ).rowcount
    had = set(conn.execute(select(d.subscription_id).where(d.outbox_id == outbox_id)).scalars())
    if had:  # subscribed since (e.g. after a 410 ended every delivery): fan out to them too
        chosen = _chosen(session, [row])[outbox_id]
        reset += _insert_deliveries(
            session, {outbox_id: [(i, who) for i, who in chosen if i not in had]}
        )
    conn.execute(
        update(_OUTBOX)
        .where(o.id == outbox_id)
        .values(
            state="pending",
            next_attempt_at=now,
            locked_until=None,
            finished_at=None,
            last_error=None,
        )
    )
    append(
        session=session,
        entry=AuditEntry(
            actor=actor,
            action="notice.replay",
            subject=f"{row.subject_kind}:{row.subject_id}",
            details={"outbox_id": outbox_id, "was": row.state, "deliveries_reset": reset},
        ),
    )
    return int(reset)
