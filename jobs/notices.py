"""Notices: what one outbox row says, rendered for each channel, in Chinese.

`notice_of` reads an outbox row's payload (written by `store.sweep.writes`) into a `Notice`; every
channel renders from that one value, so a webhook, a mail and an SMS never disagree:

- `webhook_body` — the JSON of a Standard Webhooks push (same bytes on every retry);
- `mail_parts` — subject, text and HTML body;
- `sms_message` — a registered SMS template code and its params (`sms_text` shows the text).

The template *kind* comes from the payload's type and, for a newly eligible entitlement, the
claim it went into (`payload.claim`, `store.claims.opening`): a grant → granted; a prepared or
bundle claim → claim_prepared, with the claim's number and the materials asked of the person,
all at once (an `auto` policy delivered through a bundle claim is confirmed like the rest of
it). A payload without a claim (queued before claims existed) falls back to the policy's delivery:

| payload type | policy delivery | kind |
|---|---|---|
| entitlement.newly_eligible | auto (免申即享) | granted: 已为您直接发放，无需申请 |
| entitlement.newly_eligible | confirm | claim_prepared: 请确认申领 (with the confirm link) |
| entitlement.newly_eligible | notify or unknown | newly_eligible |
| entitlement.amount_changed / no_longer_eligible / became_undetermined | any | the same name |
| reminder | any | reminder |
| claim.reminder, claim.overdue, claim.ended | – | claim_… (to an office: `jobs.claim_notices`) |
| ping | – | ping: a test push to one webhook subscription (its body names only the subscriber) |

Missing payload keys fall back: the title to the policy id, a department to "主管部门", reasons
to none. The confirm link is `{confirm_base}/{notice id}` (e.g.
`https://zhida.example/confirm/msg_42`): short enough for an SMS, naming no person; the page
behind it resolves the outbox row and asks the person to sign in before anything is confirmed.

Safety: every text field is masked (`mask_ids_in_text`, RELIABILITY P1) and made one line (control,
format and line-separator characters become spaces) before any template sees it, so a title with
"\\r\\n" cannot add a mail header (M1). Mail templates are files under `jobs/templates/mail/`,
rendered by a sandboxed Jinja2 environment (`ENVIRONMENT`: no attribute escape, HTML autoescaped,
undefined names an error). SMS templates are the registered texts in `jobs/templates/sms.yaml`
(`jobs.sms_templates`). Amounts stay decimal strings ("705.00") from payload to text.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import orjson
from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment

from jobs.claim_notices import CLAIM_KINDS, CLAIM_TYPES, ClaimFacts, claim_data, claim_facts
from jobs.claim_notices import next_step as claim_next_step
from jobs.sms_templates import SMS_TEMPLATES, choose, sms_text
from matcher.profiles.masking import mask_ids_in_text

__all__ = [
    "CLAIM_KINDS",
    "ENVIRONMENT",
    "KINDS",
    "SMS_TEMPLATES",
    "Notice",
    "amount_text",
    "mail_parts",
    "notice_of",
    "sms_message",
    "sms_text",
    "webhook_body",
]

KINDS = (
    "newly_eligible",
    "granted",
    "claim_prepared",
    "amount_changed",
    "no_longer_eligible",
    "became_undetermined",
    "reminder",
)
PERIODS = {"month": "每月", "year": "每年", "once": "一次性"}
ENVIRONMENT = ImmutableSandboxedEnvironment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
"""The one environment notices render in: sandboxed, HTML autoescaped, strict about names."""

_FEN = Decimal("0.01")
_BY_TYPE = {
    "entitlement.amount_changed": "amount_changed",
    "entitlement.no_longer_eligible": "no_longer_eligible",
    "entitlement.became_undetermined": "became_undetermined",
    "reminder": "reminder",
}
_NEWLY = {"auto": "granted", "confirm": "claim_prepared"}


@dataclass(frozen=True)
class Notice:
    """What every channel says about one outbox row (text fields masked and one line each)."""

    id: str  # "msg_<outbox id>": the Standard Webhooks webhook-id, stable across retries
    kind: str  # one of KINDS
    event_type: str  # the payload's type, e.g. "entitlement.newly_eligible"
    subject_kind: str  # household | enterprise
    subject_label: str  # 户编号, or credit code and name; never an ID number
    policy_id: str
    title: str  # the policy's title (fallback: its id)
    department: str | None
    delivery: str | None  # auto | confirm | notify
    amount: str | None  # yuan with two decimals, "705.00"
    before_amount: str | None
    unit: str | None  # "CNY" or another unit of the benefit
    period: str | None  # once | month | year
    says: tuple[str, ...]  # the reasons that held
    missing: tuple[str, ...]  # facts still missing (their labels when the payload gives them)
    basis: str | None
    on_date: str  # ISO date of the decision
    effective_on: str | None  # ISO date a stop takes effect, or a reminder's due date
    next_step: str | None  # None for 免申即享 grants
    confirm_url: str | None
    catalogue_hash: str
    removed: bool = False  # the catalogue no longer has the policy
    claim: ClaimFacts | None = None  # an office notice's claim (kinds claim_*)
    claim_id: int | None = None  # the subject's claim this entitlement went into (payload.claim)
    asked: tuple[str, ...] = ()  # the claim's materials asked of the person (一次性告知)


def _line(value: Any) -> str:
    """One masked line: control, format and separator characters become spaces."""
    text = "".join(
        " " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in str(value)
    )
    return mask_ids_in_text(" ".join(text.split()))


def _opt(value: Any) -> str | None:
    return None if value is None or _line(value) == "" else _line(value)


def _yuan(value: Any, where: str) -> str | None:
    """An amount as "705.00": from a string or an integer, never through a float."""
    if value is None:
        return None
    if isinstance(value, float | bool):
        raise ValueError(f'通知载荷 {where}：金额应为字符串（如 "705.00"），不是 {value!r}')
    try:
        return str(Decimal(str(value)).quantize(_FEN, rounding=ROUND_HALF_UP))
    except InvalidOperation:
        raise ValueError(f"通知载荷 {where}：金额应为数字字符串，不是 {value!r}") from None


def _kind(event_type: str, delivery: str | None, claim: Mapping[str, Any]) -> str:
    if event_type == "entitlement.newly_eligible":
        if claim.get("kind") == "grant":  # what was done decides, not the policy alone:
            return "granted"
        if claim.get("kind") in ("claim", "bundle"):  # an `auto` member of a bundle is claimed
            return "claim_prepared"
        return _NEWLY.get(delivery or "", "newly_eligible")
    if event_type in _BY_TYPE:
        return _BY_TYPE[event_type]
    known = ", ".join(["entitlement.newly_eligible", *_BY_TYPE])
    raise ValueError(f"通知载荷 $.type：未知类型 {event_type!r}，应为 {known} 之一")


def _missing(items: Any) -> tuple[str, ...]:
    out = []
    for item in items or ():
        label = item.get("label") or item.get("fact") if isinstance(item, Mapping) else item
        if _opt(label):
            out.append(_line(label))
    return tuple(out)


def _next_step(
    kind: str, department: str | None, url: str | None, missing: tuple[str, ...]
) -> str | None:
    office = department or "主管部门"
    confirm = f"请确认申领：{url}" if url else "请登录直达平台或到村（社区）便民服务点确认申领"
    supply = "请补充以下信息：" + "、".join(missing) if missing else f"请咨询{office}"
    steps = {
        "granted": None,
        "claim_prepared": confirm,
        "newly_eligible": f"请留意{office}的通知，按要求办理",
        "amount_changed": None,
        "no_longer_eligible": f"如有疑问，请咨询{office}",
        "became_undetermined": supply,
        "reminder": f"请确认申领：{url}" if url else "请及时办理",
    }
    return steps[kind]


def notice_of(
    payload: Mapping[str, Any],
    *,
    outbox_id: int,
    subject_label: str,
    confirm_base: str | None = None,
) -> Notice:
    """The notice an outbox row's payload gives.

    Args:
        payload: the outbox row's JSON (`store.sweep.writes._payload`, optionally with `policy`,
            `says`, `effective_on`, `due_on`).
        outbox_id: the outbox row's id; the notice id is `msg_<outbox_id>`.
        subject_label: how people know the subject (户编号, credit code and name).
        confirm_base: where prepared claims are confirmed (e.g. `https://zhida.example/confirm`);
            None leaves the link out.

    Returns:
        The notice, its text fields masked and one line each.

    Raises:
        ValueError: an unknown payload type, or an amount that is not a decimal string.
    """
    if str(payload.get("type", "")) in CLAIM_TYPES:
        return _office_notice(payload, outbox_id=outbox_id, subject_label=subject_label)
    if payload.get("type") == "ping":
        return _ping_notice(payload, outbox_id=outbox_id)
    policy: Mapping[str, Any] = payload.get("policy") or {}
    before, after = payload.get("before") or {}, payload.get("after") or {}
    event_type = str(payload.get("type", ""))
    delivery = _opt(policy.get("delivery"))
    found = payload.get("claim")
    claim: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    kind = _kind(event_type, delivery, claim)
    notice_id = f"msg_{outbox_id}"
    url = f"{confirm_base.rstrip('/')}/{notice_id}" if confirm_base else None
    if kind not in ("claim_prepared", "reminder"):
        url = None
    department = _opt(policy.get("department"))
    missing = _missing(after.get("missing_labels") or after.get("missing"))
    policy_id = _line(payload.get("policy_id", ""))
    return Notice(
        id=notice_id,
        kind=kind,
        event_type=event_type,
        subject_kind=_line((payload.get("subject") or {}).get("kind", "household")),
        subject_label=_line(subject_label),
        policy_id=policy_id,
        title=_opt(policy.get("title")) or policy_id,
        department=department,
        delivery=delivery,
        amount=_yuan(after.get("amount"), "$.after.amount"),
        before_amount=_yuan(before.get("amount"), "$.before.amount"),
        unit=_opt(policy.get("unit")),
        period=_opt(policy.get("period")),
        says=tuple(_line(s) for s in payload.get("says") or () if _opt(s)),
        missing=missing,
        basis=_opt(policy.get("basis")),
        on_date=_line(payload.get("on_date", "")),
        effective_on=_opt(payload.get("effective_on") or payload.get("due_on")),
        next_step=_next_step(kind, department, url, missing),
        confirm_url=url,
        catalogue_hash=_line(payload.get("catalogue_hash", "")),
        removed=payload.get("reason") == "policy_removed",
        claim_id=claim.get("id") if isinstance(claim.get("id"), int) else None,
        asked=tuple(_line(a) for a in claim.get("asked") or () if _opt(a)),
    )


def _office_notice(payload: Mapping[str, Any], *, outbox_id: int, subject_label: str) -> Notice:
    """The notice of a claim's office notice (`jobs.claim_notices`)."""
    event_type = str(payload["type"])
    kind, facts = CLAIM_TYPES[event_type], claim_facts(payload, _opt)
    title = _opt(payload.get("title")) or "、".join(facts.policies) or f"申领 {facts.claim_id}"
    return Notice(
        id=f"msg_{outbox_id}", kind=kind, event_type=event_type, subject_kind="office",
        subject_label=_line(subject_label), policy_id=_line(payload.get("policy_id", "")),
        title=title, department=_opt(payload.get("department")), delivery=None, amount=None,
        before_amount=None, unit=None, period=None, says=(), missing=(), basis=None,
        on_date=_line(payload.get("on_date", "")),
        effective_on=facts.ends_on if kind == "claim_ended" else facts.due_on,
        next_step=claim_next_step(kind, facts), confirm_url=None, catalogue_hash="",
        claim=facts,
    )  # fmt: skip


