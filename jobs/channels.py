"""The senders: one try of one delivery on its channel, as a `store.delivery.outbox.Result`.

A sender never raises: every outcome — success, a refusal, a timeout — becomes a Result the
drain records. What each channel counts as what:

- webhook: 2xx is success; 410 Gone disables the subscription (no further try on it; the
  notice's other channels go on); a URL `check_url` refuses at send time (DNS may have changed
  since registration) is dead at once; anything else — other statuses, a 3xx (never followed),
  429/502/503/504 (throttling, `Retry-After` honoured), a timeout, a refused or reset
  connection — is retried on the schedule.
- e-mail: sent with the Message-ID `<msg_<outbox id>.<subscription id>@<sender's domain>>`,
  the same on every try, so a resend after a crash can be deduplicated by the mail server or
  client; accepted by the SMTP server is success; a 5xx refusal of the recipient (e.g. 550 no
  such mailbox) is dead at once; a 4xx, a refused login (535) or sender (a configuration
  fault), no connection or no configuration is retried.
- SMS: the gateway's OK is success; `SmsError.retryable` codes are retried, others are dead.

Webhook pushes: `POST` with httpx, `follow_redirects=False`, timeout `DrainSettings.timeout_s` (15
s by default, `ZHIDA_WEBHOOK_TIMEOUT_S`) for the whole try — connect to last byte, so a receiver
that drips its answer cannot hold a worker (`jobs.deadline`) — Standard Webhooks headers
(`store.delivery.webhooks.headers`) signed by the current secret and, during a rotation, the
previous one;
`webhook-id` is `msg_<outbox id>`, the same on every try and for every subscriber of the notice (a
receiver dedupes the resend a crash causes), `webhook-timestamp` the wall clock at the try
(receivers check it against theirs, so it never comes from the drain's injectable clock).
"""

from __future__ import annotations

import logging
import math
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx

from jobs.deadline import DeadlineTransport, deadline
from jobs.mail import MailError, MailSettings, mail_domain, send_mail
from jobs.notices import Notice, mail_parts, notice_of, sms_message, webhook_body
from jobs.sms import AliyunSettings, AliyunSms, SmsError, SmsGateway
from store.delivery.outbox import Claimed, Result, Send
from store.delivery.retry import MAX_RETRY_AFTER
from store.delivery.secrets import SecretBox, SecretKeyError
from store.delivery.webhooks import (
    BadAllowList,
    Unresolved,
    UnsafeURL,
    allowed_ranges,
    check_url,
    headers,
)

__all__ = ["Channels", "DrainSettings", "message_id", "retry_after"]

THROTTLE = (429, 502, 503, 504)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DrainSettings:
    """How the drain works; each from the environment (`from_env`) or given in tests."""

    timeout_s: float = 15.0  # ZHIDA_WEBHOOK_TIMEOUT_S: one webhook try, connect to last byte
    batch: int = 100  # ZHIDA_DRAIN_BATCH: notices per claim
    lease_s: float = 300.0  # ZHIDA_DRAIN_LEASE_S: how long a claim holds a notice
    workers: int = 8  # ZHIDA_DRAIN_WORKERS: tries sent at once
    poll_s: float = 2.0  # ZHIDA_DRAIN_POLL_S: the wait when nothing is due (`drain` without --once)
    confirm_base: str | None = None  # ZHIDA_CONFIRM_BASE: where prepared claims are confirmed

    @classmethod
    def from_env(cls) -> DrainSettings:
        """The settings of the environment (defaults for those not set); also checks
        `ZHIDA_WEBHOOK_ALLOW` once, so a malformed range stops the drain at start-up instead of
        failing every push.

        Raises:
            ValueError: a batch or worker count that is not a whole number ≥ 1, another setting
                that is not a finite positive number, or a malformed `ZHIDA_WEBHOOK_ALLOW`
                (each message names the variable).
        """
        found: dict[str, float | int] = {}
        for name, env, whole in (
            ("timeout_s", "ZHIDA_WEBHOOK_TIMEOUT_S", False),
            ("batch", "ZHIDA_DRAIN_BATCH", True),
            ("lease_s", "ZHIDA_DRAIN_LEASE_S", False),
            ("workers", "ZHIDA_DRAIN_WORKERS", True),
            ("poll_s", "ZHIDA_DRAIN_POLL_S", False),
        ):
            text = os.environ.get(env, "").strip()
            if text:
                found[name] = _whole(env, text) if whole else _positive(env, text)
        try:
            allowed_ranges()
        except BadAllowList as exc:
            raise ValueError(str(exc)) from None
        confirm = os.environ.get("ZHIDA_CONFIRM_BASE", "").strip() or None
        return cls(**found, confirm_base=confirm)  # type: ignore[arg-type]  # right kinds, by name


