"""What the operator sees in a result workbook: Chinese sheets, frozen headers, filters, one
row per member and fact on 待补充, 金额待核定, counts that agree, errors sorted by row."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from matcher.profiles.parse import Household, Member
from matcher.vector.batch import BatchMatcher
from rules.catalogue import Catalogue, load_catalogue
from sheets.grouping import RowError
from sheets.workbook import write_results
from synth.identifiers import make_ric

ROOT = Path(__file__).parents[2]
ON = date(2025, 3, 1)
VILLAGE = "520602100201"
TEKUN = "household.tekun.support"


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(ROOT / "policies")


def _member(n: int, born: date, relation: str, name: str, **facts: Any) -> Member:
    return Member(id_number=make_ric(birth=born, seq=n), name=name, relation=relation, facts=facts)


def _households() -> list[Household]:
    """H1: an old head and a grandchild in 特困 care — eligible, amount not yet known (the
    head's 无生活来源 is missing). H2: a 30-year-old and a 70-year-old, 低保 active, nobody
    known to be a student or not."""
    old = _member(1, date(1955, 1, 1), "head", "王老", monthly_income=300, no_work_capacity=False)
    kid = _member(3, date(2012, 1, 1), "grandchild", "王小", monthly_income=0,
                  no_livelihood=True, no_able_supporter=True)  # fmt: skip
    care = {"tekun_status": "active", "dibao_status": "none", "local_hukou": True}
    h1 = Household(household_id="H1", region_code=VILLAGE, members=[old, kid], facts=care)
    head = _member(5, date(1995, 1, 1), "head", "李青", has_employee_pension=False)
    elder = _member(7, date(1955, 1, 1), "parent", "李老", has_employee_pension=False)
    h2 = Household(household_id="H2", region_code=VILLAGE, members=[head, elder],
                   facts={"dibao_status": "active", "tekun_status": "none"})  # fmt: skip
    return [h1, h2]


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory, catalogue: Catalogue) -> Any:
    path = tmp_path_factory.mktemp("result") / "result.xlsx"
    chunks = [BatchMatcher(catalogue, ON).match(_households())]
    errors = [RowError(9, "身份证号", "x", "校验码不符"), RowError(4, "月收入", "-1", "应为非负数")]
    warnings = [RowError(1, "收入啊", "", "未知的表头，该列已忽略")]
    footer = [("已匹配户数", 2), ("已匹配行数", 4)]
    write_results(path, chunks, catalogue, errors, on=ON, warnings=warnings,
                  footer=lambda: footer)  # fmt: skip
    return load_workbook(path)


def test_sheets_are_named_in_chinese_with_frozen_headers_and_filters(book: Any) -> None:
    """汇总 … 待补充, 错误: each sheet's first row is frozen and filtered over all its rows."""
    assert book.sheetnames[0] == "汇总" and book.sheetnames[-2:] == ["待补充", "错误"]
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
        ref = sheet.auto_filter.ref
        assert ref is not None and ref.startswith("A1:"), sheet.title
        assert ref.endswith(str(max(sheet.max_row, 1))), (sheet.title, ref, sheet.max_row)


def test_missing_facts_are_one_row_per_member_and_fact_with_labels(
    book: Any, catalogue: Catalogue
) -> None:
    """待补充 names the member asked (masked ID, relation) and the fact's Chinese label; the
    pension policy asks the 30-year-old, not the 70-year-old, whether they study."""
    header, *rows = list(book["待补充"].iter_rows(values_only=True))
    assert header[:7] == ("户编号", "村（居）代码", "户主姓名", "成员姓名", "成员身份证号",
                          "与户主关系", "待补充信息")  # fmt: skip
    pension = catalogue.policies["household.dibao.pension"].spec.title
    student = [r for r in rows if r[0] == "H2" and r[7] == "is_student"]
    asked = {r[3]: r for r in student if pension in r[10]}
    assert set(asked) == {"李青"}
    assert asked["李青"][5] == "户主" and asked["李青"][6] == "在校学生"
    assert "*" in asked["李青"][4]
    keys = [(r[0], r[3], r[7]) for r in rows]
    assert len(keys) == len(set(keys))  # one row per household or member and fact
    assert all(r[6] and not r[6].isascii() for r in rows)  # every fact by its Chinese label


def test_unknown_amount_says_so_and_counts_agree(book: Any) -> None:
    """An eligible result with an unknown amount reads 金额待核定 on its department sheet, the
    summary counts it, and every summary 符合 equals the rows of the department sheets."""
    header, *summary = list(book["汇总"].iter_rows(values_only=True))
    by_id = {r[0]: dict(zip(header, r, strict=True)) for r in summary if r and r[0] and "." in r[0]}
    tekun = by_id[TEKUN]
    assert tekun["符合"] == 1 and tekun["金额待核定"] == 1
    assert (tekun["单位"], tekun["周期"], tekun["办理方式"]) == ("元", "月", "确认申领")
    rows: dict[str, list[Any]] = {}
    for sheet in book.worksheets[1:-2]:
        for r in sheet.iter_rows(min_row=2, values_only=True):
            rows.setdefault(r[4], []).append(r)
    assert [r[6] for r in rows[TEKUN]] == ["金额待核定"]
    for pid, line in by_id.items():
        assert line["符合"] == len(rows.get(pid, [])), pid
        assert line["金额待核定"] == sum(r[6] == "金额待核定" for r in rows.get(pid, []))
        known = [r[6] for r in rows.get(pid, []) if isinstance(r[6], int | float)]
        assert line["金额合计"] == pytest.approx(sum(known))
    cells = {r[0]: r[1] for r in summary if r and r[0] and "." not in r[0]}
    assert cells["已匹配户数"] == 2 and cells["错误（条）"] == 2 and cells["警告（条）"] == 1
    assert cells["待补充表（行）"] == book["待补充"].max_row - 1


def test_errors_sheet_is_sorted_by_row_and_warns(book: Any) -> None:
    """错误 lists errors and warnings by row; an ignored column is a 警告, not an 错误."""
    rows = list(book["错误"].iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == [1, 4, 9]
    assert [r[4] for r in rows] == ["警告", "错误", "错误"]