def _ping_notice(payload: Mapping[str, Any], *, outbox_id: int) -> Notice:
    """A test push a subscriber asked for (`POST /api/subscriptions/{id}/ping`,
    `store.delivery.manage.queue_ping`): it names the subscription and says nothing else."""
    subject: Mapping[str, Any] = payload.get("subject") or {}
    return Notice(
        id=f"msg_{outbox_id}", kind="ping", event_type="ping",
        subject_kind=_line(subject.get("kind", "")), subject_label=_line(subject.get("key", "")),
        policy_id="", title="测试推送", department=None, delivery=None, amount=None,
        before_amount=None, unit=None, period=None, says=(), missing=(), basis=None,
        on_date=_line(payload.get("on_date", "")), effective_on=None,
        next_step=None, confirm_url=None, catalogue_hash="",
        claim_id=None, asked=(),
    )  # fmt: skip


def _money(amount: str, unit: str | None) -> str:
    return f"{amount}元" if unit in (None, "CNY", "元") else f"{amount} {unit}"


def amount_text(notice: Notice, *, before: bool = False) -> str | None:
    """An amount for people: "每月705.00元" (the period only on the new amount), or None."""
    amount = notice.before_amount if before else notice.amount
    if amount is None:
        return None
    period = "" if before else PERIODS.get(notice.period or "", "")
    return period + _money(amount, notice.unit)


