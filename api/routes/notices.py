"""Routes: notices (an inbox) and subscriptions (where notices go), over `store.delivery`.

- `GET /api/notices`, `GET /api/notices/{id}`: the notices the caller sees
  (`store.delivery.inbox`: an enterprise its own; a village, township or county its households';
  a county and a supervisor also the county's enterprises'; every caller the notices delivered
  to a subscription it manages), newest first, with what the notice says and its delivery per
  channel. Outside the caller's reach: 404.
- `GET/POST /api/subscriptions`, `POST …/{id}/rotate`, `POST …/{id}/ping`,
  `DELETE …/{id}`: an enterprise manages its own subscriptions, a county its offices' and
  village centres' (`store.delivery.manage`); other roles may list (empty) but not add (403).
  Targets are checked as the CLI checks them (`store.delivery.registration`); a refusal is a
  422 naming `target` (or `key`, `subject_kind`). A webhook's secret is shown once, in the 201
  answer (or the rotation's); listings never show it. The three POSTs take an
  `Idempotency-Key` (`api.idempotency`): a retry replays the first answer — the secret in it
  too (as Stripe does), so one add or rotation is never two.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, delete, get, post
from litestar.params import JSONBody, QueryParameter

from api.auth import Caller, needs
from api.context import Ctx
from api.deps import CallerDep, CtxDep
from api.idempotency import IdempotencyHeader, idempotent
from api.params import IdPath, Limit, Offset, Page, page_of
from api.problems import PROBLEMS, Problem, ProblemError, found
from matcher.profiles.masking import mask_ids_in_text
from rules.clock import today
from store.db import read_session
from store.delivery.inbox import InboxNotice, inbox, inbox_count, inbox_notice, notice_view
from store.delivery.manage import (
    disable_for,
    queue_ping,
    register_for,
    rotate_for,
    subscriptions_for,
)
from store.delivery.registration import (
    ROTATION_GRACE,
    BadSubscription,
    mask_target,
    target_label,
)
from store.tables.delivery import Subscription
from store.tables.types import utcnow

__all__ = ["ROUTES"]

_TAGS = ["通知与订阅"]
_STATES = Literal["pending", "sent", "dead", "undeliverable"]


class DeliveryOut(msgspec.Struct):
    """A notice on its way to one subscription."""

    subscription_id: int
    channel: str
    target: str  # a mobile number masked
    on_behalf: str  # subject | village
    state: str  # pending | sent | dead | gone
    attempts: int
    next_attempt_at: datetime | None
    sent_at: datetime | None
    last_error: str | None


class AttemptOut(msgspec.Struct):
    """One try of one delivery."""

    number: int
    at: datetime
    channel: str
    subscription_id: int
    status_code: int | None
    error: str | None
    latency_ms: int
    outcome: str


class NoticeOut(msgspec.Struct):
    """A notice: what it says (masked) and how far it got."""

    id: int
    kind: str
    state: str
    created_at: datetime
    subject_kind: str  # household | enterprise | office | village
    subject_key: str | None  # 户编号, credit code or office key
    subject_name: str | None  # an enterprise's name
    policy_id: str
    title: str | None
    department: str | None
    basis: str | None
    delivery: str | None
    amount: str | None
    before_amount: str | None
    unit: str | None
    period: str | None
    says: list[str]
    not_met: list[str]
    missing: list[str]
    on_date: str | None
    effective_on: str | None
    attempts: int
    last_error: str | None


class NoticeDetailOut(NoticeOut):
    """A notice with every delivery and every try."""

    deliveries: list[DeliveryOut] = msgspec.field(default_factory=list)
    tries: list[AttemptOut] = msgspec.field(default_factory=list)


def _detail(n: InboxNotice) -> NoticeDetailOut:
    deliveries = [
        DeliveryOut(d.subscription_id, d.channel, target_label(d.channel, d.target),
                    d.on_behalf, d.state, d.attempts, d.next_attempt_at, d.sent_at,
                    mask_ids_in_text(d.last_error) if d.last_error else None)
        for d in n.deliveries
    ]  # fmt: skip
    tries = [
        AttemptOut(a.number, a.at, a.channel, a.subscription_id, a.status_code,
                   mask_ids_in_text(a.error) if a.error else None, a.latency_ms, a.outcome)
        for a in n.attempts
    ]  # fmt: skip
    return NoticeDetailOut(**notice_view(n), deliveries=deliveries, tries=tries)


def _inbox(ctx: Ctx, caller: Caller, limit: int, offset: int, state: str | None) -> Page[NoticeOut]:
    with read_session(ctx.engine) as session:
        found_ = inbox(session=session, scope=caller.scope, limit=limit, offset=offset, state=state)
        total = inbox_count(session=session, scope=caller.scope, state=state)
    return Page([NoticeOut(**notice_view(n)) for n in found_], total, limit, offset)


@get("/api/notices", tags=_TAGS, summary="通知列表（新的在前）", sync_to_thread=True,
     responses=PROBLEMS)  # fmt: skip
def list_notices(
    ctx: CtxDep,
    caller: CallerDep,
    limit: Limit = 50,
    offset: Offset = 0,
    notice_state: Annotated[_STATES | None, QueryParameter(name="state")] = None,
) -> Page[NoticeOut]:
    """企业：本企业的通知；村、乡镇、县：辖区内各户的通知（县与督查另含本县企业的）；
    以及发往本人所管订阅的通知。"""
    return _inbox(ctx, caller, limit, offset, notice_state)


def _one(ctx: Ctx, caller: Caller, notice_id: int) -> NoticeDetailOut:
    with read_session(ctx.engine) as session:
        n = inbox_notice(session=session, scope=caller.scope, outbox_id=notice_id)
    return _detail(found(n, f"通知 {notice_id} "))


@get("/api/notices/{notice_id:int}", tags=_TAGS, summary="一条通知：内容、各渠道投递与每次尝试",
     sync_to_thread=True, responses=PROBLEMS)  # fmt: skip
def show_notice(ctx: CtxDep, caller: CallerDep, notice_id: IdPath) -> NoticeDetailOut:
    """不在辖区内的通知与不存在的通知一样答 404。"""
    return _one(ctx, caller, notice_id)


class SubscriptionOut(msgspec.Struct):
    """A subscription as listings show it: no secret, a mobile number masked."""

    id: int
    subject_kind: str
    subject_key: str
    channel: str
    target: str
    state: str
    reason: str | None
    signed: bool  # a webhook with a secret
    rotating: bool  # an old secret still signs too
    created_at: datetime


class SubscriptionCreated(SubscriptionOut):
    """A new subscription; a webhook's secret is shown here once and never again."""

    secret: str | None = None


