"""Webhook secrets, encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256).

Where the key is, in this order:

1. `ZHIDA_SECRET_KEY` (a Fernet key: 32 bytes, URL-safe base64, as
   `cryptography.fernet.Fernet.generate_key()` prints) — the choice for PostgreSQL and for
   several machines.
2. With SQLite, the file `secret.key` beside the database file (`DATABASE_URL`'s path, else
   `ZHIDA_DATA_DIR`/zhida.db), so a drain started from any directory finds the key of the
   database it sends from.
3. With PostgreSQL and no `ZHIDA_SECRET_KEY`, the file `secret.key` in `ZHIDA_DATA_DIR` — only
   when that is set explicitly; the working directory's `./data` is never guessed for a server
   database (`subscriptions add` then refuses, naming both settings).

The key file is made only when a secret is sealed (`zhida subscriptions add`/`rotate`,
`secret_box(create=True)`), never by the drain: a drain that finds no key keeps the key error as
the delivery's retryable failure (restore the key and the next try goes out) rather than making a
new key that would open nothing. The file is written whole to a temporary file (mode 0600) and
then hard-linked into place, so a process that loses the race to create it reads the winner's
complete key, never an empty file. Losing the key loses the secrets: receivers then need new
ones (`zhida subscriptions rotate`). A secret is decrypted only to sign a push; it is never
logged and printed once, when it is made.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from rules.errors import ZhidaError
from store.db import data_dir

__all__ = ["KEY_FILE", "SecretBox", "SecretKeyError", "key_path", "secret_box"]

KEY_FILE = "secret.key"
ENV = "ZHIDA_SECRET_KEY"


class SecretKeyError(ZhidaError):
    """The key is malformed, missing, cannot be read or written, or does not open a stored
    secret."""


def _fernet(key: bytes, where: str) -> Fernet:
    try:
        return Fernet(key)
    except ValueError:
        raise SecretKeyError(
            f"{where}：不是有效的密钥；应为 32 字节的 URL-safe base64（Fernet 密钥）"
        ) from None


class SecretBox:
    """Encrypts and decrypts secrets under one key; a box made before its key file exists reads
    the file at its first use (and again on each use until the file is there)."""

    def __init__(self, key: bytes | None, where: str, *, path: Path | None = None) -> None:
        self.where = where
        self._path = path
        self._lock = threading.Lock()
        self._key: Fernet | None = _fernet(key, where) if key is not None else None

    def _get(self) -> Fernet:
        with self._lock:
            if self._key is None:
                if self._path is None:
                    raise SecretKeyError(
                        f"{self.where}：未配置密钥；应设置 {ENV}（或 ZHIDA_DATA_DIR 指向存放 "
                        f"{KEY_FILE} 的目录）"
                    )
                found = _read(self._path)
                if found is None:
                    raise SecretKeyError(
                        f"{self.where} 不存在：无法解密已存的 webhook 密钥；应恢复原密钥文件"
                        f"或设置 {ENV}"
                    )
                self._key = _fernet(found, self.where)
            return self._key

    def seal(self, secret: str) -> str:
        """The secret, encrypted (text safe to store).

        Raises:
            SecretKeyError: no key is configured or found.
        """
        return self._get().encrypt(secret.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        """The secret a `seal` made.

        Raises:
            SecretKeyError: it was sealed under another key, or no key is found.
        """
        try:
            return self._get().decrypt(sealed.encode("ascii")).decode()
        except InvalidToken:
            raise SecretKeyError(
                f"无法解密已存的 webhook 密钥：{self.where} 不是加密它时的密钥；"
                "应恢复原密钥，或用 zhida subscriptions rotate 重新生成"
            ) from None


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SecretKeyError(f"{path}：无法读取密钥文件（{exc.strerror}）") from None


def _create(path: Path) -> bytes:
    """The key of `path`, made if absent: written whole to a temporary file, then linked into
    place (a process that loses the race reads the winner's complete file)."""
    found = _read(path)
    if found is not None:
        return found
    key = Fernet.generate_key()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".secret.", dir=path.parent)  # mode 0600
    except OSError as exc:
        raise SecretKeyError(f"{path}：无法建立密钥文件（{exc.strerror}）") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(key + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temp, path)
    except FileExistsError:  # another process made it first: use theirs
        return _read(path) or key
    except OSError as exc:
        raise SecretKeyError(f"{path}：无法建立密钥文件（{exc.strerror}）") from None
    finally:
        Path(temp).unlink(missing_ok=True)
    return key


def key_path() -> Path | None:
    """Where the key file is for this environment's database (module docstring); None with
    PostgreSQL when `ZHIDA_DATA_DIR` is not set."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return (data_dir() / KEY_FILE).resolve()
    try:
        parsed = make_url(url)
    except ArgumentError:
        parsed = None
    if parsed is not None and parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            return Path(parsed.database).resolve().parent / KEY_FILE
        return (data_dir() / KEY_FILE).resolve()
    if os.environ.get("ZHIDA_DATA_DIR", "").strip():
        return (data_dir() / KEY_FILE).resolve()
    return None


def secret_box(*, create: bool = False) -> SecretBox:
    """The box of this environment's key (`ZHIDA_SECRET_KEY`, else the key file).

    Args:
        create: make the key file when it is absent (only when sealing a new secret: the drain
            never does, see the module docstring).

    Raises:
        SecretKeyError: the key is malformed, its file cannot be read or made, or (with
            `create`) no place for a key is configured.
    """
    env_key = os.environ.get(ENV, "").strip()
    if env_key:
        return SecretBox(env_key.encode(), ENV)
    path = key_path()
    if path is None:
        where = "PostgreSQL 数据库的 webhook 密钥"
        if create:
            raise SecretKeyError(
                f"{where}：未配置；使用 PostgreSQL 时应设置 {ENV}（Fernet 密钥），"
                f"或设置 ZHIDA_DATA_DIR 指向存放 {KEY_FILE} 的目录"
            )
        return SecretBox(None, where)
    where = f"密钥文件 {path}"
    key = _create(path) if create else _read(path)
    return SecretBox(key, where, path=path)
