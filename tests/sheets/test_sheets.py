"""Reading village sheets: template round trips, the bad-row upload, guards, csv/xlsx/parquet."""

from __future__ import annotations

import csv
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from python_calamine import CalamineWorkbook

from matcher.profiles.identifiers import ric_check_digit
from matcher.vector.batch import match_chunk
from rules.catalogue import Catalogue, load_catalogue
from sheets.enterprises import EnterpriseSheet
from sheets.guards import Limits, SheetError, check_xlsx
from sheets.households import HouseholdSheet, ValidHousehold
from sheets.sources import open_rows
from sheets.template import columns_for, write_template
from synth.enterprises import Enterprises
from synth.files import write_demo_data
from synth.households import Population, generate_households
from synth.identifiers import make_ric, make_uscc

ROOT = Path(__file__).parents[2]
ON = date(2025, 3, 1)
VILLAGE = "520602100201"
HEADER = [
    "户编号",
    "村（居）代码",
    "姓名",
    "身份证号",
    "与户主关系",
    "低保状态",
    "月收入",
    "在校学生",
]


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(ROOT / "policies")


def _read(
    path: Path, catalogue: Catalogue, **kw: Any
) -> tuple[list[ValidHousehold], HouseholdSheet]:
    sheet = HouseholdSheet(path, catalogue.facts, on=ON, **kw)
    return [v for chunk in sheet for v in chunk], sheet


def _write_csv(path: Path, rows: list[list[Any]], header: list[str] = HEADER) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    return path


def _write_xlsx(path: Path, rows: list[list[Any]], header: list[str] = HEADER) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in [header, *rows]:
        sheet.append(row)
    book.save(path)
    return path


def _id(seq: int, birth: date = date(1980, 1, 1)) -> str:
    return make_ric(region="520602", birth=birth, seq=seq)


def _feb30() -> str:
    body = "520602" + "19900230" + "123"
    return body + ric_check_digit(body)


def _bad_check(seq: int) -> str:
    good = _id(seq)
    return good[:17] + ("1" if good[17] != "1" else "2")


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


def _bad_upload(float_id: Any) -> list[list[Any]]:
    """Rows 2–14 of the issue's bad-row upload (row 1 is the header)."""
    return [
        ["H1", VILLAGE, "王芳", _id(1), "户主", "active", 300, "否"],  # 2 good
        ["H1", VILLAGE, "李强", _id(3), "配偶", None, 400, "否"],  # 3 good
        ["H2", VILLAGE, "张三", _bad_check(5), "户主", "none", 1000, "否"],  # 4 bad check digit
        ["H3", VILLAGE, "赵四", _full_width(_id(7)), "户主", "none", 900, "否"],  # 5 full width ok
        ["H4", VILLAGE, "钱五", float_id, "户主", "none", 900, "否"],  # 6 float ID
        ["H5", VILLAGE, "孙六", _feb30(), "户主", "none", 900, "否"],  # 7 impossible date
        ["H6", VILLAGE, "周七", _id(9), "户主", "none", 900, "否"],  # 8
        ["H6", VILLAGE, "吴八", _id(11), "表哥", None, 0, "否"],  # 9 unknown relation
        [None, VILLAGE, "郑九", _id(13), "户主", "none", 900, "否"],  # 10 no household id
        ["H7", VILLAGE, None, None, None, "none", None, None],  # 11 empty household
        ["H8", VILLAGE, "冯十", _id(15), "head", "active", 100, "true"],  # 12 good (English)
        ["H8", VILLAGE, "陈一", _id(17, date(2010, 5, 1)), "child", None, 0, "是"],  # 13 good
        ["H9", VILLAGE, "褚二", _id(19), "户主", "none", "很多", "否"],  # 14 bad number
    ]


