"""Identifiers built a whole column at a time (numpy): resident ID numbers and credit codes.

The same algorithms as `matcher.profiles.identifiers` (GB 11643 MOD 11-2, GB 32100 MOD 31, GB
11714), written over arrays so a synthetic population of millions gets valid codes in a second.
`tests/synth/test_population.py` checks every generated code with the scalar parsers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.profiles.identifiers import USCC_ALPHABET

__all__ = ["Array", "date_parts", "digits", "ric_numbers", "uscc_codes"]

Array = npt.NDArray[Any]
_RIC_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
_RIC_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)  # indexed by sum % 11
_USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)
_USCC_BYTES = np.frombuffer(USCC_ALPHABET.encode(), dtype=np.uint8)
_ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ORG_CHECK = np.frombuffer(b"0123456789X0", dtype=np.uint8)  # indexed by 11 - sum % 11
_ASCII_ZERO = 48


def digits(values: Array, width: int) -> Array:
    """The decimal digits of integers as an (n, width) array, most significant first."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (np.asarray(values, dtype=np.int64)[:, None] // powers) % 10


def date_parts(days: Array) -> tuple[Array, Array, Array]:
    """Year, month and day of `datetime64[D]` values."""
    years = days.astype("datetime64[Y]")
    months = days.astype("datetime64[M]")
    year = years.astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def _text(matrix: Array) -> Array:
    """An (n, k) matrix of ASCII codes as an array of k-character strings."""
    n, width = matrix.shape
    raw = np.ascontiguousarray(matrix, dtype=np.uint8).view(f"S{width}").reshape(n)
    return raw.astype(f"U{width}")


def ric_numbers(region: Array, birth: Array, seq: Array) -> Array:
    """18-character resident ID numbers with their check digits.

    Args:
        region: 6-digit region codes (strings).
        birth: birth dates (`datetime64[D]`).
        seq: 3-digit sequence codes (0–999; odd for men, even for women).

    Returns:
        An array of `U18` strings.
    """
    n = len(region)
    year, month, day = date_parts(birth)
    body = np.empty((n, 17), dtype=np.int64)
    body[:, :6] = np.asarray(region, dtype="S6").view(np.uint8).reshape(n, 6) - _ASCII_ZERO
    body[:, 6:14] = digits(year * 10_000 + month * 100 + day, 8)
    body[:, 14:] = digits(seq, 3)
    matrix = np.empty((n, 18), dtype=np.uint8)
    matrix[:, :17] = body + _ASCII_ZERO
    matrix[:, 17] = _RIC_CHECK[(body @ _RIC_WEIGHTS) % 11]
    return _text(matrix)


def uscc_codes(prefix: Array, region: Array, org_serial: Array) -> Array:
    """18-character unified social credit codes (GB 32100) with both check characters.

    Args:
        prefix: two characters each (registration authority and entity type), e.g. "91".
        region: 6-digit region codes.
        org_serial: the 8-digit organisation code body as integers (0–99,999,999).

    Returns:
        An array of `U18` strings.
    """
    n = len(region)
    lookup = np.full(128, -1, dtype=np.int64)
    lookup[_USCC_BYTES] = np.arange(len(USCC_ALPHABET))
    org = digits(org_serial, 8)
    org_check = _ORG_CHECK[11 - (org @ _ORG_WEIGHTS) % 11]
    matrix = np.empty((n, 18), dtype=np.uint8)
    matrix[:, :2] = np.asarray(prefix, dtype="S2").view(np.uint8).reshape(n, 2)
    matrix[:, 2:8] = np.asarray(region, dtype="S6").view(np.uint8).reshape(n, 6)
    matrix[:, 8:16] = org + _ASCII_ZERO
    matrix[:, 16] = org_check
    values = lookup[matrix[:, :17]]
    matrix[:, 17] = _USCC_BYTES[(31 - (values @ _USCC_WEIGHTS) % 31) % 31]
    return _text(matrix)
