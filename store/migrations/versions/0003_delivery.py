"""Delivery: subscriptions, one delivery per (notice, subscription), every attempt; the
outbox's drain columns.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 03:00:00

- `subscription`: who wants to hear about which subject, on which channel (webhook, e-mail,
  SMS), with the webhook secret encrypted at rest and the state (active / disabled + reason).
- `delivery`: a notice to one subscription, with its own state, attempts and due time.
- `delivery_attempt`: every try, with its time, status code or error, and latency.
- `outbox` gains `next_attempt_at`, `locked_until` (a drainer's lease), `last_error` and
  `finished_at`; rows queued before this revision are due at once.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TEXT = sqlmodel.sql.sqltypes.AutoString


def _subscription() -> None:
    op.create_table(
        "subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_kind", _TEXT(length=16), nullable=False),
        sa.Column("subject_key", _TEXT(length=64), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("channel", _TEXT(length=16), nullable=False),
        sa.Column("target", _TEXT(length=500), nullable=False),
        sa.Column("secret", _TEXT(length=500), nullable=True),
        sa.Column("previous_secret", _TEXT(length=500), nullable=True),
        sa.Column("previous_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", _TEXT(length=16), nullable=False),
        sa.Column("reason", _TEXT(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_subscription_subject", "subscription", ["subject_kind", "subject_id"])
    op.create_index("ix_subscription_key", "subscription", ["subject_kind", "subject_key"])


def _delivery() -> None:
    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("channel", _TEXT(length=16), nullable=False),
        sa.Column("on_behalf", _TEXT(length=16), nullable=False),
        sa.Column("state", _TEXT(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", _TEXT(length=300), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"]),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscription.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("outbox_id", "subscription_id", name="uq_delivery_notice_subscription"),
    )
    op.create_index("ix_delivery_outbox_id", "delivery", ["outbox_id"])
    op.create_index("ix_delivery_subscription_id", "delivery", ["subscription_id"])


def _attempt() -> None:
    op.create_table(
        "delivery_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("channel", _TEXT(length=16), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", _TEXT(length=300), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("outcome", _TEXT(length=16), nullable=False),
        sa.ForeignKeyConstraint(["delivery_id"], ["delivery.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_delivery_attempt_delivery_id", "delivery_attempt", ["delivery_id"])
    op.create_index("ix_delivery_attempt_outbox_id", "delivery_attempt", ["outbox_id"])


def upgrade() -> None:
    _subscription()
    _delivery()
    _attempt()
    with op.batch_alter_table("outbox") as batch_op:
        for name in ("next_attempt_at", "locked_until", "finished_at"):
            batch_op.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_error", _TEXT(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        for name in ("next_attempt_at", "locked_until", "last_error", "finished_at"):
            batch_op.drop_column(name)
    op.drop_table("delivery_attempt")
    op.drop_table("delivery")
    op.drop_table("subscription")