EXPECTED = {
    (4, "身份证号"),
    (6, "身份证号"),
    (7, "身份证号"),
    (9, "与户主关系"),
    (10, "户编号"),
    (11, "身份证号"),
    (14, "月收入"),
}


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_bad_rows_give_exact_errors_and_good_rows_are_matched(
    kind: str, tmp_path: Path, catalogue: Catalogue
) -> None:
    """Each bad row is reported once with its row and column; H1, H3 and H8 are still matched."""
    if kind == "csv":
        path = _write_csv(tmp_path / "up.csv", _bad_upload("5.20602198001E+17"))
    else:
        path = _write_xlsx(tmp_path / "up.xlsx", _bad_upload(520602198001010010.0))
    good, sheet = _read(path, catalogue)
    assert {(e.row, e.column) for e in sheet.errors} == EXPECTED
    assert len(sheet.errors) == len(EXPECTED)
    assert [v.household_id for v in good] == ["H1", "H3", "H8"]
    float_error = next(e for e in sheet.errors if e.row == 6)
    assert "以数字形式上传" in float_error.reason and "文本格式" in float_error.reason
    assert "不是真实存在的日期" in next(e for e in sheet.errors if e.row == 7).reason
    assert all("198001010" not in e.value + e.reason for e in sheet.errors)  # masked
    outcomes = match_chunk(catalogue, [v.household for v in good], ON)
    assert any(r.status == "eligible" for r in outcomes[0][1])  # H1 is on 低保
    assert good[0].rows == (2, 3) and good[2].rows == (12, 13)


def test_full_width_ids_are_normalised(tmp_path: Path, catalogue: Catalogue) -> None:
    """A full-width ID number is accepted and stored in ASCII digits."""
    path = _write_csv(tmp_path / "fw.csv", [["H", VILLAGE, "赵四", _full_width(_id(7)), "户主"]])
    good, sheet = _read(path, catalogue)
    assert not sheet.errors
    assert good[0].household.members[0].id_number == _id(7)


@pytest.mark.parametrize(
    ("rows", "row", "column", "words"),
    [
        (
            [["A", VILLAGE, "甲", _id(1), "户主"], ["B", VILLAGE, "乙", _id(3), "户主"],
             ["A", VILLAGE, "丙", _id(5), "配偶"]],
            4, "户编号", "请按户编号排序",
        ),
        (
            [["A", VILLAGE, "甲", _id(1), "户主"], ["B", VILLAGE, "乙", _id(1), "户主"]],
            3, "身份证号", "已出现在本表前面的另一户中",
        ),
        (
            [["A", VILLAGE, "甲", _id(1), "户主", "active"],
             ["A", VILLAGE, "乙", _id(3), "配偶", "none"]],
            3, "低保状态", "两个不同的值",
        ),
        (
            [["A", VILLAGE, "甲", _id(1), "户主"], ["A", VILLAGE, "乙", _id(3), "户主"]],
            2, "与户主关系", "只能有一位户主",
        ),
        (
            [["A", "5206021002", "甲", _id(1), "户主"]],
            2, "村（居）代码", "12 位数字",
        ),
        (
            [["A", VILLAGE, "甲", _id(1, date(2030, 1, 1)), "户主"]],
            2, "身份证号", "晚于 2025-03-01",
        ),
    ],
)  # fmt: skip
def test_household_level_problems_point_at_row_and_column(
    rows: list[list[Any]], row: int, column: str, words: str, tmp_path: Path, catalogue: Catalogue
) -> None:
    """Split households, repeated IDs, conflicting facts, two heads, bad codes are located."""
    header = HEADER[:5] + (["低保状态"] if len(rows[0]) > 5 else [])
    _, sheet = _read(_write_csv(tmp_path / "h.csv", rows, header), catalogue)
    assert [(e.row, e.column) for e in sheet.errors] == [(row, column)]
    assert words in sheet.errors[0].reason