class SubscriptionIn(msgspec.Struct, forbid_unknown_fields=True):
    """A new subscription: a channel and its target; a county names the office or village."""

    channel: Literal["webhook", "email", "sms"]
    target: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    subject_kind: Literal["enterprise", "office", "village"] | None = None
    key: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None


class RotatedOut(msgspec.Struct):
    """A rotated secret, shown once; the old one signs too until `old_secret_until`."""

    id: int
    secret: str
    old_secret_until: datetime


class PingOut(msgspec.Struct):
    """A test push queued: the notice to follow at `GET /api/notices/{outbox_id}`."""

    outbox_id: int
    notice: str


def _sub(s: Subscription) -> dict[str, Any]:
    return {
        "id": s.id, "subject_kind": s.subject_kind, "subject_key": s.subject_key,
        "channel": s.channel, "target": mask_target(s.channel, s.target), "state": s.state,
        "reason": s.reason, "signed": bool(s.secret), "rotating": bool(s.previous_secret),
        "created_at": s.created_at,
    }  # fmt: skip


def _refused(exc: BadSubscription) -> ProblemError:
    return ProblemError(422, exc.detail, [Problem(exc.field, exc.detail)])


@get("/api/subscriptions", tags=_TAGS, summary="本人所管的订阅", sync_to_thread=True,
     responses=PROBLEMS)  # fmt: skip
def list_subscriptions(
    ctx: CtxDep,
    caller: CallerDep,
    limit: Limit = 500,
    offset: Offset = 0,
) -> Page[SubscriptionOut]:
    """企业：本企业的订阅；县：本县办公室与村（社区）代收点的订阅；其他角色：空。"""
    with read_session(ctx.engine) as session:
        subs = subscriptions_for(session=session, scope=caller.scope)
    return page_of([SubscriptionOut(**_sub(s)) for s in subs], limit, offset)


