"""The enterprise's 接收设置: where its notices are pushed (webhook, e-mail, mobile).

Over the same store functions as the API's `/api/subscriptions` routes (`store.delivery.manage`,
checked by `store.delivery.registration`), in the viewer's scope: an enterprise manages its own
subscriptions only; another's is not found (404).

- `GET /console/enterprise/settings` — its subscriptions and a form per channel.
- `POST /console/enterprise/subscriptions` — add one; a refused target (a webhook reaching
  inside the network, a malformed address or number) comes back beside the field, in the
  store's words. A new webhook's secret is shown in this answer once and never again.
- `POST …/{id}/rotate` — a new secret, shown once (the old one signs 24 h more).
- `POST …/{id}/ping` — a signed test push queued in the outbox; its delivery shows by itself
  (in the card's ping box: a secret shown in the card just before stays on screen).
- `POST …/{id}/disable` — stop pushing there.

Each answer is a fragment (htmx): the form re-rendered (and a new subscription's card appended
to the list, out of band), or the one subscription's card with what was done.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Template

from api.console.pages.enterprise.views import CHANNELS
from api.console.web import HtmlRequest, ViewerDep, page, page_needs, problem_view
from api.context import Ctx
from api.deps import CtxDep
from api.params import IdPath
from api.problems import Problem, ProblemError, found
from api.routes.claims.common import plain_text
from rules.clock import today
from store.db import read_session
from store.delivery.manage import (
    disable_for,
    queue_ping,
    register_for,
    rotate_for,
    subscription_for,
    subscriptions_for,
)
from store.delivery.registration import ROTATION_GRACE, BadSubscription, mask_target
from store.scope import Scope
from store.tables.delivery import Subscription
from store.tables.types import utcnow

__all__ = ["ROUTES"]

_ENTERPRISE = [page_needs("enterprise")]
_TARGET_MAX = 500  # as the API's SubscriptionIn.target
_STATES = {"active": "有效", "disabled": "已停用"}
_ASK = {"webhook": "请填写 webhook 接收地址", "email": "请填写电子邮件地址",
        "sms": "请填写手机号"}  # fmt: skip


def _card(s: Subscription) -> dict[str, Any]:
    """A subscription as its card shows it: no secret, a mobile number masked."""
    return {"id": s.id, "channel": s.channel, "channel_label": CHANNELS.get(s.channel, s.channel),
            "target": mask_target(s.channel, s.target), "active": s.state == "active",
            "state_label": _STATES.get(s.state, s.state), "reason": s.reason,
            "signed": bool(s.secret), "rotating": bool(s.previous_secret),
            "created_at": s.created_at}  # fmt: skip


def _cards(ctx: Ctx, scope: Scope) -> list[dict[str, Any]]:
    with read_session(ctx.engine) as session:
        return [_card(s) for s in subscriptions_for(session=session, scope=scope)]


def _one(ctx: Ctx, scope: Scope, subscription_id: int) -> dict[str, Any]:
    with read_session(ctx.engine) as session:
        row = subscription_for(session=session, scope=scope, subscription_id=subscription_id)
    return _card(found(row, f"订阅 {subscription_id} "))


@get("/console/enterprise/settings", guards=_ENTERPRISE, sync_to_thread=True)
def settings_page(ctx: CtxDep, viewer: ViewerDep, request: HtmlRequest) -> Template:
    """Its subscriptions, and a form to add a webhook, an e-mail address, a mobile number."""
    return page(request, "console/enterprise/settings.html", subs=_cards(ctx, viewer.scope),
                channels=CHANNELS)  # fmt: skip


@dataclass
class AddForm:
    """A new subscription: the channel and where to."""

    channel: str = ""
    target: str = ""


def _checked(form: AddForm) -> tuple[str, str]:
    """The form's channel and target, or a 422 naming the field (as the API's schema would)."""
    if form.channel not in CHANNELS:
        said = f"{form.channel[:40]!r}：未知渠道；应为 {' | '.join(CHANNELS)}"
        raise ProblemError(422, said, [Problem("channel", said)])
    target = (plain_text("target", form.target) or "").strip()
    if not target:
        raise ProblemError(422, _ASK[form.channel], [Problem("target", _ASK[form.channel])])
    if len(target) > _TARGET_MAX:
        said = f"有 {len(target)} 个字符；应至多 {_TARGET_MAX} 个"
        raise ProblemError(422, said, [Problem("target", said)])
    return form.channel, target


@post("/console/enterprise/subscriptions", guards=_ENTERPRISE, sync_to_thread=True,
      status_code=200)  # fmt: skip
def add_subscription(
    ctx: CtxDep,
    viewer: ViewerDep,
    request: HtmlRequest,
    data: Annotated[AddForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Template:
    """Add a subscription; the form comes back with the message beside the field, or cleared
    with what was added (a webhook's secret, once) and the list renewed."""
    channel = data.channel if data.channel in CHANNELS else "webhook"
    try:
        channel, target = _checked(data)
        done = register_for(ctx.engine, scope=viewer.scope, channel=channel, target=target,
                            kind=None, key=None)  # fmt: skip
    except (ProblemError, BadSubscription) as exc:
        if isinstance(exc, BadSubscription):
            exc = ProblemError(422, exc.detail, [Problem(exc.field, exc.detail)])
        return page(request, "console/enterprise/_add.html", status=422, channel=channel,
                    value=data.target[:_TARGET_MAX], problem=problem_view(exc),
                    channels=CHANNELS)  # fmt: skip
    return page(request, "console/enterprise/_add.html", channel=channel, value="",
                added=_card(done.subscription), secret=done.secret, channels=CHANNELS)  # fmt: skip


@post("/console/enterprise/subscriptions/{subscription_id:int}/rotate", guards=_ENTERPRISE,
      sync_to_thread=True, status_code=200)  # fmt: skip
def rotate_secret(
    ctx: CtxDep, viewer: ViewerDep, request: HtmlRequest, subscription_id: IdPath
) -> Template:
    """A new signing secret, shown in this answer only; the old one signs 24 h more."""
    try:
        secret = rotate_for(ctx.engine, scope=viewer.scope, subscription_id=subscription_id)
    except BadSubscription as exc:
        problem = problem_view(exc)
        return _card_page(ctx, viewer, request, subscription_id, problem=problem, status=422)
    found(secret, f"订阅 {subscription_id} ")
    return _card_page(ctx, viewer, request, subscription_id, secret=secret,
                      old_until=utcnow() + ROTATION_GRACE)  # fmt: skip


@post("/console/enterprise/subscriptions/{subscription_id:int}/ping", guards=_ENTERPRISE,
      sync_to_thread=True, status_code=200)  # fmt: skip
def ping(ctx: CtxDep, viewer: ViewerDep, request: HtmlRequest, subscription_id: IdPath) -> Template:
    """Queue a signed test push (the drain sends it); the answer goes in the card's ping box
    (the card itself stays, so a secret just shown is not wiped), its delivery following."""
    try:
        outbox_id = queue_ping(ctx.engine, scope=viewer.scope, subscription_id=subscription_id,
                               on=today(), now=utcnow())  # fmt: skip
    except BadSubscription as exc:
        view = problem_view(exc)
        return page(request, "console/enterprise/_ping.html", status=422, problem=view)
    found(outbox_id, f"订阅 {subscription_id} ")
    return page(request, "console/enterprise/_ping.html", ping=outbox_id)


@post("/console/enterprise/subscriptions/{subscription_id:int}/disable", guards=_ENTERPRISE,
      sync_to_thread=True, status_code=200)  # fmt: skip
def disable(
    ctx: CtxDep, viewer: ViewerDep, request: HtmlRequest, subscription_id: IdPath
) -> Template:
    """Stop pushing there (deliveries still on their way are dropped)."""
    done = disable_for(ctx.engine, scope=viewer.scope, subscription_id=subscription_id)
    found(done or None, f"订阅 {subscription_id} ")
    return _card_page(ctx, viewer, request, subscription_id, disabled=True)


def _card_page(
    ctx: Ctx, viewer: Any, request: HtmlRequest, subscription_id: int, *, status: int = 200,
    **said: Any,
) -> Template:  # fmt: skip
    card = _one(ctx, viewer.scope, subscription_id)
    return page(request, "console/enterprise/_sub.html", status=status, s=card, **said)


ROUTES: list[Any] = [settings_page, add_subscription, rotate_secret, ping, disable]
