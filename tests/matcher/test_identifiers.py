"""Identifiers: resident IDs, credit codes, region codes, masks, names (RELIABILITY I1, P1, U2)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.profiles.identifiers import (
    PROVINCES,
    USCC_ALPHABET,
    IdentifierError,
    normalise_name,
    organisation_check_char,
    parse_region_code,
    parse_ric,
    parse_uscc,
    ric_check_digit,
    uscc_check_char,
    uscc_warnings,
)
from matcher.profiles.masking import mask_id, mask_ids_in_data, mask_ids_in_text
from rules.errors import ZhidaError
from synth.identifiers import make_ric, make_ric15, make_uscc

RIC_EXAMPLES = ["11010519491231002X", "440524188001010014", "360426199101010071"]
USCC_EXAMPLES = [
    "91350100M000100Y43",
    "91110000600037341L",
    "Y1110000MA01234562",
    "N2520602MF00000019",
]
RIC_CHARS = "0123456789X"

counties = st.builds(
    lambda p, rest: p + rest,
    st.sampled_from(sorted(PROVINCES)),
    st.text("0123456789", min_size=4, max_size=4),
)
rics = st.builds(
    make_ric,
    region=counties,
    birth=st.dates(min_value=date(1880, 1, 1), max_value=date(2020, 12, 31)),
    seq=st.integers(0, 999),
)
usccs = st.builds(
    make_uscc,
    region=st.text("0123456789", min_size=6, max_size=6),
    authority=st.sampled_from(USCC_ALPHABET),
    entity_type=st.sampled_from(USCC_ALPHABET),
    org=st.text(USCC_ALPHABET, min_size=9, max_size=9),
)


def refused(parse: object, value: str) -> bool:
    """Whether `parse(value)` raises IdentifierError."""
    try:
        parse(value)  # type: ignore[operator]
    except IdentifierError:
        return True
    return False


def substitutions(code: str, alphabet: str) -> list[str]:
    """Every code that differs from `code` in exactly one character drawn from `alphabet`."""
    return [
        code[:i] + c + code[i + 1 :] for i in range(len(code)) for c in alphabet if c != code[i]
    ]


def adjacent_swaps(code: str) -> list[str]:
    """Every code made by swapping two different neighbouring characters of `code`."""
    return [
        code[:i] + code[i + 1] + code[i] + code[i + 2 :]
        for i in range(len(code) - 1)
        if code[i] != code[i + 1]
    ]


# --- resident ID ---------------------------------------------------------------------------


@pytest.mark.parametrize("number", RIC_EXAMPLES)
def test_published_resident_ids_pass(number: str) -> None:
    """The standard's and python-stdnum's worked examples are accepted unchanged."""
    assert parse_ric(number).number == number
    assert ric_check_digit(number[:17]) == number[17]


def test_resident_id_decodes_birth_date_sex_and_region() -> None:
    """The GB 11643 example decodes to 31 Dec 1949, female (17th digit 2), region 110105."""
    rid = parse_ric("11010519491231002X")
    assert (rid.birth_date, rid.sex, rid.region) == (date(1949, 12, 31), "female", "110105")
    assert parse_ric("360426199101010071").sex == "male"


def test_full_width_and_lower_case_ids_normalise() -> None:
    """A full-width ID with a lower-case x and spaces around it becomes the ASCII form."""
    assert parse_ric(" １１０１０５１９４９１２３１００２ｘ ").number == "11010519491231002X"


def test_impossible_birth_date_is_refused() -> None:
    """An ID born on 30 February (19490230) is refused as a birth-date problem."""
    body = "11010519490230002"
    with pytest.raises(IdentifierError, match="19490230 不是真实存在的日期") as info:
        parse_ric(body + ric_check_digit(body))
    assert info.value.part == "birth_date"


def test_future_birth_date_is_refused() -> None:
    """A birth date after `today` is refused; on `today` itself it is accepted."""
    number = make_ric(birth=date(2024, 5, 1))
    assert parse_ric(number, today=date(2024, 5, 1)).birth_date == date(2024, 5, 1)
    with pytest.raises(IdentifierError, match="晚于 2024-04-30"):
        parse_ric(number, today=date(2024, 4, 30))


@pytest.mark.parametrize(
    ("value", "part", "text"),
    [
        ("11010519491231002", "length", "实际为 17 位"),
        ("1101051949123100211", "length", "实际为 19 位"),
        ("1101051949A231002X", "characters", "第 11 位的字符 'A'"),
        ("11010519491231002Y", "characters", "第 18 位的字符 'Y'"),
        ("110105194912310021", "check", "不符（MOD 11-2）"),
        ("99010519491231002X", "region", "99 不是 GB/T 2260 的省份"),
        ("11010549123100A", "characters", "第 15 位的字符 'A'"),
    ],
)
def test_bad_resident_ids_name_the_failing_part(value: str, part: str, text: str) -> None:
    """Each kind of bad ID is refused with the part that failed and what was expected."""
    with pytest.raises(IdentifierError, match=re.escape(text)) as info:
        parse_ric(value)
    assert info.value.part == part


def test_id_error_is_a_value_error_and_a_zhida_error() -> None:
    """IdentifierError can be caught as ValueError (pydantic) or ZhidaError (the tree)."""
    assert issubclass(IdentifierError, ValueError)
    assert issubclass(IdentifierError, ZhidaError)


def test_number_instead_of_text_is_refused() -> None:
    """An ID number given as a number (a lossy spreadsheet float) is refused and told to quote."""
    with pytest.raises(IdentifierError, match="应为文本"):
        parse_ric(110105194912310021)  # type: ignore[arg-type]


def test_first_generation_id_converts_to_18() -> None:
    """A 15-digit ID gets `19` before its year and a computed check digit."""
    assert parse_ric("110105491231002").number == "11010519491231002X"
    born = date(1965, 7, 9)
    assert parse_ric(make_ric15("520602", born, 37)).number == make_ric("520602", born, 37)


@settings(max_examples=150, deadline=None)
@given(rics)
def test_every_generated_resident_id_passes(number: str) -> None:
    """Every ID built by make_ric is accepted and decodes to its own birth date and sex."""
    rid = parse_ric(number)
    assert rid.number == number
    assert rid.birth_date == date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    assert rid.sex == ("male" if int(number[16]) % 2 else "female")


@settings(max_examples=100, deadline=None)
@given(rics)
def test_every_substitution_and_adjacent_swap_of_a_resident_id_is_refused(number: str) -> None:
    """100% of single-character substitutions and adjacent swaps are detected."""
    mutants = substitutions(number, RIC_CHARS) + adjacent_swaps(number)
    assert len(mutants) >= 18 * 9
    undetected = [m for m in mutants if not refused(parse_ric, m)]
    assert undetected == []


# --- unified social credit code ------------------------------------------------------------


@pytest.mark.parametrize("code", USCC_EXAMPLES)
def test_published_credit_codes_pass(code: str) -> None:
    """GB 32100 examples pass, including letter prefixes (Y…, N…) that python-stdnum refuses."""
    assert parse_uscc(code) == code
    assert uscc_check_char(code[:17]) == code[17]


def test_credit_code_check_worked_examples() -> None:
    """The sums in RELIABILITY §3 give the published check characters 3 and L."""
    assert uscc_check_char("91350100M000100Y4") == "3"
    assert uscc_check_char("91110000600037341") == "L"
    assert organisation_check_char("M000100Y") == "4"


def test_credit_code_normalises_case_and_width() -> None:
    """Lower-case and full-width input becomes the canonical upper-case code."""
    assert parse_uscc("９１３５０１００m000100y43") == "91350100M000100Y43"


@pytest.mark.parametrize(("char", "position"), [("I", 9), ("O", 12)])
def test_credit_code_with_i_or_o_names_the_position(char: str, position: int) -> None:
    """A code containing I or O is refused naming the character and its position."""
    code = "91350100M000100Y43"
    bad = code[: position - 1] + char + code[position:]
    with pytest.raises(IdentifierError, match=f"第 {position} 位的字符 '{char}'"):
        parse_uscc(bad)


@pytest.mark.parametrize(
    ("value", "part"),
    [
        ("91350100M000100Y4", "length"),
        ("91350100M000100Y44", "check"),
        ("913501A0M000100Y43", "region"),
    ],
)
def test_bad_credit_codes_name_the_failing_part(value: str, part: str) -> None:
    """Wrong length, a wrong check character and letters in the region are each named."""
    with pytest.raises(IdentifierError) as info:
        parse_uscc(value)
    assert info.value.part == part


def test_organisation_check_failure_is_only_a_warning() -> None:
    """A code whose embedded organisation code fails GB 11714 is accepted, with a warning."""
    assert uscc_warnings("91350100M000100Y43") == ()
    assert parse_uscc("Y1110000MA01234562") == "Y1110000MA01234562"
    assert "组织机构代码" in uscc_warnings("Y1110000MA01234562")[0]


@settings(max_examples=150, deadline=None)
@given(usccs)
def test_every_generated_credit_code_passes(code: str) -> None:
    """Every code built by make_uscc (any authority, type and organisation code) is accepted."""
    assert parse_uscc(code) == code


@settings(max_examples=60, deadline=None)
@given(usccs)
def test_every_substitution_and_adjacent_swap_of_a_credit_code_is_refused(code: str) -> None:
    """100% of single-character substitutions and adjacent swaps are detected."""
    mutants = substitutions(code, USCC_ALPHABET) + adjacent_swaps(code)
    assert len(mutants) >= 18 * 30
    undetected = [m for m in mutants if not refused(parse_uscc, m)]
    assert undetected == []


# --- region codes --------------------------------------------------------------------------


def test_region_examples() -> None:
    """350322111201 (town, villagers' committee) and a 6-digit county pass."""
    assert parse_region_code("350322111201") == "350322111201"
    assert parse_region_code("520602") == "520602"
    assert parse_region_code("350322000000") == "350322000000"


@pytest.mark.parametrize(
    ("value", "lengths", "text"),
    [
        ("350322000201", (6, 12), "乡级段（第 7–9 位）为 000"),
        ("990322111201", (6, 12), "省级代码（第 1–2 位）99"),
        ("52060", (6, 12), "应为 6 或 12 位数字"),
        ("520602", (12,), "应为 12 位数字"),
        ("5206O2", (6, 12), "应为 6 或 12 位数字"),
        ("11010519491231002X", (6, 12), "实际为 '110***********002X'"),
    ],
)
def test_bad_region_codes_name_the_segment(value: str, lengths: tuple[int, ...], text: str) -> None:
    """Region codes with a wrong length, province or township are refused, naming the segment."""
    with pytest.raises(IdentifierError, match=re.escape(text)):
        parse_region_code(value, lengths=lengths)


# --- masking -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("11010519491231002X", "110***********002X"),
        ("110105491231002", "110*********002"),
        ("12345678", "123*5678"),
        ("1234567", "*******"),
        ("", ""),
    ],
)
def test_mask_id(value: str, masked: str) -> None:
    """18 characters keep 3 + 4, 15 keep 3 + 3 (no birth digit); short values are starred."""
    assert mask_id(value) == masked


