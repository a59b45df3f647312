"""The Host header check (RELIABILITY W1), answering a refused host with a problem.

Litestar's own `AllowedHostsConfig` answers a refusal with `{"message": "invalid host header"}`
in English; this middleware refuses the same requests with a problem in Chinese naming the
header and the setting. A host is allowed with or without a port.
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
        if self.any or _name(host).lower() in self.allowed:
            await next_app(scope, receive, send)
            return
        said = mask_ids_in_text(
            f"请求头 Host {host[:100]!r} 不是本服务的地址：应为 "
            f"{'、'.join(sorted(self.allowed))} 之一（设置 ZHIDA_ALLOWED_HOSTS）"
        )
        body = {
            "type": "urn:zhida:problem:malformed", "title": "请求格式有误", "status": 400,
            "detail": said, "instance": mask_ids_in_text(str(scope.get("path", ""))),
            "errors": [{"path": "header.Host", "message": said}],
        }  # fmt: skip
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        await ASGIResponse(body=data, status_code=400, media_type=PROBLEM_JSON)(
            scope, receive, send
        )
