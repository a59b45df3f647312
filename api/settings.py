"""The service's settings, read once from the environment when `zhida serve` starts.

- `ZHIDA_TOKEN_SECRET`: signs API tokens (HS256); default a random key made once in
  `ZHIDA_DATA_DIR/token.key` (mode 0600).
- `ZHIDA_TOKEN_MINUTES` (30): how long a token lives.
- `ZHIDA_RULES_PUBLIC` (1): 1, `/api/match`, `/api/policies`, `/api/facts` and `/api/catalogue`
  need no token (they read no stored data); 0, they need one.
- `ZHIDA_MAX_BODY_MB` (10): a larger request body answers 413.
- `ZHIDA_LOGIN_PER_MINUTE` (10): login attempts per client address per minute (then 429).
- `ZHIDA_ALLOWED_HOSTS` (127.0.0.1, localhost and the served host): Host headers served.
- `ZHIDA_CORS_ORIGINS` (none): origins allowed to call the API from a browser.
- `ZHIDA_SESSION_MINUTES` (480, a working day): how long a console login lasts without use.
- `ZHIDA_COOKIE_SECURE` (1, except when serving on loopback): the console's session and CSRF
  cookies are sent over HTTPS only. A county serves the console behind its HTTPS gateway; on
  127.0.0.1 (`make run`) the browser talks plain HTTP, so the default there is 0.

A setting that is not what it should be is one message naming it (`SettingError`).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from rules.errors import ZhidaError
from store.db import data_dir

__all__ = ["LOOPBACK", "ApiSettings", "SettingError", "read_settings"]

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class SettingError(ZhidaError):
    """A setting of the service is wrong; the message names it."""


@dataclass(frozen=True)
class ApiSettings:
    """What the service runs with (see the module's table)."""

    root: Path  # the catalogue folder the service serves (and a policy writer publishes into)
    token_secret: str
    token_minutes: int = 30
    rules_public: bool = True
    max_body_bytes: int = 10 * 1024 * 1024
    login_per_minute: int = 10
    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost")
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    session_minutes: int = 480
    cookie_secure: bool = False


def _whole(name: str, default: int, least: int, most: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = least - 1
    if not least <= value <= most:
        raise SettingError(f"{name}={text!r}：应为 {least}–{most} 的整数")
    return value


def _flag(name: str, default: bool) -> bool:
    text = os.environ.get(name, "").strip().lower()
    if not text:
        return default
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise SettingError(f"{name}={text!r}：应为 1 或 0")


def _list(name: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in os.environ.get(name, "").split(",") if x.strip())


def token_secret() -> str:
    """`ZHIDA_TOKEN_SECRET`, or the key in the data folder (made once, mode 0600)."""
    if text := os.environ.get("ZHIDA_TOKEN_SECRET", "").strip():
        if len(text) < 32:
            raise SettingError(f"ZHIDA_TOKEN_SECRET：有 {len(text)} 个字符，应至少 32 个")
        return text
    path = data_dir() / "token.key"
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise SettingError(f"{path}：无法读取令牌密钥（{exc.strerror}）") from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".token.", dir=path.parent)  # mode 0600
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(temp, path)
        except FileExistsError:  # another process made it first: use theirs
            pass
        finally:
            Path(temp).unlink(missing_ok=True)
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingError(f"{path}：无法建立令牌密钥（{exc.strerror}）") from None


def read_settings(root: Path, *, host: str = "127.0.0.1", port: int = 8000) -> ApiSettings:
    """The settings from the environment; a SettingError names the first wrong one.

    The Host header is matched whole, port included, so each allowed host is allowed with and
    without the port served on.
    """
    names = {"127.0.0.1", "localhost", host, *_list("ZHIDA_ALLOWED_HOSTS")}
    hosts = names | {f"{h}:{port}" for h in names}
    return ApiSettings(
        root=root,
        token_secret=token_secret(),
        token_minutes=_whole("ZHIDA_TOKEN_MINUTES", 30, 1, 24 * 60),
        rules_public=_flag("ZHIDA_RULES_PUBLIC", True),
        max_body_bytes=_whole("ZHIDA_MAX_BODY_MB", 10, 1, 1024) * 1024 * 1024,
        login_per_minute=_whole("ZHIDA_LOGIN_PER_MINUTE", 10, 1, 10_000),
        allowed_hosts=("*",)
        if host in {"0.0.0.0", "::"} and not _list("ZHIDA_ALLOWED_HOSTS")
        else tuple(sorted(h for h in hosts if h not in {"0.0.0.0", "::"})),
        cors_origins=_list("ZHIDA_CORS_ORIGINS"),
        session_minutes=_whole("ZHIDA_SESSION_MINUTES", 480, 5, 7 * 24 * 60),
        cookie_secure=_flag("ZHIDA_COOKIE_SECURE", host not in LOOPBACK),
    )