def test_row_cap_stops_reading_but_keeps_earlier_rows(tmp_path: Path, catalogue: Catalogue) -> None:
    """Past the row cap an error is reported and the rows before it are still used."""
    rows = [[f"H{i}", VILLAGE, "甲", _id(2 * i + 1), "户主"] for i in range(10)]
    good, sheet = _read(_write_csv(tmp_path / "cap.csv", rows, HEADER[:5]), catalogue,
                        limits=Limits(max_rows=4))  # fmt: skip
    assert len(good) == 4
    assert sheet.errors[-1].row == 6 and "行数上限" in sheet.errors[-1].reason


def test_unknown_header_is_reported_and_missing_required_column_refused(
    tmp_path: Path, catalogue: Catalogue
) -> None:
    """An unknown column is ignored with a warning (not an error); a sheet without 身份证号 is
    refused whole."""
    path = _write_csv(tmp_path / "u.csv", [["H", VILLAGE, "甲", _id(1), "户主", 1]],
                      [*HEADER[:5], "收入啊"])  # fmt: skip
    good, sheet = _read(path, catalogue)
    assert len(good) == 1 and sheet.errors == []
    assert [(w.row, w.column) for w in sheet.warnings] == [(1, "收入啊")]
    with pytest.raises(SheetError, match="身份证号"):
        _read(_write_csv(tmp_path / "n.csv", [["H", "户主"]], ["户编号", "与户主关系"]), catalogue)


def _zip(path: Path, parts: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in parts.items():
            book.writestr(name, data)
    return path


def test_xlsx_bomb_is_refused_before_parsing(tmp_path: Path) -> None:
    """A zip declaring 60 MB uncompressed, or expanding 1000:1, is refused by the guard."""
    big = _zip(tmp_path / "big.xlsx", {"xl/worksheets/sheet1.xml": b"0" * (60 * 2**20)})
    with pytest.raises(SheetError, match="uncompressed"):
        check_xlsx(big, Limits())
    dense = _zip(tmp_path / "dense.xlsx", {"xl/worksheets/sheet1.xml": b"0" * (5 * 2**20)})
    with pytest.raises(SheetError, match="zip bomb"):
        check_xlsx(dense, Limits())


def test_xml_entities_are_refused(tmp_path: Path) -> None:
    """A sharedStrings.xml declaring entities (billion laughs) is refused."""
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b"<sst><si><t>&lol2;</t></si></sst>"
    )
    path = _zip(tmp_path / "lol.xlsx", {"xl/sharedStrings.xml": laughs})
    with pytest.raises(SheetError, match="DOCTYPE"):
        check_xlsx(path, Limits())


def test_template_has_every_column_and_a_guide(tmp_path: Path, catalogue: Catalogue) -> None:
    """The empty template's header is the column list; the 说明 sheet describes each column."""
    path = tmp_path / "households.xlsx"
    write_template(path, catalogue.facts, "household")
    book = CalamineWorkbook.from_path(str(path))
    assert book.sheet_names == ["户成员", "说明", "选项"]
    header = book.get_sheet_by_index(0).to_python()[0]
    columns = columns_for(catalogue.facts, "household")
    assert header == [c.header for c in columns]
    guide = book.get_sheet_by_name("说明").to_python()
    assert [row[0] for row in guide[1 : len(columns) + 1]] == header
    _, sheet = _read(path, catalogue)
    assert sheet.errors == [] and sheet.stats.rows == 0


@pytest.mark.parametrize("suffix", [".xlsx", ".csv", ".parquet"])
def test_demo_files_round_trip(suffix: str, tmp_path: Path, catalogue: Catalogue) -> None:
    """Generated households written in each format read back identical to the generator's."""
    pop = Population(households=60, seed=5, as_of=ON)
    write_demo_data(tmp_path, catalogue.facts, pop, Enterprises(0))
    good, sheet = _read(tmp_path / f"households{suffix}", catalogue)
    assert sheet.errors == []
    chunk = next(generate_households(pop))
    assert [v.household_id for v in good] == list(chunk.households.data["household_id"])
    ids = [m.id_number for v in good for m in v.household.members]
    assert ids == list(chunk.members.data["id_number"])
    incomes = [m.facts.get("monthly_income") for v in good for m in v.household.members]
    unknown = chunk.members.unknown.get("monthly_income")
    expected = [None if unknown is not None and unknown[i] else int(x)
                for i, x in enumerate(chunk.members.data["monthly_income"])]  # fmt: skip
    assert incomes == expected


