"""Webhook secrets, encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256).

The key is `ZHIDA_SECRET_KEY` (a Fernet key: 32 bytes, URL-safe base64, as
`cryptography.fernet.Fernet.generate_key()` prints) when set — the choice for PostgreSQL and
for several machines. Otherwise it is the file `secret.key` in the data directory
(`ZHIDA_DATA_DIR`, beside the SQLite database), created on first use with mode 0600. Losing the
key loses the secrets: receivers then need new ones (`zhida subscriptions rotate`). A secret is
decrypted only to sign a push; it is never logged and printed once, when it is made.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from rules.errors import ZhidaError
from store.db import data_dir

__all__ = ["KEY_FILE", "SecretBox", "SecretKeyError", "secret_box"]

KEY_FILE = "secret.key"
ENV = "ZHIDA_SECRET_KEY"


class SecretKeyError(ZhidaError):
    """The key is malformed, cannot be read or written, or does not open a stored secret."""


class SecretBox:
    """Encrypts and decrypts secrets under one key."""

    def __init__(self, key: bytes, where: str) -> None:
        try:
            self._fernet = Fernet(key)
        except ValueError:
            raise SecretKeyError(
                f"{where}：不是有效的密钥；应为 32 字节的 URL-safe base64（Fernet 密钥）"
            ) from None
        self.where = where

    def seal(self, secret: str) -> str:
        """The secret, encrypted (text safe to store)."""
        return self._fernet.encrypt(secret.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        """The secret a `seal` made.

        Raises:
            SecretKeyError: it was sealed under another key.
        """
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except InvalidToken:
            raise SecretKeyError(
                f"无法解密已存的 webhook 密钥：{self.where} 不是加密它时的密钥；"
                "应恢复原密钥，或用 zhida subscriptions rotate 重新生成"
            ) from None


def _key_file(path: Path) -> bytes:
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise SecretKeyError(f"{path}：无法读取密钥文件（{exc.strerror}）") from None
    key = Fernet.generate_key()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_bytes().strip()
    except OSError as exc:
        raise SecretKeyError(f"{path}：无法建立密钥文件（{exc.strerror}）") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    return key


@lru_cache(maxsize=4)
def _box(env_key: str | None, folder: str) -> SecretBox:
    if env_key:
        return SecretBox(env_key.encode(), ENV)
    path = Path(folder) / KEY_FILE
    return SecretBox(_key_file(path), f"密钥文件 {path}")


def secret_box() -> SecretBox:
    """The box of this environment's key (`ZHIDA_SECRET_KEY`, else the data directory's file).

    Raises:
        SecretKeyError: the key is malformed, or its file cannot be read or made.
    """
    return _box(os.environ.get(ENV, "").strip() or None, str(data_dir().resolve()))
