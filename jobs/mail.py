"""The e-mail channel: one notice as a Chinese message with a text and an HTML part, over SMTP.

Settings come from the environment: `ZHIDA_SMTP_HOST`, `ZHIDA_SMTP_PORT` (25), `ZHIDA_SMTP_STARTTLS`
(`1` to upgrade the connection), `ZHIDA_SMTP_USER` / `ZHIDA_SMTP_PASSWORD` (both or neither),
`ZHIDA_MAIL_FROM`. The subject is encoded per RFC 2047 and the parts are sent base64
(`cte="base64"`, which strict relays accept for UTF-8 text). Every failure — a server that cannot
be reached, a refused sender or recipient, a refused login — is one `MailError` naming the
server and the SMTP code, never the password; the caller records it as the attempt's outcome.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from rules.errors import ZhidaError

__all__ = ["MailError", "MailSettings", "mail_domain", "send_mail"]

TIMEOUT_S = 30.0


class MailError(ZhidaError):
    """A message that could not be handed to the SMTP server; `code` is the server's SMTP reply
    code when it answered one, else None; `recipient` is True when the server refused the
    recipient (a 5xx there is the only verdict on the address itself: a refused login or
    sender is our configuration's fault)."""

    def __init__(self, message: str, code: int | None = None, *, recipient: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.recipient = recipient


@dataclass(frozen=True)
class MailSettings:
    """Where and as whom to send."""

    host: str
    port: int = 25
    starttls: bool = False
    user: str | None = None
    password: str | None = None
    sender: str = "zhida@localhost"
    sender_name: str = "直达 惠民惠企政策"

    @classmethod
    def from_env(cls) -> MailSettings:
        """The settings of the environment.

        Raises:
            MailError: no host, a port that is not a number, a user without a password.
        """
        env = os.environ
        host = env.get("ZHIDA_SMTP_HOST", "").strip()
        if not host:
            raise MailError("ZHIDA_SMTP_HOST 未设置：应为 SMTP 服务器的主机名")
        try:
            port = int(env.get("ZHIDA_SMTP_PORT", "25"))
        except ValueError:
            raise MailError("ZHIDA_SMTP_PORT：应为端口号（如 25、587）") from None
        user, password = env.get("ZHIDA_SMTP_USER") or None, env.get("ZHIDA_SMTP_PASSWORD") or None
        if (user is None) != (password is None):
            raise MailError("ZHIDA_SMTP_USER 与 ZHIDA_SMTP_PASSWORD 应同时设置或同时不设")
        return cls(
            host=host,
            port=port,
            starttls=env.get("ZHIDA_SMTP_STARTTLS", "") == "1",
            user=user,
            password=password,
            sender=env.get("ZHIDA_MAIL_FROM", "zhida@localhost"),
        )


def _message(
    settings: MailSettings, to: str, subject: str, text: str, html: str, message_id: str | None
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = formataddr((settings.sender_name, settings.sender))
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain=mail_domain(settings))
    message.set_content(text, cte="base64")
    message.add_alternative(html, subtype="html", cte="base64")
    return message


def mail_domain(settings: MailSettings) -> str:
    """The domain of the sender's address (`zhida` when it has none): the right-hand side of
    the Message-IDs we make."""
    return settings.sender.rpartition("@")[2] or "zhida"


def send_mail(
    settings: MailSettings,
    to: str,
    subject: str,
    text: str,
    html: str,
    *,
    message_id: str | None = None,
) -> str:
    """Send one message; returns its Message-ID.

    Args:
        settings: where and as whom to send.
        to: the recipient's address.
        subject: the subject line.
        text: the plain-text part.
        html: the HTML part.
        message_id: the Message-ID (`<left@right>`) to send under — the same on every try of
            one delivery, so a resend after a crash can be deduplicated; a fresh one if None.

    Raises:
        MailError: the server could not be reached or refused the message, the sender, the
            recipient or the login.
    """
    message = _message(settings, to, subject, text, html, message_id)
    where = f"SMTP {settings.host}:{settings.port}"
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=TIMEOUT_S) as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.user and settings.password:
                smtp.login(settings.user, settings.password)
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        code, said = next(iter(exc.recipients.values()))
        raise MailError(
            f"{where} 拒收收件人 {to}：{code} {said.decode(errors='replace')}", code, recipient=True
        ) from None
    except smtplib.SMTPSenderRefused as exc:
        raise MailError(
            f"{where} 拒收发件人 {settings.sender}：{exc.smtp_code}", exc.smtp_code
        ) from None
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(
            f"{where} 拒绝登录（用户 {settings.user}）：{exc.smtp_code}", exc.smtp_code
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"{where} 发送失败：{type(exc).__name__} {exc}") from None
    return str(message["Message-ID"])
