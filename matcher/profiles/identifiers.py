"""Identifiers checked on the way in: resident IDs, credit codes, region codes and names.

(Masking them on the way out is `matcher.profiles.masking`.)

Algorithms: RELIABILITY.md §3. Resident ID (GB 11643-1999, ISO 7064 MOD 11-2), unified social
credit code (GB 32100-2015, MOD 31; letters are allowed in positions 1–2, which python-stdnum
refuses, so the check is ours), region codes (GB/T 2260 and the 12-digit NBS statistical codes).
Every error says which part failed and what was expected, and never echoes a full ID number.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from operator import mul
from typing import Literal

from matcher.profiles.masking import mask_ids_in_text
from rules.errors import ZhidaError

__all__ = [
    "PROVINCES",
    "USCC_ALPHABET",
    "IdentifierError",
    "ResidentId",
    "normalise_name",
    "organisation_check_char",
    "parse_region_code",
    "parse_ric",
    "parse_uscc",
    "ric_check_digit",
    "uscc_check_char",
    "uscc_warnings",
]

PROVINCES: frozenset[str] = frozenset(
    f"{p:02d}"
    for lo, hi in ((11, 15), (21, 23), (31, 37), (41, 46), (50, 54), (61, 65), (71, 71), (81, 82))
    for p in range(lo, hi + 1)
)
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_RIC_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_LAST_RIC = frozenset("0123456789X")
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_VALUES = {c: i for i, c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")}
_DOTS = "\u00b7\u0387\u16eb\u2022\u2027\u2219\u22c5\u2e31\u30fb\u318d\ua78f\uff0e\uff65"
_DOT_TABLE = str.maketrans(dict.fromkeys(_DOTS, "\u00b7"))
_ASCII_DOT_IN_NAME = re.compile(r"(?<=[^\x00-\x7f])\.(?=[^\x00-\x7f])")
_REFUSED_IN_NAMES = (
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2069),
    (0xFEFF, 0xFEFF),
)


class IdentifierError(ZhidaError, ValueError):
    """Raised when an identifier or a name is malformed; says which part failed and why."""

    def __init__(self, message: str, part: str = "value") -> None:
        self.part = part
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class ResidentId:
    """A checked resident ID number (居民身份证号码) and what it encodes."""

    number: str
    birth_date: date
    sex: Literal["male", "female"]
    region: str


def _normalise_code(value: object, what: str) -> str:
    """NFKC (full-width → ASCII), strip and uppercase a code; refuse anything but text."""
    if not isinstance(value, str):
        kind = type(value).__name__
        raise IdentifierError(
            f"{what}应为文本，实际为 {kind}：数字会丢失位数，请按文本填写", "type"
        )
    if value.isascii():  # NFKC leaves ASCII as it is
        return value.strip().upper()
    return unicodedata.normalize("NFKC", value).strip().upper()


def _first_bad(value: str, allowed: str) -> tuple[int, str] | None:
    """The 1-based position and character of the first character not in `allowed`."""
    for i, char in enumerate(value, start=1):
        if char not in allowed:
            return i, char
    return None


# --- resident ID (GB 11643-1999) ---------------------------------------------------------


def ric_check_digit(body17: str) -> str:
    """The GB 11643 check digit (ISO 7064 MOD 11-2) of the first 17 digits.

    Args:
        body17: the 17 digits before the check digit.

    Returns:
        "0"–"9" or "X".
    """
    if len(body17) != 17 or not body17.isascii() or not body17.isdigit():
        raise IdentifierError("校验码之前应为 17 位数字", "body")
    total = sum(map(mul, map(int, body17), _RIC_WEIGHTS))
    check = (12 - total % 11) % 11
    return "X" if check == 10 else str(check)


def _ric_shape(number: str) -> str:
    """The 18-digit form of a 15- or 18-character ID, after checking its characters."""
    if len(number) == 15:
        bad = _first_bad(number, "0123456789")
        if bad:
            raise IdentifierError(
                f"第 {bad[0]} 位的字符 {bad[1]!r}：15 位身份证号只含数字",
                "characters",
            )
        body = number[:6] + "19" + number[6:]
        return body + ric_check_digit(body)
    if len(number) != 18:
        raise IdentifierError(
            f"应为 18 位（第一代身份证为 15 位），实际为 {len(number)} 位",
            "length",
        )
    if number.isascii() and number[:17].isdigit() and number[17] in _LAST_RIC:
        return number  # the common case, without looking for the first bad character
    bad = _first_bad(number[:17], "0123456789") or (
        (18, number[17]) if number[17] not in "0123456789X" else None
    )
    if bad:
        raise IdentifierError(
            f"第 {bad[0]} 位的字符 {bad[1]!r}：应为 17 位数字加一位数字或 X",
            "characters",
        )
    return number


def _ric_birth(number: str, today: date) -> date:
    """The birth date encoded in digits 7–14, refused if impossible or in the future."""
    text = number[6:14]
    try:
        born = date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise IdentifierError(
            f"出生日期（第 7–14 位）{text} 不是真实存在的日期（YYYYMMDD）", "birth_date"
        ) from None
    if born > today:
        raise IdentifierError(
            f"出生日期（第 7–14 位）{text} 晚于 {today.isoformat()}", "birth_date"
        )
    return born


def _check_province(code: str, part: str) -> None:
    if code[:2] not in PROVINCES:
        raise IdentifierError(
            f"省级代码（第 1–2 位）{code[:2]} 不是 GB/T 2260 的省份"
            "（11–15、21–23、31–37、41–46、50–54、61–65、71、81、82）",
            part,
        )


def parse_ric(value: str, *, today: date | None = None) -> ResidentId:
    """Check a resident ID number and decode it.

    Args:
        value: 18 characters, or 15 digits (first generation, converted to 18); full-width
            digits and a lower-case `x` are accepted.
        today: birth dates after this day are refused (default: the real today).

    Returns:
        The normalised 18-character number with its birth date, sex and region.

    Raises:
        IdentifierError: naming the part that failed (length, characters, region,
            birth date or check digit).
    """
    raw = _normalise_code(value, "身份证号")
    number = _ric_shape(raw)
    _check_province(number, "region")
    born = _ric_birth(number, today or date.today())
    if len(raw) == 18 and ric_check_digit(number[:17]) != number[17]:
        raise IdentifierError("校验码（第 18 位）不符（MOD 11-2）：请核对身份证号是否抄错", "check")
    sex: Literal["male", "female"] = "male" if int(number[16]) % 2 else "female"
    return ResidentId(number=number, birth_date=born, sex=sex, region=number[:6])


# --- unified social credit code (GB 32100-2015) ------------------------------------------


def uscc_check_char(body17: str) -> str:
    """The GB 32100 check character (MOD 31) of the first 17 characters.

    Args:
        body17: the 17 characters before the check character, from `USCC_ALPHABET`.

    Returns:
        One character of `USCC_ALPHABET`.
    """
    if len(body17) != 17 or _first_bad(body17, USCC_ALPHABET):
        raise IdentifierError(f"应为 17 个取自 {USCC_ALPHABET} 的字符", "body")
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(body17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def organisation_check_char(body8: str) -> str:
    """The GB 11714 check character of an 8-character organisation code body.

    Args:
        body8: 8 characters, digits or upper-case letters.

    Returns:
        "0"–"9" or "X".
    """
    if len(body8) != 8 or _first_bad(body8, "".join(_ORG_VALUES)):
        raise IdentifierError("应为 8 位数字或大写字母", "organisation")
    total = sum(_ORG_VALUES[c] * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def parse_uscc(value: str) -> str:
    """Check a unified social credit code (统一社会信用代码) and normalise it.

    Letters are allowed in positions 1–2 (registration authority and entity type); positions
    3–8 (the region) must be digits. The embedded organisation code's own check is not
    enforced: see `uscc_warnings`.

    Args:
        value: the code; full-width characters and lower case are accepted.

    Returns:
        The 18-character upper-case code.

    Raises:
        IdentifierError: naming the part that failed (length, a character and its position,
            region or check character).
    """
    code = _normalise_code(value, "统一社会信用代码")
    if len(code) != 18:
        raise IdentifierError(f"应为 18 位，实际为 {len(code)} 位", "length")
    bad = _first_bad(code, USCC_ALPHABET)
    if bad:
        raise IdentifierError(
            f"第 {bad[0]} 位的字符 {bad[1]!r} 不允许"
            f"（GB 32100 只用 {USCC_ALPHABET}：没有 I、O、S、V、Z）",
            "characters",
        )
    bad = _first_bad(code[2:8], "0123456789")
    if bad:
        raise IdentifierError(
            f"第 {bad[0] + 2} 位的字符 {bad[1]!r}：地区码（第 3–8 位）只含数字",
            "region",
        )
    if uscc_check_char(code[:17]) != code[17]:
        raise IdentifierError("校验码（第 18 位）不符（MOD 31）：请核对代码是否抄错", "check")
    return code


def uscc_warnings(value: str) -> tuple[str, ...]:
    """Doubts about a valid credit code that do not justify refusing it.

    Args:
        value: a code that `parse_uscc` accepts.

    Returns:
        Messages; empty when the embedded organisation code (positions 9–17) checks out.
    """
    code = parse_uscc(value)
    org = code[8:17]
    if organisation_check_char(org[:8]) != org[8]:
        return ("组织机构代码（第 9–17 位）的校验码不符（GB 11714）",)
    return ()


# --- region codes (GB/T 2260, NBS 12-digit statistical codes) ----------------------------


def parse_region_code(value: str, *, lengths: tuple[int, ...] = (6, 12)) -> str:
    """Check a region code and normalise it.

    Args:
        value: the code as text (full-width digits are accepted).
        lengths: the allowed numbers of digits.

    Returns:
        The code, ASCII digits only.

    Raises:
        IdentifierError: naming the segment that failed.
    """
    code = _normalise_code(value, "区划代码")
    allowed = " 或 ".join(str(n) for n in lengths)
    if len(code) not in lengths or _first_bad(code, "0123456789"):
        shown = mask_ids_in_text(code)  # an ID number typed in the wrong column stays hidden
        raise IdentifierError(f"应为 {allowed} 位数字，实际为 {shown!r}", "length")
    _check_province(code, "province")
    if len(code) >= 12 and code[6:9] == "000" and code[9:12] != "000":
        raise IdentifierError(
            f"乡级段（第 7–9 位）为 000，村级段（第 10–12 位）却为 {code[9:12]}："
            "村级代码须有所属乡镇",
            "township",
        )
    return code


# --- names -------------------------------------------------------------------------------


def _refused(char: str) -> bool:
    point = ord(char)
    if unicodedata.category(char) == "Cc":
        return True
    return any(lo <= point <= hi for lo, hi in _REFUSED_IN_NAMES)


def normalise_name(value: str) -> str:
    """Normalise a person's or an organisation's name so sources match (RELIABILITY U2).

    NFKC (Kangxi radicals → CJK ideographs, full-width → ASCII), every middle-dot variant
    → U+00B7 (minority names such as 买买提·艾力), surrounding spaces stripped.

    Args:
        value: the name.

    Returns:
        The normalised name.

    Raises:
        IdentifierError: for control characters (CR, LF, …), zero-width or bidi controls,
            naming the code point and its position; or an empty name.
    """
    if not isinstance(value, str):
        raise IdentifierError(f"姓名应为文本，实际为 {type(value).__name__}", "type")
    for i, char in enumerate(value, start=1):
        if _refused(char):
            label = unicodedata.name(char, "control character")
            raise IdentifierError(
                f"姓名第 {i} 位的 U+{ord(char):04X}（{label}）不允许出现在姓名中",
                "characters",
            )
    name = unicodedata.normalize("NFKC", value.translate(_DOT_TABLE)).translate(_DOT_TABLE)
    name = _ASCII_DOT_IN_NAME.sub("\u00b7", name).strip()
    if not name:
        raise IdentifierError("姓名不能为空", "empty")
    return name
