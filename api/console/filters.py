"""What the templates format with: money to the fen, days, masked IDs, plain labels.

Registered on the Jinja environment by `install` (the console's `engine_callback`). Amounts
arrive as the API gives them (a Decimal or its string, already rounded once to the fen) and
are only formatted here — grouped by thousands, never rounded again.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from api.console.charts import bars
from matcher.profiles.masking import mask_id, mask_ids_in_text

__all__ = ["day", "install", "money"]


def money(value: Any) -> str:
    """`1234.5` → `1,234.50`; not an amount → itself (empty for None)."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if not amount.is_finite():
        return str(value)
    return f"{amount:,.2f}"


def day(value: Any) -> str:
    """A date as `2025-03-01`, a time as `2025-03-01 14:05` (UTC+8, how the county reads it)."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        from zoneinfo import ZoneInfo

        shown = value.astimezone(ZoneInfo("Asia/Shanghai")) if value.tzinfo else value
        return shown.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def install(engine: Any) -> None:
    """Register the filters and globals on the console's Jinja engine."""
    env = engine.engine
    env.filters["money"] = money
    env.filters["day"] = day
    env.filters["mask_id"] = mask_id
    env.filters["masked"] = mask_ids_in_text
    env.globals["bars"] = bars
    env.trim_blocks = True
    env.lstrip_blocks = True
