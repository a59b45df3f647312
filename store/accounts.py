"""Passwords and logins: argon2id hashes on `user_account.password_hash`, checked in constant time.

    set_password(session=s, name="cun01", password="…")      # zhida users passwd / add --password
    login = authenticate(session=s, name="cun01", password="…", role=None)

A password is 8–128 characters. `authenticate` answers `None` for an unknown name, a wrong
password, a disabled user and a user without a password alike (a login form must not tell
which names exist), and spends an argon2 verification on an unknown name too, so the answer's
timing does not tell either. A hash made with older argon2 parameters is rehashed on the next
good login (`PasswordHasher.check_needs_rehash`), in a write of its own: `log_in` verifies in a
read session, so a login never holds SQLite's write lock for the verification.
"""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from store.db import read_session, write_session
from store.tables.users import UserAccount
from store.users import User, UserError, UserRoleView, get_user

__all__ = [
    "Login",
    "PASSWORD_MAX",
    "PASSWORD_MIN",
    "authenticate",
    "check_password",
    "log_in",
    "set_password",
]

PASSWORD_MIN = 8
PASSWORD_MAX = 128
_HASHER = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) parameters
_DUMMY = _HASHER.hash("zhida: a name that does not exist")  # verified against on unknown names


@dataclass(frozen=True)
class Login:
    """A user who gave the right password, and the one role they act in."""

    user: User
    role: UserRoleView
    rehash: bool = False  # the stored hash was made with older argon2 parameters


def check_password(password: str) -> str:
    """`password`, or a UserError naming what is wrong with it."""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise UserError(f"密码有 {len(password)} 个字符：应为 {PASSWORD_MIN}–{PASSWORD_MAX} 个字符")
    if password.strip() != password:
        raise UserError("密码首尾有空格：应去掉首尾空格（首尾空格常是复制粘贴带入的）")
    return password


def set_password(*, session: Session, name: str, password: str) -> User:
    """Set a user's password (hashed with argon2id); a UserError for an unknown name or a bad
    password."""
    check_password(password)
    account = (
        session.execute(select(UserAccount).where(col(UserAccount.name) == name.strip()))
        .scalars()
        .first()
    )
    if account is None:
        raise UserError(f"用户 {name!r} 不存在；应为 zhida users list 列出的用户名")
    account.password_hash = _HASHER.hash(password)
    session.add(account)
    session.flush()
    found = get_user(session=session, name=account.name)
    assert found is not None
    return found


def _verified(account: UserAccount | None, password: str) -> bool:
    stored = account.password_hash if account is not None else None
    try:
        return _HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def authenticate(*, session: Session, name: str, password: str, role: str | None) -> Login | None:
    """The login of `name` acting in `role` (None: their only role), or None; reads only (a
    read session will do: `log_in` rehashes an outdated hash in a write of its own).

    None for every failure a stranger could learn from (unknown name, wrong password, no
    password set, disabled); a UserError only once the password is right, when the role is
    missing or not held (the message then lists the user's own roles).
    """
    account = (
        session.execute(select(UserAccount).where(col(UserAccount.name) == name.strip()))
        .scalars()
        .first()
    )
    if not _verified(account, password) or account is None or account.disabled_at is not None:
        return None
    user = get_user(session=session, name=account.name)
    assert user is not None
    held = " | ".join(r.role for r in user.roles)
    if role is None:
        if len(user.roles) != 1:
            raise UserError(
                f"用户 {user.name} 有多个角色（{held}）：应在 role 中指明以哪个角色登录"
            )
        return Login(user, user.roles[0], _outdated(account))
    grant = user.role(role)
    if grant is None:
        raise UserError(f"用户 {user.name} 没有角色 {role!r}：其角色为 {held or '无'}")
    return Login(user, grant, _outdated(account))


def _outdated(account: UserAccount) -> bool:
    return account.password_hash is not None and _HASHER.check_needs_rehash(account.password_hash)


def log_in(engine: Engine, *, name: str, password: str, role: str | None) -> Login | None:
    """`authenticate` in a read session — the argon2 verification never holds the write lock
    (SQLite has one) — then, only for a hash made with older parameters, the rehash in a write
    of its own."""
    with read_session(engine) as session:
        done = authenticate(session=session, name=name, password=password, role=role)
    if done is not None and done.rehash:
        with write_session(engine) as session:
            set_password(session=session, name=done.user.name, password=password)
    return done
