"""Masking ID numbers on the way out: logs, errors, audit text, exports (RELIABILITY P1).

One pattern (`ID_SHAPE`) says what is ID-shaped, valid or not, and one function (`mask_id`)
says how it is shown; everything that writes text for people goes through them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["ID_SHAPE", "mask_id", "mask_ids_in_data", "mask_ids_in_text"]

_X = "Xx\uff38\uff58"  # an ID's check character, full-width too
ID_SHAPE = re.compile(
    rf"""
    (?<![0-9A-Za-z])(?=[0-9]*[A-Fa-f])[0-9A-Fa-f]{{16,}}(?![0-9A-Za-z])  # hex word: no ID
    | (?P<id>
        (?<!\d)                         # a whole run of digits, never the tail of one
        (?!\d{{16}}(?![\d{_X}]))         # but not 16 digits alone: a household number
        \d{{15,}}[{_X}]?                 # 15 digits, or 17 and more, maybe ending in X
    )(?!\d)
    """,
    re.VERBOSE,
)
"""What logs, errors, audit text and exports never show in full (RELIABILITY P1).

A match whose `id` group is set is *ID-shaped*, valid or not: a maximal run of 15 or of 17
and more digits (`\\d` is any Unicode digit, so full-width digits count), with an optional
`X`/`x` at its end; so are 16 digits followed by an X. That covers 18-character IDs whatever
their check digit, province or birth date, 15-digit first-generation IDs, mistyped IDs with
a digit dropped or added, and bank-card numbers of 17–19 digits (financial accounts are
sensitive too, PIPL Art. 28); an all-digit unified social credit code is masked with them.
Runs of exactly 16 digits (household numbers, 户编号) and of 14 or fewer (region codes,
phone numbers) are left alone.
A hexadecimal word of 16 characters or more with a letter a–f (a digest, a catalogue version,
a token) matches without `id`, so a run of digits inside one is never taken for an ID.
"""


def mask_id(value: str) -> str:
    """Mask an identifier for logs, exports and responses: `110***********002X`.

    Keeps the first 3 characters and the last 4 (an 18-character ID's sequence code and check
    digit); of 15 characters (a first-generation ID) the last 3, its sequence code, so that
    no digit of the birth date shows either way. Values under 8 characters are masked whole.

    Args:
        value: the identifier.

    Returns:
        The masked text, of the same length.
    """
    if len(value) < 8:
        return "*" * len(value)
    tail = 3 if len(value) == 15 else 4
    return value[:3] + "*" * (len(value) - 3 - tail) + value[-tail:]


def _mask_match(match: re.Match[str]) -> str:
    number = match["id"]
    return match[0] if number is None else mask_id(number)


def mask_ids_in_text(text: str) -> str:
    """Mask everything ID-shaped in free text (`ID_SHAPE`), valid check digit or not.

    A mistyped ID number is what an import refuses and then reports, so validity does not
    matter; a longer run of digits hiding an ID is masked whole, as `mask_id` would.

    Args:
        text: any text (log lines, error messages, audit details, exports).

    Returns:
        The text with the middle of each ID-shaped run replaced by `*`, characters (full-width
        digits, a lower-case `x`) otherwise kept as they were.
    """
    return ID_SHAPE.sub(_mask_match, text)


def mask_ids_in_data(value: Any) -> Any:
    """`mask_ids_in_text` over JSON-like data: every string and key, nested, masked.

    An int of 15 digits or more that is ID-shaped (an ID number that arrived as a number)
    becomes its masked text; other values are returned as they are.

    Args:
        value: a string, number, mapping, list or tuple, or anything else (left alone).

    Returns:
        The same data with everything ID-shaped masked (mappings as dicts, tuples as lists).
    """
    if isinstance(value, str):
        return mask_ids_in_text(value)
    if isinstance(value, Mapping):
        return {mask_ids_in_data(k): mask_ids_in_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_ids_in_data(v) for v in value]
    if isinstance(value, int) and abs(value) >= 10**14:
        text = mask_ids_in_text(str(value))
        return value if text == str(value) else text
    return value