def _whole(env: str, text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{env} {text!r}：应为不小于 1 的整数")
    return int(text)


def _positive(env: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{env} {text!r}：应为正数（有限的秒数，如 15）")
    return value


def message_id(outbox_id: int) -> str:
    """The `webhook-id` of a notice: stable across tries, subscribers and restarts."""
    return f"msg_{outbox_id}"


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A `Retry-After` header (seconds, or an HTTP date) as a wait from `now`, at most
    `store.delivery.retry.MAX_RETRY_AFTER` (a day); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():  # clamped first: 10**20 seconds does not fit a timedelta
        return timedelta(seconds=min(int(value), int(MAX_RETRY_AFTER.total_seconds())))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(when - now, timedelta(0)), MAX_RETRY_AFTER)


class Channels:
    """Sends one try of a delivery on its channel. Thread-safe (the drain sends in parallel)."""

    def __init__(
        self,
        settings: DrainSettings,
        *,
        box: SecretBox,
        mail: Callable[[], MailSettings] = MailSettings.from_env,
        sms: SmsGateway | None = None,
    ) -> None:
        self.settings = settings
        self.box = box
        self._mail = mail
        self.sms = sms
        self.http = httpx.Client(
            follow_redirects=False, timeout=settings.timeout_s, transport=DeadlineTransport()
        )

    @classmethod
    def from_env(cls, settings: DrainSettings, *, box: SecretBox) -> Channels:
        """The channels this environment configures (SMS only when its settings are given).

        Raises:
            SmsError: the SMS settings are given in part or wrongly.
        """
        aliyun = AliyunSettings.from_env()
        return cls(settings, box=box, sms=AliyunSms(aliyun) if aliyun else None)

    def close(self) -> None:
        """Close the HTTP connections."""
        self.http.close()

    def notice(self, claimed: Claimed) -> Notice:
        """The notice of a claimed outbox row, as every channel renders it.

        Raises:
            ValueError: the payload cannot be read as a notice (unknown type, bad amount).
        """
        return notice_of(
            claimed.payload, outbox_id=claimed.outbox_id, subject_label=claimed.subject_label,
            confirm_base=self.settings.confirm_base,
        )  # fmt: skip

    def send(self, claimed: Claimed, send: Send, at: datetime) -> Result:
        """One try of `send` for the claimed notice, started at `at` (the drain's clock).

        Never raises: an unexpected error (a template that does not render, a bug) becomes a
        failed, retryable Result naming the exception's type, and is logged with the delivery's
        ids only (never a target, a secret or the notice's content).
        """
        if send.disabled is not None:
            return Result(send, at, ok=False, error=f"订阅已停用：{send.disabled}", attempted=False)
        started = time.perf_counter()
        try:
            result = self._send(claimed, send, at)
        except Exception as exc:  # one delivery's fault must not stop the batch
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            log.error(  # where and what kind only: the message may quote the notice's content
                "drain: delivery %d (notice %d, subscription %d, %s) failed: %s at %s:%s",
                send.delivery_id, send.outbox_id, send.subscription_id, send.channel,
                type(exc).__name__, frame.filename, frame.lineno,
            )  # fmt: skip
            error = f"内部错误（{type(exc).__name__}）：{exc}"[:300]
            result = Result(send, at, ok=False, error=error)
        latency = int((time.perf_counter() - started) * 1000)
        return Result(**{**result.__dict__, "latency_ms": latency})

    def _send(self, claimed: Claimed, send: Send, at: datetime) -> Result:
        try:
            notice = self.notice(claimed)
        except ValueError as exc:
            error = f"通知内容无法生成：{exc}"[:300]
            return Result(send, at, ok=False, error=error, permanent=True)
        if send.channel == "webhook":
            return self._webhook(notice, send, at)
        if send.channel == "email":
            return self._email(notice, send, at)
        return self._sms(notice, send, at)

    def _webhook(self, notice: Notice, send: Send, at: datetime) -> Result:
        try:
            url = check_url(send.target)
        except (Unresolved, BadAllowList) as exc:  # DNS or our configuration: may pass
            return Result(send, at, ok=False, error=f"暂不能推送：{exc}"[:300])
        except UnsafeURL as exc:  # refused by policy: no retry will help
            return Result(send, at, ok=False, error=f"拒绝推送：{exc}"[:300], permanent=True)
        try:
            secrets = [self.box.open(s) for s in send.secrets]
        except SecretKeyError as exc:  # the wrong key is configured: fixable, so retried
            log.error("drain: delivery %d: %s", send.delivery_id, exc)
            return Result(send, at, ok=False, error=f"密钥错误（按计划重试）：{exc}"[:300])
        body = webhook_body(notice)
        signed = headers(secrets, notice.id, int(time.time()), body)
        try:
            with deadline(self.settings.timeout_s):  # the whole try, not each step
                response = self.http.post(url, content=body, headers=signed)
        except httpx.TimeoutException:
            return Result(send, at, ok=False, error=f"超时（{self.settings.timeout_s:g} 秒无应答）")
        except httpx.TransportError as exc:
            return Result(send, at, ok=False, error=f"连接失败：{type(exc).__name__} {exc}"[:300])
        return self._answer(send, at, response)

    def _answer(self, send: Send, at: datetime, response: httpx.Response) -> Result:
        code = response.status_code
        if 200 <= code < 300:
            return Result(send, at, ok=True, status_code=code)
        if code == 410:
            gone = f"接收方返回 410 Gone（{at:%Y-%m-%d %H:%M} UTC）：已停用此订阅"
            return Result(send, at, ok=False, status_code=code, error=gone, gone=gone)
        if 300 <= code < 400:
            where = response.headers.get("location", "")
            error = f"{code} 重定向（未跟随{'：' + where if where else ''}）"
            return Result(send, at, ok=False, status_code=code, error=error[:300])
        wait = retry_after(response.headers.get("retry-after"), datetime.now(UTC))
        said = "限流" if code in THROTTLE else "接收方出错"
        error = f"{code} {said}" + (f"，Retry-After {wait.total_seconds():g} 秒" if wait else "")
        return Result(send, at, ok=False, status_code=code, error=error, retry_after=wait)

    def _email(self, notice: Notice, send: Send, at: datetime) -> Result:
        try:
            settings = self._mail()
            subject, text, html = mail_parts(notice)
            stable = (
                f"<{message_id(send.outbox_id)}.{send.subscription_id}@{mail_domain(settings)}>"
            )
            send_mail(settings, send.target, subject, text, html, message_id=stable)
        except MailError as exc:
            # only the recipient's refusal is about the address; a refused login (535) or
            # sender is a configuration fault, retried until it is fixed
            permanent = exc.recipient and exc.code is not None and 500 <= exc.code < 600
            return Result(
                send, at, ok=False, status_code=exc.code, error=str(exc)[:300], permanent=permanent
            )
        return Result(send, at, ok=True, status_code=250)

    def _sms(self, notice: Notice, send: Send, at: datetime) -> Result:
        if self.sms is None:
            error = "短信渠道未配置（ZHIDA_SMS_ENDPOINT 等）：配置后按计划重试"
            return Result(send, at, ok=False, error=error)
        template, params = sms_message(notice)
        try:
            self.sms.send(phone=send.target, template=template, params=params, out_id=notice.id)
        except SmsError as exc:
            error = f"{exc.code}：{exc}"[:300]
            return Result(send, at, ok=False, error=error, permanent=not exc.retryable)
        return Result(send, at, ok=True)
