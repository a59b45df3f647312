"""Users and the roles they hold: `user_account` (a person) and `user_role` (one role each).

A person is one `user_account` row (name unique); each role they hold is one `user_role` row
(at most one per role), so one person holding a village and a township role is one user with
two roles, and the workflow's separation of duties (which compares `Actor.user`) sees the same
person whichever role they act in (docs/claims.md, "Users and roles").

- `user_account`: the name people log in with, `password_hash` (filled by the API issue; NULL
  until then), when created, when disabled (NULL: active).
- `user_role`: the role (`store.users.ROLES`), the region code at the role's level (village 12
  digits, township 9, county/department/supervisor/policy_writer 6; an enterprise's comes from
  its credit code), the department (only for role `department`), the subject it acts for
  (`subject_key`: an enterprise user's credit code), when granted.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from store.tables.types import UTCDateTime, utcnow

__all__ = ["UserAccount", "UserRole"]


class UserAccount(SQLModel, table=True):
    """A person who uses zhida (one row whatever roles they hold)."""

    __tablename__ = "user_account"
    __table_args__ = (UniqueConstraint("name", name="uq_user_account_name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    password_hash: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class UserRole(SQLModel, table=True):
    """One role a user holds, with its region (and department, or the subject it acts for)."""

    __tablename__ = "user_role"
    __table_args__ = (
        UniqueConstraint("user_id", "role", name="uq_user_role"),
        Index("ix_user_role_region", "region_code"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id")
    role: str = Field(max_length=32)
    region_code: str | None = Field(default=None, max_length=12)
    department: str | None = Field(default=None, max_length=100)
    subject_key: str | None = Field(default=None, max_length=64)  # an enterprise's credit code
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
