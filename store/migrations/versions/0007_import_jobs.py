"""Import jobs: sheets uploaded through the API and imported by the server's worker.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 09:00:00

- `import_job`: see `store/tables/import_jobs.py`.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_TEXT = sqlmodel.sql.sqltypes.AutoString
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "import_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", _TEXT(length=16), nullable=False),
        sa.Column("state", _TEXT(length=16), nullable=False),
        sa.Column("uploader", _TEXT(length=64), nullable=False),
        sa.Column("role", _TEXT(length=24), nullable=False),
        sa.Column("region", _TEXT(length=12), nullable=False),
        sa.Column("file_name", _TEXT(length=300), nullable=False),
        sa.Column("suffix", _TEXT(length=16), nullable=False),
        sa.Column("file_sha256", _TEXT(length=64), nullable=False),
        sa.Column("file_bytes", sa.Integer(), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=True),
        sa.Column("counts", _JSON, nullable=False),
        sa.Column("errors", _JSON, nullable=False),
        sa.Column("warnings", _JSON, nullable=False),
        sa.Column("reason", _TEXT(length=1000), nullable=True),
        sa.Column("import_run_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("started_at", _AT, nullable=True),
        sa.Column("finished_at", _AT, nullable=True),
        sa.ForeignKeyConstraint(["import_run_id"], ["import_run.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_import_job_state", "import_job", ["state"])
    op.create_index("ix_import_job_region", "import_job", ["region"])


def downgrade() -> None:
    op.drop_index("ix_import_job_region", table_name="import_job")
    op.drop_index("ix_import_job_state", table_name="import_job")
    op.drop_table("import_job")
