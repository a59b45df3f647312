"""Column types shared by the tables: JSON (JSONB on PostgreSQL), money, UTC timestamps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Numeric, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB

__all__ = ["JSONType", "Money", "UTCDateTime", "utcnow"]

JSONType = JSON().with_variant(JSONB(), "postgresql")
# Yuan to the fen, read back as Decimal: amounts are rounded once, to 0.01 ROUND_HALF_UP, before
# they are stored. SQLite keeps them as REAL and SQLAlchemy formats them back with 2 places, which
# is exact for the 14 digits this column holds (a double carries 15).
Money = Numeric(14, 2, asdecimal=True)


class _UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and read back aware on both databases: PostgreSQL's
    `timestamptz` is; SQLite keeps the text without its zone, so its values get UTC back."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value  # type: ignore[no-any-return]


UTCDateTime = _UTCDateTime()


def utcnow() -> datetime:
    """Now, in UTC (every timestamp we store is UTC)."""
    return datetime.now(UTC)
