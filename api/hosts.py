"""The checks at the edge, before any route: the Host header (RELIABILITY W1) and NUL.

Litestar's own `AllowedHostsConfig` answers a refusal with `{"message": "invalid host header"}`
in English; this middleware refuses the same requests with a problem in Chinese naming the
header and the setting. A host is allowed with or without a port. A path or query string
holding a NUL character (`%00`) is refused here too: PostgreSQL cannot store one, and every
key of ours (户编号, credit code, region) reaches a query.
"""

from __future__ import annotations

import json

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.response.base import ASGIResponse
from litestar.types import ASGIApp, Receive, Scope, Send

from api.problems import PROBLEM_JSON
from matcher.profiles.masking import mask_ids_in_text

__all__ = ["HostCheck"]


def _name(host: str) -> str:
    """`host` without its port (`[::1]:8000` → `[::1]`, `localhost:80` → `localhost`)."""
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class HostCheck(ASGIMiddleware):
    """Serve only requests whose Host header names this service."""

    scopes = (ScopeType.HTTP, ScopeType.WEBSOCKET)

    def __init__(self, allowed: tuple[str, ...] = ()) -> None:
        self.any = "*" in allowed
        self.allowed = {_name(h).lower() for h in allowed}

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
        raw = scope.get("raw_path") or b""
        if b"\x00" in raw or b"%00" in raw or b"%00" in scope.get("query_string", b""):
            said = "地址或查询参数含有 NUL 字符（%00）：应删去"  # PostgreSQL cannot store it
            await _refuse(scope, receive, send, said, "$")
            return
        if self.any or _name(host).lower() in self.allowed:
            await next_app(scope, receive, send)
            return
        said = (
            f"请求头 Host {host[:100]!r} 不是本服务的地址：应为 "
            f"{'、'.join(sorted(self.allowed))} 之一（设置 ZHIDA_ALLOWED_HOSTS）"
        )
        await _refuse(scope, receive, send, said, "header.Host")


async def _refuse(scope: Scope, receive: Receive, send: Send, said: str, where: str) -> None:
    said, path = mask_ids_in_text(said), str(scope.get("path", "")).replace("\x00", "")
    body = {
        "type": "urn:zhida:problem:malformed", "title": "请求格式有误", "status": 400,
        "detail": said, "instance": mask_ids_in_text(path),
        "errors": [{"path": where, "message": said}],
    }  # fmt: skip
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    await ASGIResponse(body=data, status_code=400, media_type=PROBLEM_JSON)(scope, receive, send)
