"""The result workbook: summary counts, full IDs only on department sheets, no formula injection."""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from matcher.profiles.identifiers import ric_check_digit
from matcher.profiles.parse import Household, Member
from matcher.vector.batch import BatchMatcher
from rules.catalogue import Catalogue, load_catalogue
from sheets.grouping import RowError
from sheets.workbook import safe_cell, sheet_name, write_results
from synth.identifiers import make_ric

ROOT = Path(__file__).parents[2]
ON = date(2025, 3, 1)
HOSTILE = ['=HYPERLINK("http://x","a")', "@SUM(1)", "+1+1", "-1+1", "\t=1"]
FULL_ID = re.compile(r"\d{17}[\dX]")


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(ROOT / "policies")


def _household(n: int, household_id: str, dibao: str | None) -> Household:
    facts: dict[str, Any] = {"local_hukou": True, "assets_within_limit": True}
    if dibao:
        facts["dibao_status"] = dibao
    head = Member(
        id_number=make_ric(birth=date(1970, 1, 1), seq=2 * n + 1),
        name=f"户主{n}",
        relation="head",
        facts={"monthly_income": 200, "has_employee_pension": False, "is_student": False},
    )
    return Household(
        household_id=household_id, region_code="520602100201", members=[head], facts=facts
    )


@pytest.fixture(scope="module")
def households() -> list[Household]:
    ids = [*HOSTILE, "H-6", "H-7"]  # hostile household ids reach every sheet
    return [_household(i, h, "active" if i != 6 else None) for i, h in enumerate(ids)]


def _valid_ids(text: str) -> list[str]:
    return [m for m in FULL_ID.findall(text) if ric_check_digit(m[:17]) == m[17]]


def _write(tmp_path: Path, suffix: str, households: list[Household], catalogue: Catalogue) -> Path:
    chunks = [BatchMatcher(catalogue, ON).match(households)]
    errors = [RowError(7, "身份证号", "520***********0010", "=cmd|' /C calc'!A0")]
    path = tmp_path / f"result{suffix}"
    write_results(path, chunks, catalogue, errors, on=ON)
    return path


def test_summary_counts_add_up(
    tmp_path: Path, households: list[Household], catalogue: Catalogue
) -> None:
    """Per policy: eligible + undetermined + ineligible = households, amounts are numbers."""
    book = load_workbook(_write(tmp_path, ".xlsx", households, catalogue), read_only=True)
    rows = list(book["汇总"].iter_rows(values_only=True))
    assert rows[0][:7] == ("政策编号", "政策名称", "部门", "办理方式", "符合", "待补充", "不符合")
    by_id = {r[0]: r for r in rows[1:] if r and r[0] and r[0].startswith("household.")}
    allowance = by_id["household.dibao.allowance"]
    assert allowance[4] + allowance[5] + allowance[6] == len(households)
    electricity = by_id["household.dibao.electricity"]
    assert electricity[4] == 6 and electricity[5] == 1  # one household's 低保 status is unknown
    amounts = [r[6] for r in book["县供电公司"].iter_rows(min_row=2, values_only=True)]
    assert all(isinstance(a, float) for a in amounts)
    assert electricity[7] == pytest.approx(sum(amounts))


def test_full_ids_only_on_department_sheets(
    tmp_path: Path, households: list[Household], catalogue: Catalogue
) -> None:
    """Department sheets hold the head's full ID; 汇总, 待补充 and errors hold masked IDs only."""
    book = load_workbook(_write(tmp_path, ".xlsx", households, catalogue), read_only=True)
    power = book["县供电公司"]
    ids = [r[3] for r in power.iter_rows(min_row=2, values_only=True)]
    assert len(ids) == 6 and all(_valid_ids(i) for i in ids)
    departments = {p.spec.department for p in catalogue.policies.values()}
    for sheet in book.worksheets:
        if sheet.title in departments:
            continue
        text = " ".join(str(c) for row in sheet.iter_rows(values_only=True) for c in row if c)
        assert _valid_ids(text) == [], sheet.title
    missing = list(book["待补充"].iter_rows(min_row=2, values_only=True))
    members = [r for r in missing if r[3] != "（全户）"]
    assert members and all("*" in r[4] for r in members)


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_hostile_cells_are_escaped(
    suffix: str, tmp_path: Path, households: list[Household], catalogue: Catalogue
) -> None:
    """Every hostile text cell starts with a quote; amounts stay numeric."""
    path = _write(tmp_path, suffix, households, catalogue)
    cells: list[Any] = []
    if suffix == ".xlsx":
        book = load_workbook(path)
        for sheet in book.worksheets:
            cells += [c for row in sheet.iter_rows(values_only=True) for c in row]
            assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    else:
        for file in tmp_path.glob("result*.csv"):
            with file.open(encoding="utf-8-sig", newline="") as handle:
                cells += [c for row in csv.reader(handle) for c in row]
    texts = [c for c in cells if isinstance(c, str) and c]
    for hostile in HOSTILE:
        assert "'" + hostile in texts
        assert hostile not in texts
    assert "'=cmd|' /C calc'!A0" in texts
    if suffix == ".xlsx":
        assert any(isinstance(c, float) and c > 0 for c in cells)


def test_safe_cell_and_sheet_names() -> None:
    """Negative numbers stay numbers, NUL is replaced, sheet names are valid and unique."""
    assert safe_cell(-8.4) == -8.4
    assert safe_cell("-8.4") == "'-8.4"
    assert safe_cell("\0x") == "'\ufffdx"
    taken: set[str] = set()
    first = sheet_name(
        "县人力资源和社会保障局（会同县财政局、人民银行县支行）[a]:b*c?d/e\\f", taken
    )
    second = sheet_name(
        "县人力资源和社会保障局（会同县财政局、人民银行县支行）[a]:b*c?d/e\\f", taken
    )
    assert len(first) <= 31 and len(second) <= 31 and first != second
    assert not set("[]:*?/\\") & set(first + second)