def test_enum_columns_take_chinese_labels_and_codes_in_any_case(
    tmp_path: Path, catalogue: Catalogue
) -> None:
    """在册, Active and ACTIVE are all active; 在校学生's 是 is true; a wrong value is refused
    with the Chinese choices named."""
    rows = [["H1", VILLAGE, "甲", _id(1), "户主", "在册", 100, "否"],
            ["H2", VILLAGE, "乙", _id(3), "户主", "Active", 100, "否"],
            ["H3", VILLAGE, "丙", _id(5), "户主", " ACTIVE ", 100, "否"],
            ["H4", VILLAGE, "丁", _id(7), "户主", "非低保", 100, "是"],
            ["H5", VILLAGE, "戊", _id(9), "户主", "在保", 100, "否"]]  # fmt: skip
    good, sheet = _read(_write_csv(tmp_path / "labels.csv", rows), catalogue)
    status = {v.household_id: v.household.facts["dibao_status"] for v in good}
    assert status == {"H1": "active", "H2": "active", "H3": "active", "H4": "none"}
    [error] = sheet.errors
    assert (error.row, error.column) == (6, "低保状态")
    assert "在册（active）、已退出（lapsed）、非低保（none）" in error.reason


def test_enterprise_enum_columns_take_chinese_labels(tmp_path: Path, catalogue: Catalogue) -> None:
    """小型 is small and 制造业 (or c) is industry C on an enterprise roster."""
    header = ["统一社会信用代码", "企业名称", "所在地区代码", "企业规模", "行业门类"]
    rows = [[make_uscc(seq=1), "甲厂", "520602", "小型", "制造业"],
            [make_uscc(seq=2), "乙厂", "520602", "MICRO", "c"]]  # fmt: skip
    sheet = EnterpriseSheet(_write_xlsx(tmp_path / "e.xlsx", rows, header), catalogue.facts)
    found = [(v.enterprise.facts["enterprise_size"], v.enterprise.facts["industry"])
             for chunk in sheet for v in chunk]  # fmt: skip
    assert sheet.errors == [] and found == [("small", "C"), ("micro", "C")]


def test_demo_data_reports_its_progress(tmp_path: Path, catalogue: Catalogue) -> None:
    """write_demo_data calls back with growing counts that end at households + enterprises."""
    seen: list[tuple[int, int | None]] = []
    pop = Population(households=300, seed=3, as_of=ON, chunk_size=100)
    files = write_demo_data(tmp_path, catalogue.facts, pop, Enterprises(20, seed=3, as_of=ON),
                            progress=lambda done, total: seen.append((done, total)))  # fmt: skip
    assert files.households == 300 and len(seen) >= 3
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert seen[-1] == (320, 320) and all(t == 320 for _, t in seen)


def test_a_csv_saved_in_gbk_says_how_to_save_it_as_utf8(tmp_path: Path) -> None:
    """Excel on Chinese Windows saves CSV as GBK: the refusal says so and how to re-save it."""
    sheet = tmp_path / "村.csv"
    sheet.write_bytes(
        "户编号,村（居）代码,姓名\n5206020010010001,520602001001,张三\n".encode("gbk")
    )
    with pytest.raises(SheetError) as refused:
        open_rows(sheet, Limits())
    message = str(refused.value)
    assert message.startswith("村.csv：不是 UTF-8 编码的文本（像是 GBK/GB18030 编码）")
    assert "CSV UTF-8" in message
