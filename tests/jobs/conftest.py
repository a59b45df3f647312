"""Fixtures of the delivery tests: a fake SMS gateway on loopback (tests/jobs/sms_gateway.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.jobs.sms_gateway import FakeAliyun, GatewayServer


@pytest.fixture
def sms_gateway() -> Iterator[FakeAliyun]:
    """A fake Aliyun SMS gateway: `.url`, `.key_id`, `.secret`, `.messages`, `.script(...)`,
    `.settings()` (client settings that reach it)."""
    with GatewayServer() as gateway:
        yield gateway