DIGEST = "3f2a12345678901234567c0ffee9d1b2a8e7c6d5f4a3b2c1d0e9f8a7b6c5d4e3"  # 17 digits inside


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        pytest.param("110105194912310021", "110***********0021", id="bad check digit"),
        pytest.param("11010519491231002x", "110***********002x", id="lower-case x"),
        pytest.param("110105491231002", "110*********002", id="15 digits, first generation"),
        pytest.param("999999999999999", "999*********999", id="15 digits, no real ID"),
        pytest.param(
            "３６０４２６１９９１０１０１００７１",
            "３６０***********００７１",
            id="full-width digits",
        ),
        pytest.param(
            "１１０１０５１９４９１２３１００２Ｘ", "１１０***********００２Ｘ", id="full-width X"
        ),
        pytest.param(
            "申请人360426199101010071已登记", "申请人360***********0071已登记", id="in Chinese"
        ),
        pytest.param("99360426199101010071", "993*************0071", id="in a longer digit run"),
        pytest.param("36042619910101007", "360**********1007", id="17 digits, one dropped"),
        pytest.param("6222020200012345678", "622************5678", id="19-digit bank card"),
        pytest.param("915206020000000196", "915***********0196", id="all-digit credit code"),
        pytest.param("5206020012010001X", "520**********001X", id="16 digits and an X"),
        pytest.param(
            "ID 110105194912310021, 110105491231002。",
            "ID 110***********0021, 110*********002。",
            id="two in one line",
        ),
        pytest.param("户编号5206020012010001", "户编号5206020012010001", id="16-digit 户编号 kept"),
        pytest.param("村代码350322111201", "村代码350322111201", id="12-digit region code kept"),
        pytest.param("91350100M000100Y43", "91350100M000100Y43", id="credit code with letters"),
        pytest.param(DIGEST, DIGEST, id="a hex digest is no ID"),
        pytest.param("110***********002X", "110***********002X", id="already masked"),
    ],
)
def test_mask_ids_in_text_masks_every_id_shape(text: str, masked: str) -> None:
    """Anything ID-shaped is masked whatever its check digit; 户编号, region codes, digests not."""
    assert mask_ids_in_text(text) == masked