def _register(ctx: Ctx, caller: Caller, body: SubscriptionIn) -> SubscriptionCreated:
    try:
        done = register_for(ctx.engine, scope=caller.scope, channel=body.channel,
                            target=body.target, kind=body.subject_kind, key=body.key)  # fmt: skip
    except BadSubscription as exc:
        raise _refused(exc) from None
    return SubscriptionCreated(**_sub(done.subscription), secret=done.secret)


@post("/api/subscriptions", tags=_TAGS, summary="添加订阅（webhook 密钥只显示这一次）",
      guards=[needs("enterprise", "county")], sync_to_thread=True, responses=PROBLEMS)  # fmt: skip
def add_subscription(
    ctx: CtxDep, caller: CallerDep, request: Request[Any, Any, Any], data: JSONBody[SubscriptionIn],
    idempotency_key: IdempotencyHeader = None,
) -> Response[SubscriptionCreated]:  # fmt: skip
    """webhook 地址不得指向内网（回环、私有、链路本地…），除非 ZHIDA_WEBHOOK_ALLOW 放行。"""
    return idempotent(request, caller, ctx, idempotency_key, "subscriptions.add", data,
                      lambda: _register(ctx, caller, data), status=201)  # fmt: skip


def _rotate(ctx: Ctx, caller: Caller, subscription_id: int) -> RotatedOut:
    try:
        clear = rotate_for(ctx.engine, scope=caller.scope, subscription_id=subscription_id)
    except BadSubscription as exc:
        raise ProblemError(422, str(exc), [Problem("subscription_id", str(exc))]) from None
    secret = found(clear, f"订阅 {subscription_id} ")
    return RotatedOut(subscription_id, secret, utcnow() + ROTATION_GRACE)


@post("/api/subscriptions/{subscription_id:int}/rotate", tags=_TAGS,
      summary="轮换 webhook 密钥（新密钥只显示这一次；旧密钥 24 小时内仍签名）",
      status_code=200, sync_to_thread=True, responses=PROBLEMS)  # fmt: skip
def rotate_subscription(
    ctx: CtxDep, caller: CallerDep, request: Request[Any, Any, Any], subscription_id: IdPath,
    idempotency_key: IdempotencyHeader = None,
) -> Response[RotatedOut]:  # fmt: skip
    """新密钥只在这次应答中出现（带同一幂等键的重试重放这次应答）。"""
    return idempotent(request, caller, ctx, idempotency_key, "subscriptions.rotate", None,
                      lambda: _rotate(ctx, caller, subscription_id))  # fmt: skip


def _ping(ctx: Ctx, caller: Caller, subscription_id: int) -> PingOut:
    try:
        outbox_id = queue_ping(ctx.engine, scope=caller.scope, subscription_id=subscription_id,
                               on=today(), now=utcnow())  # fmt: skip
    except BadSubscription as exc:
        raise _refused(exc) from None
    outbox_id = found(outbox_id, f"订阅 {subscription_id} ")
    return PingOut(outbox_id, f"/api/notices/{outbox_id}")


@post("/api/subscriptions/{subscription_id:int}/ping", tags=_TAGS,
      summary="发送一次签名的测试推送（经发件箱投递）", status_code=202, sync_to_thread=True,
      responses=PROBLEMS)  # fmt: skip
def ping_subscription(
    ctx: CtxDep, caller: CallerDep, request: Request[Any, Any, Any], subscription_id: IdPath,
    idempotency_key: IdempotencyHeader = None,
) -> Response[PingOut]:  # fmt: skip
    """排入发件箱，由投递任务发出；用 GET /api/notices/{outbox_id} 查看投递结果。"""
    return idempotent(request, caller, ctx, idempotency_key, "subscriptions.ping", None,
                      lambda: _ping(ctx, caller, subscription_id), status=202)  # fmt: skip


@delete("/api/subscriptions/{subscription_id:int}", tags=_TAGS, summary="停用订阅",
        status_code=204, sync_to_thread=True, responses=PROBLEMS)  # fmt: skip
def disable_subscription(ctx: CtxDep, caller: CallerDep, subscription_id: IdPath) -> None:
    """停用后不再投递；仍在途的投递记为 gone。"""
    done = disable_for(ctx.engine, scope=caller.scope, subscription_id=subscription_id)
    found(done or None, f"订阅 {subscription_id} ")


ROUTES: list[Any] = [
    list_notices, show_notice, list_subscriptions, add_subscription, rotate_subscription,
    ping_subscription, disable_subscription,
]  # fmt: skip
