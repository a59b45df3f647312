"""The shapes of the claims area: request bodies (unknown fields refused, strings bounded) and
answers (never table models; dates ISO, amounts strings of yuan as the store keeps them)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec

from store.claims.reads import ClaimView, PartView
from store.claims.scoped import Queued

__all__ = [
    "AdvanceBody",
    "BatchBody",
    "BatchItem",
    "BatchOut",
    "BatchResult",
    "ClaimOut",
    "ConfirmBody",
    "PartOut",
    "PaymentProblemOut",
    "PaymentsOut",
    "QueueItem",
    "QueueOut",
    "ReasonBody",
    "StepOut",
    "claim_out",
    "queue_item",
]

ClaimId = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
Version = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
Action = Annotated[str, msgspec.Meta(min_length=1, max_length=24)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Department = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
PaymentRef = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]


class ConfirmBody(msgspec.Struct, forbid_unknown_fields=True):
    """A confirmation: the version seen (optional) and the day (default today)."""

    version: Version | None = None
    on: date | None = None


class AdvanceBody(msgspec.Struct, forbid_unknown_fields=True):
    """A step: the workflow action, the version seen, and what the action needs."""

    action: Action
    version: Version
    reason: Reason | None = None
    on: date | None = None
    part: Department | None = None  # the department's part (default: the caller's own)
    payment_ref: PaymentRef | None = None


class ReasonBody(msgspec.Struct, forbid_unknown_fields=True):
    """A return (补正: what to fix) or a rejection: the reason is required."""

    version: Version
    reason: Reason
    on: date | None = None
    part: Department | None = None


class BatchItem(msgspec.Struct, forbid_unknown_fields=True):
    """One claim of a batch, with the version seen."""

    id: ClaimId
    version: Version | None = None


class BatchBody(msgspec.Struct, forbid_unknown_fields=True):
    """The same action on several claims, each in its own transaction."""

    action: Action
    claims: Annotated[list[BatchItem], msgspec.Meta(min_length=1, max_length=500)]
    reason: Reason | None = None
    on: date | None = None
    part: Department | None = None


class PartOut(msgspec.Struct):
    """One department's part: its state, version, sections (policies and amounts), payment."""

    id: int
    department: str
    state: str
    state_label: str
    version: int
    entered_on: date
    sections: list[dict[str, Any]]
    paid_on: date | None
    payment_ref: str | None
    ends_on: date | None
    end_reason: str | None


class QueueItem(msgspec.Struct):
    """A claim in a queue, with its earliest open deadline (承诺时限)."""

    id: int
    kind: str
    title: str
    subject_kind: str
    subject_key: str
    region: str
    state: str
    overall: str
    overall_label: str
    version: int
    eligible_on: date
    entered_on: date
    parts: list[PartOut]
    due_on: date | None
    overdue: bool


class QueueOut(msgspec.Struct):
    """A page of the caller's claims, and how many there are in all."""

    total: int
    limit: int
    offset: int
    items: list[QueueItem]


class ClaimOut(msgspec.Struct):
    """A claim in full: the form (ID numbers masked), materials and where each came from,
    the parts, the steps taken (the audit trail) and the open deadlines."""

    id: int
    kind: str
    title: str
    subject_kind: str
    subject_key: str
    region: str
    bundle_id: str | None
    state: str
    overall: str
    overall_label: str
    version: int
    eligible_on: date
    entered_on: date
    form: dict[str, Any]
    materials: list[dict[str, Any]]
    parts: list[PartOut]
    steps: list[dict[str, Any]]
    deadlines: list[dict[str, Any]]


class StepOut(msgspec.Struct):
    """A step taken (or replayed for its key), and the claim after it."""

    claim_id: int
    action: str
    from_state: str
    to_state: str
    part_ids: list[int]
    replayed: bool
    claim: ClaimOut | None


class BatchResult(msgspec.Struct, omit_defaults=True):
    """One claim of a batch: done, or why not (not_found, refused, conflict, invalid, calendar)."""

    id: int
    result: str
    to_state: str | None = None
    message: str | None = None


class BatchOut(msgspec.Struct):
    """Per-claim results of a batch, and how many were done."""

    done: int
    not_done: int
    results: list[BatchResult]


class PaymentProblemOut(msgspec.Struct):
    """A row of the payment file refused: where (row, column) and why."""

    row: int | None
    column: str | None
    message: str
    claim_id: int | None


class PaymentsOut(msgspec.Struct):
    """What a payment file did: parts recorded, parts recorded before, problems by row."""

    recorded: int
    already: int
    problems: list[PaymentProblemOut]


def _part(p: PartView, label: Any) -> PartOut:
    return PartOut(
        id=p.id, department=p.department, state=p.state, state_label=label(p.state),
        version=p.version, entered_on=p.entered_on, sections=p.sections, paid_on=p.paid_on,
        payment_ref=p.payment_ref, ends_on=p.ends_on, end_reason=p.end_reason,
    )  # fmt: skip


def _plain(value: Any) -> Any:
    return msgspec.to_builtins(value)


def claim_out(v: ClaimView, label: Any) -> ClaimOut:
    """The answer of one claim (`label`: the workflow's state labels)."""
    return ClaimOut(
        id=v.id, kind=v.kind, title=v.title, subject_kind=v.subject_kind,
        subject_key=v.subject_key, region=v.region, bundle_id=v.bundle_id, state=v.state,
        overall=v.overall, overall_label=label(v.overall), version=v.version,
        eligible_on=v.eligible_on, entered_on=v.entered_on, form=v.form,
        materials=v.materials, parts=[_part(p, label) for p in v.parts],
        steps=_plain(v.steps), deadlines=_plain(v.deadlines),
    )  # fmt: skip


def queue_item(q: Queued, label: Any) -> QueueItem:
    """A queued claim's answer."""
    v = q.claim
    return QueueItem(
        id=v.id, kind=v.kind, title=v.title, subject_kind=v.subject_kind,
        subject_key=v.subject_key, region=v.region, state=v.state, overall=v.overall,
        overall_label=label(v.overall), version=v.version, eligible_on=v.eligible_on,
        entered_on=v.entered_on, parts=[_part(p, label) for p in v.parts], due_on=q.due_on,
        overdue=q.overdue,
    )  # fmt: skip