def _date_text(iso: str | None) -> str | None:
    if not iso:
        return None
    try:
        day = date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{day.year}年{day.month}月{day.day}日"


def _who(notice: Notice) -> str:
    if notice.subject_kind == "enterprise":
        return f"贵企业（{notice.subject_label}）"
    return f"贵户（户编号 {notice.subject_label}）"


def _label(notice: Notice) -> str:
    if notice.subject_kind == "enterprise":
        return notice.subject_label
    return f"户编号 {notice.subject_label}"


def _context(notice: Notice) -> dict[str, Any]:
    return {
        "n": notice,
        "who": _who(notice),
        "label": _label(notice),
        "amount_text": amount_text(notice),
        "before_text": amount_text(notice, before=True),
        "on_date_text": _date_text(notice.on_date),
        "effective_text": _date_text(notice.effective_on),
        "catalogue_version": notice.catalogue_hash[:12],
        "removed": notice.removed,
        "c": notice.claim,
        "due_text": _date_text(notice.claim.due_on) if notice.claim else None,
    }


def mail_parts(notice: Notice) -> tuple[str, str, str]:
    """The mail of a notice: (subject, text body, HTML body), in Chinese.

    The subject is one line whatever the notice holds (RELIABILITY M1).
    """
    context = _context(notice)
    subject = _line(ENVIRONMENT.get_template(f"mail/{notice.kind}.subject.txt").render(context))
    lead = ENVIRONMENT.get_template(f"mail/{notice.kind}.lead.txt").render(context).strip()
    context.update(subject=subject, lead=lead)
    text = ENVIRONMENT.get_template(f"mail/{notice.kind}.txt").render(context).strip() + "\n"
    html = ENVIRONMENT.get_template(f"mail/{notice.kind}.html").render(context)
    return subject, text, html


