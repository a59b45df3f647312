"""Fixtures of the delivery tests: a fake SMS gateway (tests/jobs/sms_gateway.py) and an SMTP
server (tests/jobs/mailbox.py), both real servers on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jobs.mail import MailSettings
from tests.jobs.mailbox import Inbox, mail_server
from tests.jobs.sms_gateway import FakeAliyun, GatewayServer


@pytest.fixture
def sms_gateway() -> Iterator[FakeAliyun]:
    """A fake Aliyun SMS gateway: `.url`, `.key_id`, `.secret`, `.messages`, `.script(...)`,
    `.settings()` (client settings that reach it)."""
    with GatewayServer() as gateway:
        yield gateway


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, MailSettings]]:
    """An SMTP server on loopback (aiosmtpd) and the settings that reach it."""
    with mail_server() as server:
        yield server
