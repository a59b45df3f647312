"""Users and roles as rows: add, grant, read, list, and the workflow `Actor` of a user.

A person is one user (name unique) holding one or more roles, at most one of each
(`store.tables.users`). The roles are `ROLES` — the claims issue's list: `village`,
`township`, `county`, `department`, `enterprise`, `policy_writer`, `supervisor`. The workflow
file (`policies/workflow.yaml`) also names `household` (a household acts through its village
operator, or later through the API) and `system` (zhida itself): neither is a user role.

Each role holds a region at one level, checked as a GB/T 2260 / NBS code
(`matcher.profiles.identifiers.parse_region_code`) of the level's length:

| role | region | also |
|---|---|---|
| village | 12 digits (村/社区) | |
| township | 9 digits (乡镇/街道) | |
| county, supervisor, policy_writer | 6 digits (县) | |
| department | 6 digits (县) | `department`, required (and refused for every other role) |
| enterprise | 6 or 12 digits; default: the credit code's digits 3–8 | `subject_key` |

`actor_of` turns a user (and the role they act in) into `rules.workflow.Actor`. The actor's
`user` is the person's name, the same whichever role they act in, so separation of duties
(which compares `Actor.user`) holds across a person's roles. For an `enterprise` role the
actor's `user` is the credit code it acts for: the workflow lets a subject act on its own
claim when `actor.user == claim_subject`, and the claims store passes the credit code as the
claim's subject; the audit names the person from the user row. Every refusal is a `UserError`
in Chinese naming the option, what was found and what was expected.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from matcher.profiles.identifiers import IdentifierError, parse_region_code, parse_uscc
from rules.errors import ZhidaError
from rules.workflow import Actor
from store.tables.types import utcnow
from store.tables.users import UserAccount, UserRole

__all__ = [
    "ROLES",
    "RoleSpec",
    "User",
    "UserError",
    "UserRoleView",
    "actor_of",
    "add_user",
    "disable_user",
    "get_user",
    "grant_role",
    "list_users",
]


@dataclass(frozen=True)
class RoleSpec:
    """A user role: its Chinese label and the digits of its region code (None: enterprise)."""

    label: str
    digits: int | None


ROLES: dict[str, RoleSpec] = {
    "village": RoleSpec("村（社区）代办员", 12),
    "township": RoleSpec("乡镇（街道）审核员", 9),
    "county": RoleSpec("县级管理员", 6),
    "department": RoleSpec("县级部门审批员", 6),
    "enterprise": RoleSpec("企业（申领人）", None),
    "policy_writer": RoleSpec("政策编写员", 6),
    "supervisor": RoleSpec("督查员", 6),
}
_LEVELS = {12: "村级", 9: "乡级", 6: "县级"}
_NAME = re.compile(r"[^\s\x00-\x1f\x7f]{1,64}")


class UserError(ZhidaError):
    """Raised when a user or role cannot be added, found or used; the message says why."""


@dataclass(frozen=True)
class UserRoleView:
    """One role of one user, as listed."""

    name: str
    role: str
    region_code: str | None
    department: str | None
    subject_key: str | None
    created_at: datetime
    disabled_at: datetime | None

    @property
    def label(self) -> str:
        """The role's Chinese label."""
        spec = ROLES.get(self.role)
        return spec.label if spec else self.role


@dataclass(frozen=True)
class User:
    """A person and every role they hold."""

    id: int
    name: str
    roles: tuple[UserRoleView, ...]
    created_at: datetime
    disabled_at: datetime | None
    has_password: bool

    def role(self, role: str) -> UserRoleView | None:
        """The user's grant of `role`, or None."""
        return next((r for r in self.roles if r.role == role), None)


def _roles_text() -> str:
    return " | ".join(ROLES)


def _check_name(name: str) -> str:
    name = name.strip()
    if not _NAME.fullmatch(name):
        raise UserError(
            f"用户名 {name!r}：应为 1–64 个字符，不含空格和控制字符 (a name without spaces)"
        )
    return name


def _check_role(role: str) -> RoleSpec:
    spec = ROLES.get(role)
    if spec is None:
        raise UserError(f"--role {role!r}：没有这个角色；应为 {_roles_text()}")
    return spec


