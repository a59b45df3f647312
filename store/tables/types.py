"""Column types shared by the tables: JSON (JSONB on PostgreSQL), money, UTC timestamps."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, Numeric
from sqlalchemy.dialects.postgresql import JSONB

__all__ = ["JSONType", "Money", "UTCDateTime", "utcnow"]

JSONType = JSON().with_variant(JSONB(), "postgresql")
# Yuan to the fen, read back as Decimal: amounts are rounded once, to 0.01 ROUND_HALF_UP, before
# they are stored. SQLite keeps them as REAL and SQLAlchemy formats them back with 2 places, which
# is exact for the 14 digits this column holds (a double carries 15).
Money = Numeric(14, 2, asdecimal=True)
UTCDateTime = DateTime(timezone=True)


def utcnow() -> datetime:
    """Now, in UTC (every timestamp we store is UTC)."""
    return datetime.now(UTC)
