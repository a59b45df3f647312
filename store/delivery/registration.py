"""Registering where a subject hears: checks first, then `store.delivery.subscriptions`.

- The subject must be known: an enterprise by its 18-character credit code, a household by its
  户编号, a village centre by a 12-digit region code where at least one household lives.
- An office (for a claim's own notices: reminders, escalations, ended claims; see
  `store.claims.notices`) by its key: a 12-digit village code, a 9-digit township code, a
  6-digit county code (its supervisors, who get escalations) or `{county code}/{department}`
  (a county department, named as its users' `--dept`). The code is checked as a region code
  of its length (`parse_region_code`); it need not have households (a county's supervisors
  and departments have none).
- A webhook URL must pass `store.delivery.webhooks.check_url` (no loopback, private, link-local or
  metadata address, for every address the name resolves to; `ZHIDA_WEBHOOK_ALLOW` allows
  ranges). Its secret is the one given (`whsec_…`, 24–64 bytes) or a new one; it is stored
  encrypted and returned once, for the caller to print once.
- An e-mail address must be one address smtplib can send to without SMTPUTF8: an ASCII
  dot-atom local part (letters, digits and the RFC 5322 atext signs, dots between), one `@`, a
  domain of ASCII labels (an internationalised domain in its `xn--` form) — no commas, spaces
  or second `@`, which the SMTP server would refuse on every try;
  a mobile number is a mainland number, 11 digits starting with 1 (an optional +86 is
  dropped).
- Rotation: a new secret; the old one keeps signing for `ROTATION_GRACE` (24 h), so a receiver
  can switch over without losing a push.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import Engine

from matcher.profiles.identifiers import IdentifierError, parse_region_code
from rules.errors import ZhidaError
from store.db import write_session
from store.delivery.secrets import secret_box
from store.delivery.subscriptions import (
    add_subscription,
    get_subscription,
    rotate_secret,
    subject_id_of,
)
from store.delivery.webhooks import BadAllowList, UnsafeURL, check_url, new_secret, sign
from store.tables.delivery import Subscription
from store.tables.types import utcnow

__all__ = [
    "ROTATION_GRACE",
    "BadSubscription",
    "Registered",
    "mask_phone",
    "mask_target",
    "office_key",
    "register",
    "rotate",
    "target_label",
]

ROTATION_GRACE = timedelta(hours=24)
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(
    rf"^(?=[^@]{{1,64}}@)(?=.{{3,254}}$){_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+"
    r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$"
)
_PHONE = re.compile(r"^1[3-9]\d{9}$")
_REGION = re.compile(r"^\d{12}$")
_SUBJECTS = {
    "enterprise": "企业（统一社会信用代码）",
    "household": "户（户编号）",
    "village": "村（社区）（12 位区划代码）",
    "office": "办公室",
}
_OFFICE_EXPECTED = (
    "应为 12 位村（社区）代码、9 位乡镇（街道）代码、6 位县级代码（县督查）"
    "或 6 位县级代码/部门名称（如 520602/县医疗保障局）"
)
_DEPARTMENT_MAX = 64 - 7  # the subject key holds 64 characters: 6 digits, "/", the name


class BadSubscription(ZhidaError):
    """A subscription that cannot be stored: unknown subject, bad target or secret.

    `field` names the part of a request it is about (`target`, `key`, `secret`…) and `detail`
    says what was wrong without the CLI's option name, for the API's problem details.
    """

    def __init__(self, message: str, *, field: str = "key", detail: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.detail = detail or message


@dataclass(frozen=True)
class Registered:
    """A stored subscription, and its secret in clear when one was made (print it once)."""

    subscription: Subscription
    secret: str | None


def _target(channel: str, target: str) -> str:
    target = target.strip()
    if channel == "webhook":
        try:
            return check_url(target)
        except UnsafeURL as exc:
            raise BadSubscription(f"--webhook：{exc}", field="target", detail=str(exc)) from None
        except BadAllowList as exc:
            raise BadSubscription(str(exc), field="target") from None
    if channel == "email":
        if not _EMAIL.fullmatch(target):
            said = (
                f"{target!r}：不是电子邮件地址；应为 名字@域名，如 caiwu@example.com"
                "（一个地址；只用英文字母、数字和 . _ + - 等，不含逗号、空格；"
                "中文域名请写成 xn-- 形式）"
            )
            raise BadSubscription(f"--email {said}", field="target", detail=said)
        return target
    phone = target.removeprefix("+86").replace(" ", "").replace("-", "")
    if not _PHONE.match(phone):
        said = f"{target!r}：不是手机号；应为 11 位中国大陆手机号，如 13800138000"
        raise BadSubscription(f"--sms {said}", field="target", detail=said)
    return phone


def mask_phone(phone: str) -> str:
    """`138****5678`: a phone number as logs, errors and listings show it."""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 11 else "***"


def mask_target(channel: str, target: str) -> str:
    """A subscription's target as listings show it: a mobile number masked, others as stored."""
    return mask_phone(target) if channel == "sms" else target


