"""Entitlements as validity intervals; change keys with their run; abandoned runs; import dates.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 10:00:00

- `entitlement` was one row per (subject, policy, catalogue version, on-date): a daily sweep
  copied every row. It becomes one row per validity interval (`valid_from`, `valid_to`
  exclusive, NULL = open). The old rows are folded, per (subject, policy) in date order:
  consecutive rows with the same result (status, amount, verdicts, missing facts, dropped-for,
  and the rule hash of the policy's file in the row's catalogue version) become one interval,
  which ends where the next different row starts. `inputs_hash` was not recorded before: NULL.
- `entitlement_current` is dropped: the open intervals are the current state. Its rows are the
  latest non-ineligible rows of `entitlement`, which the fold already turned into open
  intervals (the new unique index on open intervals would refuse two).
- `uq_entitlement_change_key` gains `sweep_run_id`, so a result that changes and changes back
  on one date keeps both transitions.
- `sweep_run.reason`, `import_run.reason` (a run can be `abandoned`) and `import_run.on_date`
  (NULL for runs before this revision: not recorded).

The rule hash is computed here as `store.sweep.history.rule_hash` does (a test checks they agree): a
migration keeps its own copy so that later changes to the application cannot change it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from itertools import groupby
from pathlib import PurePosixPath
from typing import Any

import sqlalchemy as sa
import sqlmodel
import yaml
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_BATCH = 5_000
_OLD = sa.table(
    "entitlement_0001",
    *(sa.column(n) for n in ("id", "subject_kind", "subject_id", "policy_id",
                             "catalogue_version_id", "status", "conditions", "dropped_for",
                             "sweep_run_id")),
    sa.column("on_date", sa.Date()),  # typed: SQLite hands back text otherwise
    sa.column("amount", sa.Numeric(14, 2)),
    sa.column("missing", _JSON),
)  # fmt: skip
_VERSIONS = sa.table("catalogue_version", sa.column("id"), sa.column("files", _JSON))


def _rule_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _rule_hashes(connection: sa.Connection) -> dict[tuple[int, str], str]:
    """(catalogue version id, policy id) → rule hash, from the stored policy files."""
    out = {}
    for version_id, files in connection.execute(sa.select(_VERSIONS.c.id, _VERSIONS.c.files)):
        for path, text in files.items():
            where = PurePosixPath(path)
            if where.name == "facts.yaml" or where.parent.name == "bundles":
                continue
            data = yaml.safe_load(text)
            if isinstance(data, dict) and isinstance(data.get("id"), str):
                out[(version_id, data["id"])] = _rule_hash(text)
    return out


def _entitlement_table() -> None:
    op.create_table(
        "entitlement",
        sa.Column("subject_kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("catalogue_version_id", sa.Integer(), nullable=False),
        sa.Column("rule_hash", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("conditions", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("missing", _JSON, nullable=False),
        sa.Column("dropped_for", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("inputs_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("sweep_run_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["catalogue_version_id"], ["catalogue_version.id"]),
        sa.ForeignKeyConstraint(["sweep_run_id"], ["sweep_run.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "uq_entitlement_open",
        "entitlement",
        ["subject_kind", "subject_id", "policy_id"],
        unique=True,
        sqlite_where=sa.text("valid_to IS NULL"),
        postgresql_where=sa.text("valid_to IS NULL"),
    )
    op.create_index("ix_entitlement_subject", "entitlement", ["subject_kind", "subject_id"])


def _same(interval: dict[str, Any], row: dict[str, Any]) -> bool:
    """As the sweep decides it: equal results, or ineligible after ineligible."""
    if interval["status"] == row["status"] == "ineligible":
        return True
    keys = ("status", "amount", "conditions", "missing", "dropped_for", "rule_hash")
    return all(interval[k] == row[k] for k in keys)


def _fold(rows: Iterable[Any], hashes: dict[tuple[int, str], str]) -> Iterator[dict[str, Any]]:
    """Intervals from old rows ordered by (subject, policy, date, run, id)."""
    for _, group in groupby(rows, key=lambda r: (r.subject_kind, r.subject_id, r.policy_id)):
        interval: dict[str, Any] | None = None
        for r in group:
            row = {
                "subject_kind": r.subject_kind, "subject_id": r.subject_id,
                "policy_id": r.policy_id, "valid_from": r.on_date, "valid_to": None,
                "catalogue_version_id": r.catalogue_version_id,
                "rule_hash": hashes.get((r.catalogue_version_id, r.policy_id)),
                "status": r.status, "amount": r.amount, "conditions": r.conditions,
                "missing": list(r.missing), "dropped_for": r.dropped_for, "inputs_hash": None,
                "sweep_run_id": r.sweep_run_id,
            }  # fmt: skip
            if interval is not None and _same(interval, row):
                continue
            if interval is not None:
                interval["valid_to"] = r.on_date
                yield interval
            interval = row
        if interval is not None:
            yield interval


def _move_rows(connection: sa.Connection) -> None:
    new = sa.Table("entitlement", sa.MetaData(), autoload_with=connection)
    o = _OLD.c
    query = sa.select(_OLD).order_by(
        o.subject_kind, o.subject_id, o.policy_id, o.on_date,
        sa.func.coalesce(o.sweep_run_id, 0), o.id,
    )  # fmt: skip
    streamed = {"stream_results": True, "yield_per": _BATCH}  # this statement only
    rows = connection.execute(query, execution_options=streamed)
    batch: list[dict[str, Any]] = []
    for interval in _fold(rows, _rule_hashes(connection)):
        batch.append(interval)
        if len(batch) == _BATCH:
            connection.execute(new.insert(), batch)
            batch = []
    if batch:
        connection.execute(new.insert(), batch)


def upgrade() -> None:
    connection = op.get_bind()
    postgres = connection.dialect.name == "postgresql"
    for table in ("sweep_run", "import_run"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(
                sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True)
            )
    with op.batch_alter_table("import_run") as batch_op:
        batch_op.add_column(sa.Column("on_date", sa.Date(), nullable=True))
    with op.batch_alter_table("entitlement_change") as batch_op:
        batch_op.drop_constraint("uq_entitlement_change_key", type_="unique")
        batch_op.create_unique_constraint(
            "uq_entitlement_change_key",
            ["subject_kind", "subject_id", "policy_id", "catalogue_version_id", "on_date",
             "sweep_run_id"],
        )  # fmt: skip

    op.drop_index("ix_entitlement_sweep_run_id", table_name="entitlement")
    op.rename_table("entitlement", "entitlement_0001")
    if postgres:  # index and sequence names are per schema: free them for the new table
        op.execute("ALTER INDEX entitlement_pkey RENAME TO entitlement_0001_pkey")
        op.execute("ALTER SEQUENCE entitlement_id_seq RENAME TO entitlement_0001_id_seq")
    _entitlement_table()
    _move_rows(connection)
    op.drop_table("entitlement_0001")
    op.drop_table("entitlement_current")


def downgrade() -> None:
    raise NotImplementedError(
        "0002 cannot be undone without losing history: the intervals have no one-row-per-date "
        "form. Restore the backup taken before upgrading instead."
    )