def webhook_body(notice: Notice) -> bytes:
    """The JSON body of the notice's webhook: UTF-8, keys sorted, the same bytes on every retry.

    Carries no time of its own (the `webhook-timestamp` header is per attempt) and no ID number.
    An office notice's data is the claim's (`jobs.claim_notices.claim_data`).
    """
    if notice.kind == "ping":
        ping = {"kind": "ping", "subject": {"kind": notice.subject_kind,
                "label": notice.subject_label}, "on_date": notice.on_date,
                "says": "直达订阅测试推送：签名验证通过即表示接收正常"}  # fmt: skip
        return orjson.dumps(
            {"type": "ping", "id": notice.id, "data": ping}, option=orjson.OPT_SORT_KEYS
        )
    if notice.claim is not None:
        data = claim_data(notice.kind, notice.claim, notice.title, notice.department)
        body = {"type": notice.event_type, "id": notice.id, "data": data}
        return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    data = {
        "kind": notice.kind,
        "subject": {"kind": notice.subject_kind, "label": notice.subject_label},
        "policy": {
            "id": notice.policy_id,
            "title": notice.title,
            "department": notice.department,
            "basis": notice.basis,
            "delivery": notice.delivery,
        },
        "amount": notice.amount,
        "before_amount": notice.before_amount,
        "unit": notice.unit,
        "period": notice.period,
        "says": list(notice.says),
        "missing": list(notice.missing),
        "next_step": notice.next_step,
        "confirm_url": notice.confirm_url,
        "catalogue_version": notice.catalogue_hash,
        "on_date": notice.on_date,
        "effective_on": notice.effective_on,
    }
    if notice.claim_id is not None:
        data["claim"] = {"id": notice.claim_id, "asked": list(notice.asked)}
    body = {"type": notice.event_type, "id": notice.id, "data": data}
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def sms_message(notice: Notice) -> tuple[str, dict[str, str]]:
    """The SMS of a notice: a registered template code and its params, each within its limit.

    The first template of the notice's kind whose params are all known is used
    (`jobs/templates/sms.yaml`); a long title or name is cut to fit and ends in "…".
    """
    if notice.claim is not None:
        return choose(notice.kind, _claim_sms(notice, notice.claim))
    office = notice.department or "主管部门"
    date_iso = notice.effective_on if notice.kind == "no_longer_eligible" else None
    known = {
        "who": notice.subject_label,
        "title": notice.title,
        "amount": amount_text(notice),
        "before": amount_text(notice, before=True),
        "date": _date_text(date_iso or notice.on_date),
        "missing": "、".join(notice.missing) or None,
        "department": office,
        "link": notice.confirm_url,
    }
    return choose(notice.kind, {k: v for k, v in known.items() if v})


def _claim_sms(notice: Notice, facts: ClaimFacts) -> dict[str, str]:
    days = facts.days_overdue
    known = {
        "claim": str(facts.claim_id),
        "title": notice.title,
        "state": facts.state_label or facts.state,
        "date": _date_text(notice.effective_on),
        "days": f"{days}个工作日" if days is not None else None,
        "reason": facts.reason,
        "department": notice.department or "主管部门",
    }
    return {k: v for k, v in known.items() if v}
