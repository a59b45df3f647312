"""Users and roles: a person (`user_account`) and each role they hold (`user_role`).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 04:15:00

- `user_account`: one row per person (name unique), `password_hash` left NULL until the API
  issue sets passwords, `disabled_at` NULL while active.
- `user_role`: one row per role a person holds (unique per user and role): the region code at
  the role's level, the department for role `department`, the credit code an `enterprise`
  user acts for (`subject_key`).
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TEXT = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "user_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", _TEXT(length=64), nullable=False),
        sa.Column("password_hash", _TEXT(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", name="uq_user_account_name"),
    )
    op.create_table(
        "user_role",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", _TEXT(length=32), nullable=False),
        sa.Column("region_code", _TEXT(length=12), nullable=True),
        sa.Column("department", _TEXT(length=100), nullable=True),
        sa.Column("subject_key", _TEXT(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "role", name="uq_user_role"),
    )
    op.create_index("ix_user_role_region", "user_role", ["region_code"])


def downgrade() -> None:
    op.drop_index("ix_user_role_region", table_name="user_role")
    op.drop_table("user_role")
    op.drop_table("user_account")
