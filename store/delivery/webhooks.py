"""Standard Webhooks v1 for the notices zhida pushes: secrets, signatures, and safe URLs.

A receiver proves a push came from us and is fresh (RELIABILITY D4): the headers
`webhook-id` (stable across retries, so a receiver drops the duplicate a crash can cause),
`webhook-timestamp` (Unix seconds, per attempt) and `webhook-signature: v1,<base64 HMAC-SHA256 of
"{id}.{timestamp}.{body}">` under the endpoint's secret (`whsec_` + base64 of 24–64 random bytes).
During a rotation both the old and the new secret sign, space-separated. Receivers verify with any
Standard Webhooks library; tests/jobs/test_webhooks.py uses the official one.

A subscription URL must not reach inside the network: loopback, private, link-local (the cloud
metadata service at 169.254.169.254), multicast, reserved and unspecified addresses are refused,
for every address the host name resolves to. `ZHIDA_WEBHOOK_ALLOW` (comma-separated CIDR ranges,
e.g. `127.0.0.0/8` for tests, a county intranet's range) allows chosen ranges; a malformed entry
is `BadAllowList` (a configuration fault the drain reports at start-up). A host name that does not
resolve is `Unresolved` (a kind of `UnsafeURL`): refused at registration, retried at send time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import os
import secrets
import socket
from collections.abc import Callable, Iterable, Sequence
from urllib.parse import urlsplit

from rules.errors import ZhidaError

__all__ = [
    "PREFIX",
    "BadAllowList",
    "UnsafeURL",
    "Unresolved",
    "allowed_ranges",
    "check_url",
    "headers",
    "new_secret",
    "sign",
]

PREFIX = "whsec_"
_MIN_KEY, _MAX_KEY = 24, 64
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]


class UnsafeURL(ZhidaError):
    """A webhook URL zhida will not call: malformed, not http(s), or reaching inside."""


class Unresolved(UnsafeURL):
    """A webhook host name that does not resolve now: refused at registration, but at send time
    a passing DNS fault, so the drain retries it (only an address refused by policy is dead)."""


class BadAllowList(ZhidaError):
    """`ZHIDA_WEBHOOK_ALLOW` holds something that is not a CIDR range: a configuration fault,
    reported at start-up (`allowed_ranges`), never a verdict on one subscription."""


def new_secret(size: int = 32) -> str:
    """A fresh endpoint secret: `whsec_` + base64 of `size` random bytes (24–64)."""
    if not _MIN_KEY <= size <= _MAX_KEY:
        raise ValueError(f"a secret has {_MIN_KEY}–{_MAX_KEY} random bytes, not {size}")
    return PREFIX + base64.b64encode(secrets.token_bytes(size)).decode("ascii")


def _key(secret: str) -> bytes:
    if not secret.startswith(PREFIX):
        raise ValueError(f"a webhook secret starts with {PREFIX}")
    key = base64.b64decode(secret[len(PREFIX) :], validate=True)
    if not _MIN_KEY <= len(key) <= _MAX_KEY:
        raise ValueError(f"a webhook secret holds {_MIN_KEY}–{_MAX_KEY} bytes, not {len(key)}")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<signature>` of one message under one secret."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(secrets_: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers of one attempt, signed by every secret given (old and new in a
    rotation)."""
    signatures = " ".join(sign(s, msg_id, timestamp, body) for s in secrets_)
    if not signatures:
        raise ValueError("at least one secret signs a webhook")
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures,
        "content-type": "application/json",
    }


def allowed_ranges() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The ranges `ZHIDA_WEBHOOK_ALLOW` allows (none when unset).

    Raises:
        BadAllowList: an entry is not a CIDR range (the message names the setting and entry).
    """
    text = os.environ.get("ZHIDA_WEBHOOK_ALLOW", "")
    found = []
    for entry in (r.strip() for r in text.split(",")):
        if not entry:
            continue
        try:
            found.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise BadAllowList(
                f"ZHIDA_WEBHOOK_ALLOW {text!r}：{entry!r} 不是网段；"
                "应为逗号分隔的 CIDR 网段，如 127.0.0.0/8,10.20.0.0/16"
            ) from None
    return found


def _inside(address: Address) -> str | None:
    """Why an address is inside the network, or None when it is a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    checks = (
        ("回环地址 loopback", address.is_loopback),
        ("链路本地地址 link-local（含云元数据服务 169.254.169.254）", address.is_link_local),
        ("内网地址 private", address.is_private),
        ("组播地址 multicast", address.is_multicast),
        ("保留地址 reserved", address.is_reserved),
        ("未指定地址 unspecified", address.is_unspecified),
    )
    return next((why for why, hit in checks if hit), None)


def _resolve(host: str, port: int) -> Sequence[str]:
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in found})


def check_url(url: str, *, resolve: Resolver = _resolve) -> str:
    """The URL itself when zhida may call it; every address its host resolves to is checked.

    Raises:
        UnsafeURL: the URL is malformed, not http(s), has credentials, does not resolve
            (`Unresolved`, a subclass), or reaches an address inside the network that
            `ZHIDA_WEBHOOK_ALLOW` does not allow.
        BadAllowList: `ZHIDA_WEBHOOK_ALLOW` is malformed.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeURL(f"webhook 地址 {url!r}：应为 https://主机/路径")
    if parts.username or parts.password:
        raise UnsafeURL(f"webhook 地址 {parts.hostname}：不能含用户名或密码，请用签名验证")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = [ipaddress.ip_address(a) for a in resolve(parts.hostname, port)]
    except ValueError as exc:  # a port out of range
        raise UnsafeURL(f"webhook 地址 {url!r}：{exc}") from None
    except OSError as exc:
        raise Unresolved(f"webhook 地址 {parts.hostname}：无法解析（{exc}）") from None
    allowed = allowed_ranges()
    for address in addresses:
        why = _inside(address)
        if why and not any(address in network for network in allowed):
            raise UnsafeURL(
                f"webhook 地址 {parts.hostname} 指向 {address}，是{why}：不能推送到内部网络"
                "（如确需，在 ZHIDA_WEBHOOK_ALLOW 中列出该网段）"
            )
    return url
