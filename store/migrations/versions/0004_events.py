"""The live event path: events, deadlines, and the event that wrote an entitlement row.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 03:00:00

- `event`: one event of one subject (what the reactions did in `actions`).
- `deadline`: an event due on a date, fired once by the due-deadline job.
- `entitlement.event_id`, `entitlement_change.event_id`: the event that opened an interval or
  wrote a change (instead of a sweep run); `entitlement_change.effective_on`: when a change
  takes effect, if later than its date. `uq_entitlement_change_event` keeps one change per
  (subject, policy, event).
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_TEXT = sqlmodel.sql.sqltypes.AutoString
_BY_EVENT = sa.text("event_id IS NOT NULL")


def _event_table() -> None:
    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_kind", _TEXT(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("name", _TEXT(length=64), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("attributes", _JSON, nullable=False),
        sa.Column("source", _TEXT(length=300), nullable=False),
        sa.Column("profile_change_id", sa.Integer(), nullable=True),
        sa.Column("actions", _JSON, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["profile_change_id"], ["profile_change.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_event_subject", "event", ["subject_kind", "subject_id"])


def _deadline_table() -> None:
    op.create_table(
        "deadline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_kind", _TEXT(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("event_name", _TEXT(length=64), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("details", _JSON, nullable=False),
        sa.Column("state", _TEXT(length=16), nullable=False),
        sa.Column("fired_event_id", sa.Integer(), nullable=True),
        sa.Column("created_by_event_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["fired_event_id"], ["event.id"]),
        sa.ForeignKeyConstraint(["created_by_event_id"], ["event.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "subject_kind", "subject_id", "event_name", "due_on", name="uq_deadline_key"
        ),
    )
    op.create_index("ix_deadline_state_due", "deadline", ["state", "due_on"])


def upgrade() -> None:
    _event_table()
    _deadline_table()
    with op.batch_alter_table("entitlement") as batch_op:
        batch_op.add_column(sa.Column("event_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_entitlement_event_id", "event", ["event_id"], ["id"])
    with op.batch_alter_table("entitlement_change") as batch_op:
        batch_op.add_column(sa.Column("event_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("effective_on", sa.Date(), nullable=True))
        batch_op.create_foreign_key("fk_entitlement_change_event_id", "event", ["event_id"], ["id"])
    op.create_index(
        "uq_entitlement_change_event",
        "entitlement_change",
        ["event_id", "subject_kind", "subject_id", "policy_id"],  # by event first: read back
        unique=True,
        sqlite_where=_BY_EVENT,
        postgresql_where=_BY_EVENT,
    )


def downgrade() -> None:
    op.drop_index("uq_entitlement_change_event", table_name="entitlement_change")
    with op.batch_alter_table("entitlement_change") as batch_op:
        batch_op.drop_constraint("fk_entitlement_change_event_id", type_="foreignkey")
        batch_op.drop_column("effective_on")
        batch_op.drop_column("event_id")
    with op.batch_alter_table("entitlement") as batch_op:
        batch_op.drop_constraint("fk_entitlement_event_id", type_="foreignkey")
        batch_op.drop_column("event_id")
    op.drop_table("deadline")
    op.drop_table("event")