def target_label(channel: str, target: str) -> str:
    """A target as a notice's delivery record shows it to anyone in reach of the notice (a
    county sees its enterprises' notices): a mobile number masked, a webhook URL without its
    user, query and fragment (where tokens travel), an address as stored."""
    if channel == "sms":
        return mask_phone(target)
    if channel == "webhook":
        parts = urlsplit(target)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        hidden = "?…" if parts.query or parts.fragment else ""
        return f"{parts.scheme}://{host}{port}{parts.path}{hidden}"
    return target


def _secret(given: str | None) -> str:
    if given is None:
        return new_secret()
    try:
        sign(given, "msg_check", 0, b"")  # decodes and checks the key's size
    except ValueError:
        raise BadSubscription(
            "--secret：不是 Standard Webhooks 密钥；应为 whsec_ 加 24–64 字节的 base64"
            "（省略则自动生成）"
        ) from None
    return given


def office_key(key: str) -> str:
    """Check and normalise an office key (see the module docstring).

    Raises:
        BadSubscription: naming what was found and what is expected.
    """
    key = key.strip()
    code, slash, department = key.partition("/")
    lengths = (6,) if slash else (6, 9, 12)
    try:
        code = parse_region_code(code, lengths=lengths)
    except IdentifierError as exc:
        raise BadSubscription(
            f"办公室 {key!r}：区划代码不对（{exc.message}）；{_OFFICE_EXPECTED}"
        ) from None
    if not slash:
        return code
    department = department.strip()
    if not department or any(c.isspace() or c == "/" for c in department):
        raise BadSubscription(
            f"办公室 {key!r}：部门名称 {department!r} 为空或含空格、斜杠；{_OFFICE_EXPECTED}"
        )
    if len(department) > _DEPARTMENT_MAX:
        raise BadSubscription(
            f"办公室 {key!r}：部门名称有 {len(department)} 个字符，应为至多 {_DEPARTMENT_MAX} 个"
        )
    return f"{code}/{department}"


def register(
    engine: Engine, *, kind: str, key: str, channel: str, target: str, secret: str | None = None
) -> Registered:
    """Check and store one subscription (see the module docstring).

    Raises:
        BadSubscription: an unknown subject, a target or secret that is refused.
    """
    key = key.strip().upper() if kind == "enterprise" else key.strip()
    if kind == "village" and not _REGION.match(key):
        raise BadSubscription(f"村（社区）{key!r}：应为 12 位统计用区划代码，如 520602100201")
    if kind == "office":
        key = office_key(key)
    target = _target(channel, target)
    clear = _secret(secret) if channel == "webhook" else None
    if secret is not None and channel != "webhook":
        raise BadSubscription("--secret 只用于 --webhook")
    sealed = secret_box(create=True).seal(clear) if clear else None
    with write_session(engine) as session:
        subject_id = 0 if kind == "office" else subject_id_of(session=session, kind=kind, key=key)
        if subject_id is None:
            raise BadSubscription(
                f"{_SUBJECTS[kind]} {key}：库中没有这个对象；应先导入其档案（zhida import）"
            )
        row = add_subscription(
            session=session,
            kind=kind,
            key=key,
            subject_id=subject_id or None,
            channel=channel,
            target=target,
            sealed_secret=sealed,
        )
    return Registered(row, clear if secret is None else None)


def rotate(engine: Engine, subscription_id: int) -> str:
    """A new secret for a webhook subscription (returned once); the old one signs for 24 h more.

    Raises:
        BadSubscription: no such subscription, or it is not a webhook.
    """
    clear = new_secret()
    with write_session(engine) as session:
        row = get_subscription(session=session, subscription_id=subscription_id)
        if row is None or row.channel != "webhook":
            found = "不存在" if row is None else f"是 {row.channel} 订阅，没有密钥"
            raise BadSubscription(
                f"订阅 {subscription_id} {found}；"
                "应为 webhook 订阅的编号（见 zhida subscriptions list）"
            )
        rotate_secret(
            session=session,
            subscription=row,
            sealed_secret=secret_box(create=True).seal(clear),
            keep_until=utcnow() + ROTATION_GRACE,
        )
    return clear