def test_mask_ids_in_data_masks_strings_keys_and_id_ints_in_nested_data() -> None:
    """Every string, key and ID-shaped int inside mappings and lists comes back masked."""
    data = {
        "file": "110105194912310021.csv",
        "110105491231002": [110105194912310021, ("6222020200012345678",)],
        "counts": {"rows": 5206020012010001, "ok": True, "amount": 8.4},
    }
    assert mask_ids_in_data(data) == {
        "file": "110***********0021.csv",
        "110*********002": ["110***********0021", ["622************5678"]],
        "counts": {"rows": 5206020012010001, "ok": True, "amount": 8.4},
    }


# --- names ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dot", ["·", "•", "・", "．", "‧", "･", "∙", "."])
def test_name_middle_dots_unify(dot: str) -> None:
    """Every middle-dot variant in a minority name becomes U+00B7."""
    assert normalise_name(f"买买提{dot}艾力") == "买买提·艾力"


def test_name_nfkc_maps_kangxi_radicals_and_keeps_ext_b() -> None:
    """A Kangxi radical (U+2F47) becomes 日; an Ext-B character survives unchanged."""
    assert normalise_name("\u2f47子") == "日子"
    assert normalise_name(" 𠀀明 ") == "𠀀明"
    assert normalise_name("J. Smith") == "J. Smith"


