"""Claims: grants, prepared and bundle claims, their parts, steps, deadlines, idempotency keys.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 05:20:00

- `claim`, `claim_part`, `claim_step`, `claim_deadline`, `idempotency_key`: see
  `store/tables/claims.py`.
- `outbox.change_id` becomes nullable and `outbox.claim_id` is added: a claim's own notices
  (a step's reminder, an overdue step's escalation) come from no entitlement change.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TEXT = sqlmodel.sql.sqltypes.AutoString
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "claim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", _TEXT(length=16), nullable=False),
        sa.Column("subject_kind", _TEXT(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("subject_key", _TEXT(length=64), nullable=False),
        sa.Column("region", _TEXT(length=12), nullable=False),
        sa.Column("bundle_id", _TEXT(length=120), nullable=True),
        sa.Column("title", _TEXT(length=300), nullable=False),
        sa.Column("state", _TEXT(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("entered_on", sa.Date(), nullable=False),
        sa.Column("eligible_on", sa.Date(), nullable=False),
        sa.Column("origin", _TEXT(length=200), nullable=False),
        sa.Column("form", _JSON, nullable=False),
        sa.Column("materials", _JSON, nullable=False),
        sa.Column("catalogue_version_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("updated_at", _AT, nullable=False),
        sa.ForeignKeyConstraint(["catalogue_version_id"], ["catalogue_version.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("origin", name="uq_claim_origin"),
    )
    op.create_index("ix_claim_region_state", "claim", ["region", "state"])
    op.create_index("ix_claim_subject", "claim", ["subject_kind", "subject_id"])
    op.create_table(
        "claim_part",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("department", _TEXT(length=120), nullable=False),
        sa.Column("state", _TEXT(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("entered_on", sa.Date(), nullable=False),
        sa.Column("sections", _JSON, nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("payment_ref", _TEXT(length=120), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("end_reason", _TEXT(length=500), nullable=True),
        sa.Column("updated_at", _AT, nullable=False),
        sa.ForeignKeyConstraint(["claim_id"], ["claim.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("claim_id", "department", name="uq_claim_part_department"),
    )
    op.create_index("ix_claim_part_claim_id", "claim_part", ["claim_id"])
    op.create_index("ix_claim_part_department_state", "claim_part", ["department", "state"])
    op.create_table(
        "claim_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("part_id", sa.Integer(), nullable=True),
        sa.Column("action", _TEXT(length=24), nullable=False),
        sa.Column("from_state", _TEXT(length=24), nullable=False),
        sa.Column("to_state", _TEXT(length=24), nullable=False),
        sa.Column("actor", _TEXT(length=64), nullable=False),
        sa.Column("person", _TEXT(length=64), nullable=True),
        sa.Column("role", _TEXT(length=24), nullable=False),
        sa.Column("region", _TEXT(length=12), nullable=False),
        sa.Column("department", _TEXT(length=120), nullable=True),
        sa.Column("on_behalf", sa.Boolean(), nullable=False),
        sa.Column("reason", _TEXT(length=500), nullable=True),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("idempotency_key", _TEXT(length=255), nullable=True),
        sa.Column("at", _AT, nullable=False),
        sa.ForeignKeyConstraint(["claim_id"], ["claim.id"]),
        sa.ForeignKeyConstraint(["part_id"], ["claim_part.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("claim_id", "idempotency_key", name="uq_claim_step_key"),
    )
    op.create_index("ix_claim_step_claim", "claim_step", ["claim_id"])
    op.create_table(
        "claim_deadline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("part_id", sa.Integer(), nullable=True),
        sa.Column("state", _TEXT(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("region", _TEXT(length=12), nullable=False),
        sa.Column("department", _TEXT(length=120), nullable=True),
        sa.Column("entered_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("remind_on", sa.Date(), nullable=False),
        sa.Column("reminded_at", _AT, nullable=True),
        sa.Column("escalated_at", _AT, nullable=True),
        sa.Column("done_at", _AT, nullable=True),
        sa.ForeignKeyConstraint(["claim_id"], ["claim.id"]),
        sa.ForeignKeyConstraint(["part_id"], ["claim_part.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_claim_deadline_open", "claim_deadline", ["done_at", "remind_on"])
    op.create_index("ix_claim_deadline_claim", "claim_deadline", ["claim_id"])
    op.create_table(
        "idempotency_key",
        sa.Column("key", _TEXT(length=255), nullable=False),
        sa.Column("scope", _TEXT(length=64), nullable=False),
        sa.Column("actor", _TEXT(length=64), nullable=False),
        sa.Column("request_hash", _TEXT(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("response", _JSON, nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("change_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("claim_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_outbox_claim_id", "claim", ["claim_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint("fk_outbox_claim_id", type_="foreignkey")
        batch_op.drop_column("claim_id")
        batch_op.alter_column("change_id", existing_type=sa.Integer(), nullable=False)
    op.drop_table("idempotency_key")
    op.drop_index("ix_claim_deadline_claim", table_name="claim_deadline")
    op.drop_index("ix_claim_deadline_open", table_name="claim_deadline")
    op.drop_table("claim_deadline")
    op.drop_index("ix_claim_step_claim", table_name="claim_step")
    op.drop_table("claim_step")
    op.drop_index("ix_claim_part_department_state", table_name="claim_part")
    op.drop_index("ix_claim_part_claim_id", table_name="claim_part")
    op.drop_table("claim_part")
    op.drop_index("ix_claim_subject", table_name="claim")
    op.drop_index("ix_claim_region_state", table_name="claim")
    op.drop_table("claim")