def _check_region(role: str, spec: RoleSpec, region: str | None, subject: str | None) -> str | None:
    label = f"角色 {role}（{spec.label}）"
    if spec.digits is None:  # enterprise: its own region, by default from its credit code
        if region is None:
            return _region_of_credit_code(subject)
        lengths: tuple[int, ...] = (6, 12)
        expected = "6 或 12 位区划代码（企业所在地）"
    else:
        lengths = (spec.digits,)
        expected = f"{spec.digits} 位{_LEVELS[spec.digits]}区划代码"
        if region is None or not region.strip():
            raise UserError(f"--region：{label}须给出{expected}")
    try:
        return parse_region_code(region, lengths=lengths)
    except IdentifierError as exc:
        raise UserError(f"--region {region!r}：{label}应为{expected}（{exc.message}）") from None


def _region_of_credit_code(code: str | None) -> str | None:
    try:
        return parse_region_code((code or "")[2:8], lengths=(6,))
    except IdentifierError:
        return None


def _check_subject(role: str, subject: str | None) -> str | None:
    if role != "enterprise":
        if subject:
            raise UserError(f"--credit-code：只有 enterprise 角色代表企业，角色 {role} 不应给出")
        return None
    if not subject:
        raise UserError("--credit-code：enterprise 角色须给出所代表企业的 18 位统一社会信用代码")
    try:
        return parse_uscc(subject)
    except IdentifierError as exc:
        raise UserError(f"--credit-code {subject!r}：{exc.message}") from None


def _check_department(role: str, department: str | None) -> str | None:
    department = (department or "").strip() or None
    if role == "department" and department is None:
        raise UserError("--dept：department 角色须给出所在的县级部门名称（如 县民政局）")
    if role != "department" and department is not None:
        raise UserError(
            f"--dept {department!r}：只有 department 角色属于部门，角色 {role} 不应给出"
        )
    if department is not None and len(department) > 100:
        raise UserError(f"--dept：部门名称有 {len(department)} 个字符，应为至多 100 个")
    return department


def _role_row(
    user_id: int,
    role: str,
    region: str | None,
    department: str | None,
    subject_key: str | None,
) -> UserRole:
    spec = _check_role(role)
    subject = _check_subject(role, subject_key)
    return UserRole(
        user_id=user_id,
        role=role,
        region_code=_check_region(role, spec, region, subject),
        department=_check_department(role, department),
        subject_key=subject,
    )


def _account(session: Session, name: str) -> UserAccount | None:
    query = select(UserAccount).where(col(UserAccount.name) == name)
    return session.execute(query).scalars().first()


def add_user(
    *,
    session: Session,
    name: str,
    role: str,
    region: str | None = None,
    department: str | None = None,
    subject_key: str | None = None,
) -> User:
    """Add a person holding one role.

    Args:
        session: a write session.
        name: the user name (unique).
        role: one of `ROLES`.
        region: the region code at the role's level (optional for `enterprise`).
        department: the county department, for role `department` only.
        subject_key: the credit code an `enterprise` user acts for.

    Returns:
        The user as stored.

    Raises:
        UserError: a bad name, role, region, department or credit code, or the name is taken.
    """
    name = _check_name(name)
    row = _role_row(0, role, region, department, subject_key)  # checked before anything is stored
    if (taken := _account(session, name)) is not None:
        held = "、".join(r.role for r in _roles_of(session, taken))
        raise UserError(
            f"用户名 {name!r} 已存在（角色：{held or '无'}）；应为新的用户名——"
            f"给已有用户加角色用 zhida users grant {name} --role …"
        )
    account = UserAccount(name=name)
    session.add(account)
    try:
        session.flush()
    except IntegrityError:  # a concurrent add of the same name won the race
        raise UserError(f"用户名 {name!r} 已存在；应为新的用户名") from None
    assert account.id is not None
    row.user_id = account.id
    session.add(row)
    session.flush()
    found = get_user(session=session, name=name)
    assert found is not None
    return found


def grant_role(
    *,
    session: Session,
    name: str,
    role: str,
    region: str | None = None,
    department: str | None = None,
    subject_key: str | None = None,
) -> User:
    """Give an existing user one more role (one person, several levels: still one `user`).

    Args:
        session: a write session.
        name: an existing user's name.
        role: one of `ROLES`, not already held by the user.
        region: as for `add_user`.
        department: as for `add_user`.
        subject_key: as for `add_user`.

    Returns:
        The user with every role.

    Raises:
        UserError: the user is unknown, already holds the role, or a value is bad.
    """
    account = _existing(session, name)
    assert account.id is not None
    row = _role_row(account.id, role, region, department, subject_key)
    if any(r.role == role for r in _roles_of(session, account)):
        raise UserError(f"用户 {account.name} 已有角色 {role}；每个角色只能有一个（应为其他角色）")
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise UserError(f"用户 {account.name} 已有角色 {role}") from None
    found = get_user(session=session, name=account.name)
    assert found is not None
    return found


