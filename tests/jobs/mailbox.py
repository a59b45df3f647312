"""A real SMTP server on loopback for the mail tests (aiosmtpd): it keeps every message, refuses
any recipient at refused.example (550) and defers any at busy.example (451)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from jobs.mail import MailSettings


class Inbox:
    """Every message received, with its envelope."""

    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, EmailMessage]] = []

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address.endswith("@refused.example"):
            return "550 5.1.1 no such mailbox"
        if address.endswith("@busy.example"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        parsed = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((envelope, parsed))
        return "250 Message accepted"


def free_port() -> int:
    """A loopback port nobody listens on (Controller(port=0) does not work: pick one first)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SenderRefused(Inbox):
    """An inbox whose server refuses our sender (553), as a relay does that we may not use."""

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        return "553 5.7.1 sender not allowed to relay"


@contextmanager
def mail_server(inbox: Inbox | None = None) -> Iterator[tuple[Inbox, MailSettings]]:
    """An SMTP server on a free loopback port (keeping into `inbox`, a new one if None), and
    the settings that reach it."""
    inbox, port = inbox or Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, MailSettings(host="127.0.0.1", port=port, sender="notices@zhida.example")
    finally:
        controller.stop()