@pytest.mark.parametrize("char", ["\u200b", "\u200f", "\u202e", "\u2066", "\ufeff", "\r", "\n"])
def test_name_with_invisible_or_control_characters_is_refused(char: str) -> None:
    """Zero-width, bidi controls and CR/LF are refused, naming the code point."""
    with pytest.raises(IdentifierError, match=f"U\\+{ord(char):04X}"):
        normalise_name(f"张{char}三")


def test_empty_name_is_refused() -> None:
    """A name of spaces only is refused."""
    with pytest.raises(IdentifierError, match="不能为空"):
        normalise_name("  ")


# --- test helpers ----------------------------------------------------------------------------


def test_make_ric_sex_picks_the_parity() -> None:
    """`sex` moves the sequence to the right parity; without it `seq` decides."""
    assert parse_ric(make_ric(seq=1, sex="female")).sex == "female"
    assert make_ric(seq=1, sex="male") == make_ric(seq=1)
    assert parse_ric(make_ric(seq=999, sex="female")).number[14:17] == "998"
    assert parse_ric(make_ric(seq=4)).sex == "female"


@pytest.mark.parametrize(
    "kwargs",
    [{"seq": 1000}, {"region": "990000"}, {"region": "52060"}, {"birth": date(99, 1, 1)}],
)
def test_make_ric_refuses_bad_arguments(kwargs: dict[str, object]) -> None:
    """Bad helper arguments fail loudly instead of producing an invalid fixture."""
    with pytest.raises(ValueError):
        make_ric(**kwargs)  # type: ignore[arg-type]


def test_make_uscc_distinct_and_refuses_bad_org() -> None:
    """Different `seq` give different codes; an organisation code with O is refused."""
    assert make_uscc(seq=1) != make_uscc(seq=2)
    with pytest.raises(ValueError):
        make_uscc(org="MO0000001")