def disable_user(*, session: Session, name: str) -> None:
    """Disable a user: their rows stay (the audit names them), `actor_of` refuses them.

    Raises:
        UserError: the user is unknown.
    """
    account = _existing(session, name)
    if account.disabled_at is None:
        account.disabled_at = utcnow()
        session.add(account)
        session.flush()


def _existing(session: Session, name: str) -> UserAccount:
    account = _account(session, name.strip())
    if account is None:
        raise UserError(f"用户 {name!r} 不存在；应为 zhida users list 列出的用户名")
    return account


def _roles_of(session: Session, account: UserAccount) -> list[UserRole]:
    query = select(UserRole).where(col(UserRole.user_id) == account.id).order_by(col(UserRole.id))
    return list(session.execute(query).scalars().all())


def _view(account: UserAccount, row: UserRole) -> UserRoleView:
    return UserRoleView(
        name=account.name, role=row.role, region_code=row.region_code,
        department=row.department, subject_key=row.subject_key,
        created_at=row.created_at, disabled_at=account.disabled_at,
    )  # fmt: skip


def get_user(*, session: Session, name: str) -> User | None:
    """A user with every role they hold, or None when there is no such name."""
    account = _account(session, name.strip())
    if account is None or account.id is None:
        return None
    roles = tuple(_view(account, r) for r in _roles_of(session, account))
    return User(
        id=account.id, name=account.name, roles=roles, created_at=account.created_at,
        disabled_at=account.disabled_at, has_password=account.password_hash is not None,
    )  # fmt: skip


def list_users(
    *, session: Session, role: str | None = None, region: str | None = None
) -> Sequence[UserRoleView]:
    """Every role of every user, by name then role grant, filtered in SQL.

    Args:
        session: a session.
        role: only this role (one of `ROLES`).
        region: only roles whose region code starts with these digits (a county's 6 digits
            lists its townships', villages' and departments' users too).

    Returns:
        One row per (user, role).

    Raises:
        UserError: an unknown role, or a region prefix that is not 1–12 digits.
    """
    query = (
        select(UserAccount, UserRole)
        .join(UserRole, col(UserRole.user_id) == col(UserAccount.id))
        .order_by(col(UserAccount.name), col(UserRole.id))
    )
    if role is not None:
        _check_role(role)
        query = query.where(col(UserRole.role) == role)
    if region is not None:
        if not re.fullmatch(r"[0-9]{1,12}", region):
            raise UserError(f"--region {region!r}：应为区划代码的前 1–12 位数字（如 520602）")
        query = query.where(col(UserRole.region_code).startswith(region))
    return [_view(a, r) for a, r in session.execute(query).all()]


def actor_of(*, session: Session, name: str, role: str | None = None) -> Actor:
    """The workflow actor of a user acting in one of their roles.

    Args:
        session: a session.
        name: the user's name.
        role: the role they act in; may be left out when they hold exactly one.

    Returns:
        `Actor(user, role, region, department)`: `user` is the person's name for every role
        (so separation of duties sees one person across levels), except `enterprise`, where it
        is the credit code the user acts for (the claim's subject).

    Raises:
        UserError: an unknown or disabled user, a role they do not hold, or several roles and
            none chosen.
    """
    user = get_user(session=session, name=name)
    if user is None:
        raise UserError(f"用户 {name!r} 不存在；应为 zhida users list 列出的用户名")
    if user.disabled_at is not None:
        raise UserError(f"用户 {user.name} 已于 {user.disabled_at:%Y-%m-%d} 停用，不能再办理")
    held = " | ".join(r.role for r in user.roles)
    if role is None:
        if len(user.roles) != 1:
            raise UserError(f"用户 {user.name} 有多个角色（{held}）：应指明以哪个角色办理")
        grant = user.roles[0]
    else:
        found = user.role(role)
        if found is None:
            raise UserError(f"用户 {user.name} 没有角色 {role!r}；其角色为 {held or '无'}")
        grant = found
    who = grant.subject_key if grant.role == "enterprise" and grant.subject_key else user.name
    return Actor(
        user=who, role=grant.role, region=grant.region_code or "", department=grant.department
    )
