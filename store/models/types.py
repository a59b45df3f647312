"""Column types shared by the tables: JSON (JSONB on PostgreSQL), money, UTC timestamps."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, Numeric
from sqlalchemy.dialects.postgresql import JSONB

__all__ = ["JSONType", "Money", "UTCDateTime", "utcnow"]

JSONType = JSON().with_variant(JSONB(), "postgresql")
Money = Numeric(14, 2, asdecimal=False)  # yuan, to the fen; read back as float
UTCDateTime = DateTime(timezone=True)


def utcnow() -> datetime:
    """Now, in UTC (every timestamp we store is UTC)."""
    return datetime.now(UTC)
