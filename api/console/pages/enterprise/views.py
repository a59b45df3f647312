"""What the enterprise's pages show, shaped from the store's answers (no decision of their own).

A notice is `store.delivery.inbox.notice_view` (the API's shape) with the words a finance
officer reads: the kind and the period in Chinese, whether the served catalogue still has the
policy (then its basis links to the policy's page), and the claim the notice concerns — read
again now (`store.claims.scoped.show_in_scope`, as `GET /api/claims/{id}`), since the payload
holds the claim as it was when the notice was written. Whether the claim waits for this
enterprise's confirmation is the workflow table's word: a `confirm` transition from the claim's
state that the viewer's role may take.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from api.auth import Caller
from api.context import Ctx
from api.routes.claims.common import workflow
from api.routes.claims.schemas import ClaimOut, claim_out
from matcher.explain.report import unit_label
from matcher.profiles.masking import mask_ids_in_text
from rules.workflow import Workflow
from store.claims.scoped import show_in_scope
from store.db import read_session
from store.delivery.inbox import InboxNotice, notice_view
from store.delivery.registration import target_label

__all__ = [
    "CHANNELS",
    "ClaimBox",
    "NoticeCard",
    "can_confirm",
    "claim_box",
    "claim_ids",
    "claims_shown",
    "notice_card",
]

KINDS = {
    "newly_eligible": "新符合条件",
    "amount_changed": "金额调整",
    "no_longer_eligible": "不再符合",
    "became_undetermined": "待补充信息",
    "ping": "测试推送",
    "claim.reminder": "办理提醒",
    "claim.overdue": "超期督办",
    "claim.ended": "待遇终止",
}
PERIODS = {"once": "一次性", "month": "每月", "year": "每年"}
NOTICE_STATES = {"pending": "待投递", "sent": "已送达", "dead": "投递失败",
                 "undeliverable": "无人订阅（未推送）"}  # fmt: skip
DELIVERY_STATES = {"pending": "待投递", "sent": "已送达", "dead": "投递失败",
                   "gone": "订阅已停用"}  # fmt: skip
OUTCOMES = {"sent": "成功", "retry": "未成功，将重试", "dead": "失败，不再重试",
            "gone": "接收方已停用（410）"}  # fmt: skip
CHANNELS = {"webhook": "Webhook 推送", "email": "电子邮件", "sms": "手机短信"}


@dataclass(frozen=True)
class ClaimBox:
    """The claim a notice concerns, as it stands now (or as the notice said, if out of reach)."""

    id: int
    title: str
    state_label: str
    version: int | None  # None: not readable now (the button is never offered)
    confirmable: bool
    asked: list[str] = field(default_factory=list)  # materials the enterprise must bring
    held: list[str] = field(default_factory=list)  # materials filled from data held


@dataclass(frozen=True)
class NoticeCard:
    """One notice as the enterprise reads it."""

    n: Mapping[str, Any]  # notice_view's shape
    kind_label: str
    state_label: str
    unit: str  # 元, or the benefit's own unit
    period: str  # 一次性 / 每月 / 每年 / ""
    policy_known: bool  # the served catalogue has the policy: link to its basis page
    claim: ClaimBox | None
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    tries: list[dict[str, Any]] = field(default_factory=list)


def can_confirm(wf: Workflow, role: str, state: str) -> bool:
    """Whether `role` may confirm a claim in `state` (a `confirm` row of the workflow table)."""
    return any(
        t.action == "confirm" and any(b.role == role for b in t.by)
        for t in wf.next_actions(state, "claim")
    )


def claims_shown(ctx: Ctx, viewer: Caller, ids: Iterable[int]) -> dict[int, ClaimOut]:
    """The claims `viewer` may see among `ids`, as `GET /api/claims/{id}` answers them."""
    label = workflow(ctx).state_label
    with read_session(ctx.engine) as session:
        views = [show_in_scope(session, viewer.scope, i) for i in sorted(set(ids))]
    return {v.id: claim_out(v, label) for v in views if v is not None}


def claim_box(ctx: Ctx, viewer: Caller, claim: ClaimOut) -> ClaimBox:
    """The claim box of `claim` as it stands now: its state, and its materials by who brings
    them (asked of the enterprise, or already held)."""
    confirmable = can_confirm(workflow(ctx), viewer.role, claim.state)
    return ClaimBox(claim.id, claim.title, claim.overall_label, claim.version, confirmable,
                    _materials(claim, "asked"), _materials(claim, "held"))  # fmt: skip


def _materials(claim: ClaimOut, status: str) -> list[str]:
    return [str(m.get("name")) for m in claim.materials if m.get("status") == status]


def _said_claim(n: InboxNotice) -> Mapping[str, Any] | None:
    claim = n.row.payload.get("claim")
    return claim if isinstance(claim, dict) and isinstance(claim.get("id"), int) else None


def claim_ids(notices: Iterable[InboxNotice]) -> list[int]:
    """The ids of the claims these notices concern."""
    return [c["id"] for n in notices if (c := _said_claim(n)) is not None]


def notice_card(
    ctx: Ctx, viewer: Caller, n: InboxNotice, claims: Mapping[int, ClaimOut]
) -> NoticeCard:
    """`n` as the enterprise reads it; `claims`: the claims it may see, by id (claims_shown)."""
    view = notice_view(n)
    said = _said_claim(n)
    box = None
    if said is not None:
        now = claims.get(said["id"])
        box = (
            claim_box(ctx, viewer, now)
            if now is not None
            else ClaimBox(said["id"], str(said.get("title") or ""), "", None, False)
        )
    return NoticeCard(
        n=view,
        kind_label=KINDS.get(view["kind"], view["kind"]),
        state_label=NOTICE_STATES.get(view["state"], view["state"]),
        unit=unit_label(view["unit"]) or "元",
        period=PERIODS.get(view["period"] or "", ""),
        policy_known=view["policy_id"] in ctx.catalogue.policies,
        claim=box,
        deliveries=[_delivery(d) for d in n.deliveries],
        tries=[_try(a) for a in n.attempts],
    )


def _delivery(d: Any) -> dict[str, Any]:
    return {"channel": CHANNELS.get(d.channel, d.channel),
            "target": target_label(d.channel, d.target),
            "state": DELIVERY_STATES.get(d.state, d.state), "sent": d.state == "sent",
            "attempts": d.attempts, "sent_at": d.sent_at, "next_at": d.next_attempt_at,
            "error": _masked(d.last_error)}  # fmt: skip


def _try(a: Any) -> dict[str, Any]:
    return {"number": a.number, "at": a.at, "channel": CHANNELS.get(a.channel, a.channel),
            "status_code": a.status_code, "error": _masked(a.error), "latency_ms": a.latency_ms,
            "outcome": OUTCOMES.get(a.outcome, a.outcome), "ok": a.outcome == "sent"}  # fmt: skip


def _masked(text: str | None) -> str | None:
    return mask_ids_in_text(text) if text else None
