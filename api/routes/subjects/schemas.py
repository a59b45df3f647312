"""Request and response shapes of the subjects area (never table models).

Amounts are strings with two places (`"300.02"`, `rules.numbers.fen_text`); dates ISO; ID
numbers masked everywhere but the identity view (`mask_ids_in_data` over what events and
reactions carry).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec

from matcher.profiles.masking import mask_ids_in_data, mask_ids_in_text
from rules.catalogue import Catalogue
from rules.numbers import fen_text
from store.events.outcome import Outcome
from store.subjects.reads import HistoryItem
from store.tables.entitlements import EntitlementPublic

__all__ = [
    "EntitlementOut",
    "HistoryOut",
    "OutcomeOut",
    "PatchBody",
    "entitlements_out",
    "history_out",
    "outcome_out",
]

FactName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
FactJson = Annotated[str, msgspec.Meta(max_length=200)] | int | float | bool | None


class PatchBody(msgspec.Struct, forbid_unknown_fields=True):
    """Facts to set (`null` removes one), on the household or one member (its position)."""

    facts: Annotated[dict[FactName, FactJson], msgspec.Meta(max_length=200)]
    on: date | None = None
    member: Annotated[int, msgspec.Meta(ge=0, le=999)] | None = None


class EventOut(msgspec.Struct):
    """An event recorded."""

    id: int
    name: str
    subject_kind: str
    subject_id: int
    attributes: dict[str, Any]


class ActionOut(msgspec.Struct):
    """An action a reaction called for."""

    event_id: int
    verb: str
    reaction: str
    says: str | None
    args: dict[str, Any]


class ChangeOut(msgspec.Struct):
    """An entitlement change written."""

    id: int
    policy_id: str
    kind: str
    before_status: str
    after_status: str
    before_amount: str | None
    after_amount: str | None
    effective_on: date | None
    event_id: int


class NoticeOut(msgspec.Struct):
    """A notice queued in the outbox."""

    id: int
    kind: str
    policy_id: str
    dedup_key: str


class DeadlineOut(msgspec.Struct):
    """A deadline created."""

    id: int
    event_name: str
    due_on: date


class OutcomeOut(msgspec.Struct):
    """What one change recorded (all empty when the profile was already so)."""

    events: list[EventOut]
    actions: list[ActionOut]
    changes: list[ChangeOut]
    notices: list[NoticeOut]
    deadlines: list[DeadlineOut]


def outcome_out(o: Outcome) -> OutcomeOut:
    """The outcome as the API answers it (IDs masked, amounts as strings)."""
    return OutcomeOut(
        events=[EventOut(e.id, e.name, e.subject_kind, e.subject_id,
                         mask_ids_in_data(dict(e.attributes))) for e in o.events],
        actions=[ActionOut(a.event_id, a.verb, a.reaction,
                           mask_ids_in_text(a.says) if a.says else None,
                           mask_ids_in_data(dict(a.args))) for a in o.actions],
        changes=[ChangeOut(c.id, c.policy_id, c.kind, c.before_status, c.after_status,
                           fen_text(c.before_amount), fen_text(c.after_amount), c.effective_on,
                           c.event_id) for c in o.changes],
        notices=[NoticeOut(n.id, n.kind, n.policy_id, mask_ids_in_text(n.dedup_key))
                 for n in o.notices],
        deadlines=[DeadlineOut(d.id, d.event_name, d.due_on) for d in o.deadlines],
    )  # fmt: skip


class EntitlementOut(msgspec.Struct):
    """One interval: what held from `since` until `until` (exclusive; null: still)."""

    policy_id: str
    title: str | None
    status: str
    amount: str | None
    since: date
    until: date | None
    says: str
    missing: list[str]
    catalogue_hash: str
    rule_hash: str | None


class HistoryOut(EntitlementOut):
    """An interval of the history, with what opened and closed it (`event:41`,
    `sweep_run:3`)."""

    opened_by: str | None = None
    closed_by: str | None = None


_STATUS = {"eligible": "符合", "undetermined": "待补充信息", "ineligible": "不符合"}


def _one(e: EntitlementPublic, catalogue: Catalogue) -> dict[str, Any]:
    policy = catalogue.policies.get(e.policy_id)
    title = policy.spec.title if policy is not None else None
    amount = fen_text(e.amount)
    says = f"自 {e.valid_from} 起{_STATUS.get(e.status, e.status)}" + (
        f"，{amount} 元" if amount and e.status == "eligible" else ""
    ) + (f"，至 {e.valid_to} 止" if e.valid_to else "")  # fmt: skip
    return {
        "policy_id": e.policy_id, "title": title, "status": e.status, "amount": amount,
        "since": e.valid_from, "until": e.valid_to, "says": says, "missing": list(e.missing),
        "catalogue_hash": e.catalogue_hash, "rule_hash": e.rule_hash,
    }  # fmt: skip


def entitlements_out(held: list[EntitlementPublic], catalogue: Catalogue) -> list[EntitlementOut]:
    """The intervals holding on a date, as the API answers them."""
    return [EntitlementOut(**_one(e, catalogue)) for e in held]


def history_out(items: list[HistoryItem], catalogue: Catalogue) -> list[HistoryOut]:
    """The history, as the API answers it."""
    return [
        HistoryOut(**_one(i.interval, catalogue), opened_by=i.opened_by, closed_by=i.closed_by)
        for i in items
    ]
