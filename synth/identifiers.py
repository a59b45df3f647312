"""Test helpers shipped with the code: valid identifiers for fixtures.

    >>> make_ric(region="520602", birth=date(1980, 1, 1), seq=1)   # check digit computed
    '520602198001010010'
    >>> make_uscc(region="520602", seq=1)
    '915206020000000196'

Every helper checks its inputs and its result with the same parser production uses, so a
fixture built with them is valid by construction, and a bad argument fails loudly at once.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from matcher.profiles.identifiers import (
    USCC_ALPHABET,
    organisation_check_char,
    parse_region_code,
    parse_ric,
    parse_uscc,
    ric_check_digit,
    uscc_check_char,
)

__all__ = ["make_ric", "make_ric15", "make_uscc"]


def _sequence(seq: int, sex: Literal["male", "female"] | None) -> int:
    """The 3-digit sequence code: `seq`, or the next one up (down at 999) of the right parity."""
    if not 0 <= seq <= 999:
        raise ValueError(f"seq must be 0–999 (the 3-digit sequence code), got {seq}")
    if sex is None or (seq % 2 == 1) == (sex == "male"):
        return seq
    return seq + 1 if seq < 999 else seq - 1


def make_ric(
    region: str = "520602",
    birth: date = date(1980, 1, 1),
    seq: int = 1,
    sex: Literal["male", "female"] | None = None,
) -> str:
    """A valid 18-character resident ID number (GB 11643) for fixtures.

    Args:
        region: the 6-digit GB/T 2260 county code (its province prefix is checked).
        birth: the birth date encoded in digits 7–14.
        seq: the 3-digit sequence code (0–999); odd means male, even female. Give different
            `seq` values to make distinct people with the same region and birth date.
        sex: when given, overrides the parity: `seq` is used if it already has the right
            parity, else `seq + 1` (`998` for 999). So `seq=1, sex="female"` gives `002`;
            to keep people distinct, step `seq` by 2 when you pass `sex`.

    Returns:
        The ID number with its check digit (it may end in `X`).

    Raises:
        ValueError: for a bad region, a `seq` outside 0–999 or a year outside 1000–9999.
    """
    region = parse_region_code(region, lengths=(6,))
    body = f"{region}{birth:%Y%m%d}{_sequence(seq, sex):03d}"
    if len(body) != 17:
        raise ValueError(f"birth year must have 4 digits, got {birth.year}")
    number = body + ric_check_digit(body)
    return parse_ric(number, today=date.max).number


def make_ric15(
    region: str = "520602",
    birth: date = date(1960, 1, 1),
    seq: int = 1,
    sex: Literal["male", "female"] | None = None,
) -> str:
    """A valid 15-digit first-generation ID number (born 1900–1999; no check digit).

    Args:
        region: the 6-digit GB/T 2260 county code.
        birth: the birth date; the year must be 1900–1999.
        seq: the 3-digit sequence code, as for `make_ric`.
        sex: as for `make_ric`.

    Returns:
        15 digits; `parse_ric` turns them into `make_ric(region, birth, seq, sex)`.

    Raises:
        ValueError: for a birth year outside 1900–1999, or as `make_ric`.
    """
    if not 1900 <= birth.year <= 1999:
        raise ValueError(f"15-digit IDs encode years 1900–1999 only, got {birth.year}")
    full = make_ric(region, birth, seq, sex)
    return full[:6] + full[8:17]


def make_uscc(
    region: str = "520602",
    seq: int = 1,
    *,
    authority: str = "9",
    entity_type: str = "1",
    org: str | None = None,
) -> str:
    """A valid 18-character unified social credit code (GB 32100) for fixtures.

    Args:
        region: the 6-digit region code (positions 3–8); any digits, since national
            registrations use codes such as `100000`.
        seq: makes the organisation code `{seq:08d}` plus its GB 11714 check character, so
            different `seq` values give different enterprises. Ignored when `org` is given.
        authority: the registration authority (position 1), e.g. "9" (market regulation),
            "5" (civil affairs), "N" (agriculture: village collectives), "Y" (other).
        entity_type: the entity type (position 2), e.g. "1" (company).
        org: the organisation code, 8 characters (its check character is added) or 9.

    Returns:
        The code with its check character, upper case.

    Raises:
        ValueError: when an argument has characters outside the GB 32100 alphabet, a wrong
            length, or `seq` is outside 0–99,999,999.
    """
    if org is None:
        if not 0 <= seq < 10**8:
            raise ValueError(f"seq must be 0–99999999, got {seq}")
        org = f"{seq:08d}"
    if len(org) == 8:
        org += organisation_check_char(org)
    body = f"{authority}{entity_type}{region}{org}"
    if len(region) != 6 or not region.isascii() or not region.isdigit():
        raise ValueError(f"region must be 6 ASCII digits, got {region!r}")
    if len(body) != 17 or any(c not in USCC_ALPHABET for c in body):
        raise ValueError(
            f"authority and entity_type are 1 character, org 8 or 9, all from {USCC_ALPHABET}"
        )
    return parse_uscc(body + uscc_check_char(body))
