"""Our Standard Webhooks signer against the published vector and the official library, and the
URL guard that keeps pushes out of the internal network (RELIABILITY D4, W1)."""

from __future__ import annotations

import base64
import json
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from store.delivery.webhooks import UnsafeURL, check_url, headers, new_secret, sign

VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_the_published_vector_is_reproduced_exactly() -> None:
    body = b'{"test": 2432232314}'
    assert (
        sign(VECTOR_SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def _notice() -> bytes:
    payload = {"kind": "newly_eligible", "title": "城乡最低生活保障金", "amount": "710.00"}
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def test_the_official_library_accepts_ours_and_refuses_forgeries() -> None:
    secret, body, now = new_secret(), _notice(), int(time.time())
    sent = headers([secret], "notice-42", now, body)
    assert Webhook(secret).verify(body, sent)["title"] == "城乡最低生活保障金"
    refusals = [
        (body[:-2] + b"1}", sent),  # one byte of the body changed
        (body, headers([new_secret()], "notice-42", now, body)),  # another secret
        (body, headers([secret], "notice-42", now - 301, body)),  # older than 5 minutes
        (body, {k: v for k, v in sent.items() if k != "webhook-id"}),  # a header missing
    ]
    for data, got in refusals:
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(data, got)


def test_during_a_rotation_both_secrets_verify() -> None:
    old, new, body, now = new_secret(), new_secret(), _notice(), int(time.time())
    sent = headers([old, new], "notice-7", now, body)
    assert len(sent["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        Webhook(secret).verify(body, sent)


def test_new_secrets_are_random_and_of_the_spec_size() -> None:
    one, two = new_secret(), new_secret()
    assert one != two and one.startswith("whsec_")
    assert len(base64.b64decode(one.removeprefix("whsec_"))) == 32
    with pytest.raises(ValueError):
        new_secret(16)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://127.0.0.1/hook", "回环地址"),
        ("https://10.0.0.5/hook", "内网地址"),
        ("https://192.168.1.1/hook", "内网地址"),
        ("http://169.254.169.254/latest/meta-data/", "链路本地地址"),
        ("https://[::1]/hook", "回环地址"),
        ("https://[::ffff:127.0.0.1]/hook", "回环地址"),
        ("https://localhost:8443/hook", "回环地址"),
        ("ftp://example.org/hook", "应为 https://"),
        ("https://user:pw@example.org/hook", "不能含用户名或密码"),
    ],
)
def test_urls_that_reach_inside_are_refused(
    url: str, why: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ZHIDA_WEBHOOK_ALLOW", raising=False)
    with pytest.raises(UnsafeURL, match=why):
        check_url(url)


def test_every_resolved_address_counts_and_allowed_ranges_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ZHIDA_WEBHOOK_ALLOW", raising=False)
    public = "https://receiver.example.org/hook"
    assert check_url(public, resolve=lambda host, port: ["93.184.216.34"]) == public
    with pytest.raises(UnsafeURL, match="10.1.2.3"):  # one of its addresses is internal
        check_url(public, resolve=lambda host, port: ["93.184.216.34", "10.1.2.3"])
    monkeypatch.setenv("ZHIDA_WEBHOOK_ALLOW", "127.0.0.0/8, 10.1.0.0/16")
    assert check_url("http://127.0.0.1:9000/hook") == "http://127.0.0.1:9000/hook"
    check_url(public, resolve=lambda host, port: ["10.1.2.3"])
    with pytest.raises(UnsafeURL, match="192.168.0.9"):
        check_url(public, resolve=lambda host, port: ["192.168.0.9"])
