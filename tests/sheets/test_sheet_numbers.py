"""Numbers in sheets (issue 8): read exactly, checked against their domain, safe to store and match.

- Whatever a cell converter accepts is inside its fact's domain, stores as JSON, fits the
  engine's float64 columns and reads back unchanged (a property test over any cell); text fits
  the store's columns (no NUL, which PostgreSQL refuses; no name or 户编号 longer than its
  column), so one cell can never abort an import on PostgreSQL.
- The issue's table (`tests/sheets/domain_sheets.py`) as csv text: the same row, column and
  message as the xlsx cells give through `zhida import` and `zhida batch`.
- The same household from a sheet and from JSON: the same stored document and hash, the same
  batch amounts.
- The template's guide sheet states each number column's domain.
"""

from __future__ import annotations

import csv
import json
import math
import unicodedata
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from python_calamine import CalamineWorkbook
from sqlalchemy import Engine, select

from matcher.profiles.parse import Enterprise, Household, Member, parse_household
from matcher.vector.batch import match_chunk
from matcher.vector.columns import Vocabulary, encode
from rules.catalogue import Catalogue
from rules.numbers import read_number
from sheets.batch import run_batch
from sheets.cells import CellError, convert, fast_converter
from sheets.households import HouseholdSheet
from sheets.template import Column, columns_for, write_template
from store.db import read_session
from store.ingest.documents import document, enterprise_document, profile_hash
from store.ingest.run import import_households
from store.tables.profiles import EnterpriseRow, HouseholdRow, MemberRow
from synth.identifiers import make_ric, make_uscc
from tests.sheets.domain_sheets import CASES, HEADER, Case, domain_catalogue, household_rows

ON = date(2025, 3, 1)
VILLAGE = "520602100201"
DEPARTMENT = ("户编号", "村（居）代码", "户主姓名", "户主身份证号", "政策编号", "政策名称", "金额")


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Catalogue:
    return domain_catalogue(tmp_path_factory.mktemp("domains"))


class Columns(list[Column]):
    """Template columns, shown briefly when hypothesis reports a failing example."""

    def __repr__(self) -> str:
        return f"<{len(self)} columns: {', '.join(c.key for c in self)}>"


def _columns(catalogue: Catalogue, *, identity: bool) -> Columns:
    every = [
        *columns_for(catalogue.facts, "household"),
        *columns_for(catalogue.facts, "enterprise"),
    ]
    return Columns(c for c in every if (c.kind == "identity") == identity)


@pytest.fixture(scope="module")
def typed(catalogue: Catalogue) -> Columns:
    """Every fact column of both templates."""
    return _columns(catalogue, identity=False)


@pytest.fixture(scope="module")
def identity(catalogue: Catalogue) -> Columns:
    """Every identity column of both templates."""
    return _columns(catalogue, identity=True)


# --- whatever a converter accepts can be stored, matched and read back ---------------------

ODD = [-5, -1, 0, 1.5, 2.0, 1e30, "1e30", 10**20, "1e-400", "7\x00", 1.7976931348623157e308,
       10**5000, Decimal("sNaN"), Decimal("1E+999999999"), Decimal("-1E-999999999")]  # fmt: skip
_NUMBER_TEXT = st.from_regex(r"\A ?[+-]?[0-9,]{1,22}(\.[0-9]{0,22})?([eE][+-]?[0-9]{1,5})? ?\Z")
CELLS = st.one_of(
    st.floats(),  # NaN, infinities, subnormals, 1e308
    st.integers(),  # any size
    st.decimals(),  # a parquet decimal column: NaN, infinities, any exponent
    _NUMBER_TEXT,
    st.text(max_size=30),
    st.booleans(),
    st.dates(),
    st.datetimes(),
    st.sampled_from(ODD),
)


def _stored(column: Column, value: Any) -> Any:
    """`value` written into a profile document as the store writes it, and read back."""
    key = column.key
    if column.kind == "enterprise":
        firm = Enterprise.model_construct(credit_code=make_uscc(), facts={key: value})
        return orjson.loads(orjson.dumps(enterprise_document(firm)))["facts"][key]
    person = {key: value} if column.kind == "member" else {}
    head = Member.model_construct(
        id_number=make_ric(region="520602", seq=1), name=None, relation="head", facts=person
    )
    home = {key: value} if column.kind == "household" else {}
    household = Household.model_construct(members=[head], facts=home, household_id="H")
    doc = orjson.loads(orjson.dumps(document(household)))
    return (doc["members"][0]["facts"] if person else doc["facts"])[key]


def _sound(column: Column, value: Any) -> None:
    """The guarantees of an accepted cell (docs/decisions.md, "Batch")."""
    fact = column.fact
    assert fact is not None and fact.accepts(value), value
    assert fact.domain_problem(value, ON) is None, value
    back = _stored(column, value)
    if column.type == "number":
        assert type(value) in (int, Decimal) and read_number(value) == value
        column_value = encode(value, Vocabulary())  # the engine's float64 column
        assert math.isfinite(column_value) and read_number(column_value) == value
        assert read_number(back) == value
    elif column.type == "date":
        assert date.fromisoformat(back) == value
    else:
        assert back == value and (not isinstance(value, str) or "\x00" not in value)


@settings(max_examples=3000, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))  # fmt: skip
@given(data=st.data(), value=CELLS)
def test_an_accepted_cell_is_in_its_domain_storable_and_exact(
    data: st.DataObject, value: Any, typed: Columns
) -> None:
    """Any cell under any fact column: a CellError, or a value in its domain that is stored as
    JSON, put in a float64 column and read back unchanged; the fast converter agrees."""
    column = data.draw(st.sampled_from(typed))
    try:
        expected: Any = ("ok", convert(column, value, 40, ON))
    except CellError as error:
        expected = ("error", str(error))
    try:
        got: Any = ("ok", fast_converter(column, 40, ON)(value))
    except CellError as error:
        got = ("error", str(error))
    assert got == expected
    if expected[0] == "ok":
        _sound(column, expected[1])


@settings(max_examples=1500, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))  # fmt: skip
@given(data=st.data(), value=CELLS | st.text(min_size=60, max_size=80) | st.just("㍿" * 20))
def test_accepted_identity_text_fits_the_store(
    data: st.DataObject, value: Any, identity: Columns
) -> None:
    """Any cell under an identity column: a CellError, or text without NUL that fits the
    store's column once normalised; the fast converter agrees."""
    column = data.draw(st.sampled_from(identity))
    try:
        expected: Any = ("ok", convert(column, value, 2000, ON))
    except CellError as error:
        expected = ("error", str(error))
    try:
        got: Any = ("ok", fast_converter(column, 2000, ON)(value))
    except CellError as error:
        got = ("error", str(error))
    assert got == expected
    if expected[0] == "ok":
        text = expected[1]
        assert isinstance(text, str) and "\x00" not in text
        stored = len(unicodedata.normalize("NFKC", text).strip())
        assert column.max_length is None or stored <= column.max_length


def test_identity_columns_are_as_long_as_the_store_keeps(catalogue: Catalogue) -> None:
    """户编号, 姓名 and 企业名称 are capped at their database columns' sizes."""
    household = {c.key: c.max_length for c in columns_for(catalogue.facts, "household")}
    enterprise = {c.key: c.max_length for c in columns_for(catalogue.facts, "enterprise")}
    assert household["household_id"] == HouseholdRow.__table__.c.household_no.type.length
    assert household["name"] == MemberRow.__table__.c.name.type.length
    assert enterprise["name"] == EnterpriseRow.__table__.c.name.type.length


def test_a_nul_or_an_overlong_name_refuses_its_household_not_the_import(
    engine: Engine, tmp_path: Path, catalogue: Catalogue
) -> None:
    """NUL in a text fact, a 70-character name or 户编号 (a parquet file can hold them): each
    is refused on its row and column, and the other households are stored — on PostgreSQL too,
    which refuses NUL and over-long values and so aborted the whole import before."""
    ids = [make_ric(region="520602", seq=2 * i + 1) for i in range(5)]
    nul = "62\x0022"
    rows = {"户编号": ["H1", "H2", "H3", "H" * 70, "H5"], "村（居）代码": [VILLAGE] * 5,
            "姓名": ["王芳", "张三", "王" * 70, "李四", "赵五"], "身份证号": ids,
            "与户主关系": ["户主"] * 5,
            "一卡通账号": ["6222", nul, None, None, "6223"]}  # fmt: skip
    pq.write_table(pa.table(rows), tmp_path / "h.parquet")
    report = import_households(
        engine=engine, path=tmp_path / "h.parquet", catalogue=catalogue, on=ON
    )
    report.errors.sort(key=lambda e: e.row or 0)
    assert [(e.row, e.column) for e in report.errors] == [(3, "一卡通账号"), (4, "姓名"),
                                                          (5, "户编号")]  # fmt: skip
    assert "空字符" in report.errors[0].reason and "\x00" not in report.errors[0].value
    assert "至多 64 个" in report.errors[1].reason and "至多 64 个" in report.errors[2].reason
    with read_session(engine) as session:
        stored = set(session.execute(select(HouseholdRow.household_no)).scalars())
    assert stored == {"H1", "H5"}


# --- the table, as csv text ----------------------------------------------------------------

TEXT_CASES = [c for c in CASES if c.subject == "household" and not isinstance(c.value, float)]


@pytest.mark.parametrize("case", TEXT_CASES, ids=[c.name for c in TEXT_CASES])
def test_the_table_as_csv_text_is_reported_as_the_xlsx_cells(
    case: Case, tmp_path: Path, catalogue: Catalogue
) -> None:
    """A csv holds every cell as text: each case is refused (or accepted) on the same row and
    column with the same words as the xlsx cell, and H1 and H3 still go through."""
    path = tmp_path / "up.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows([HEADER, *household_rows(case.column, case.value)])
    sheet = HouseholdSheet(path, catalogue.facts, on=ON)
    good = {v.household_id: v.household for chunk in sheet for v in chunk}
    if case.fragment is None:
        assert sheet.errors == [] and set(good) == {"H1", "H2", "H3"}
        return
    assert [(e.row, e.column) for e in sheet.errors] == [(case.row, case.column)]
    assert case.fragment in sheet.errors[0].reason
    assert set(good) == {"H1", "H3"}


def test_floats_are_read_as_the_decimal_they_show(tmp_path: Path, catalogue: Catalogue) -> None:
    """A float cell is read as the decimal it shows (0.1 + 0.2 as 0.3), and a whole one as an
    int; text with 17 significant digits is refused, not rounded."""
    path = tmp_path / "floats.xlsx"
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in [HEADER, *household_rows()]:
        sheet.append(row)
    sheet["I2"], sheet["I3"], sheet["J4"] = 0.1 + 0.2, 1234.5, 2.0
    sheet["I5"] = "0.30000000000000004"
    book.save(path)
    read = HouseholdSheet(path, catalogue.facts, on=ON)
    good = {v.household_id: v.household for chunk in read for v in chunk}
    assert good["H1"].members[0].facts["monthly_income"] == Decimal("0.3")
    assert good["H2"].members[0].facts["monthly_income"] == Decimal("1234.5")
    grade = good["H2"].members[1].facts["disability_grade"]
    assert grade == 2 and type(grade) is int
    assert [(e.row, e.column) for e in read.errors] == [(5, "月收入")]
    assert "有效数字超过 15 位" in read.errors[0].reason


# --- a sheet and a JSON profile reach the store and the engine alike -------------------------


def _same_household_twice(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """One household as an xlsx (float and text cells) and as JSON text."""
    people = [(make_ric(region="520602", seq=1), "王芳", "户主", 300.1, "300.1"),
              (make_ric(region="520602", seq=3), "李强", "配偶", 0.1 + 0.2, "0.3"),
              (make_ric(region="520602", seq=5, birth=date(2010, 5, 1)), "李娜", "子女",
               "1,234.50", "1234.5")]  # fmt: skip
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    for i, (number, name, relation, cell, _) in enumerate(people):
        household = ["active", "是", "是"] if i == 0 else [None, None, None]
        sheet.append(["H1", VILLAGE, name, number, relation, *household, cell, None])
    book.save(tmp_path / "h.xlsx")
    relations = {"户主": "head", "配偶": "spouse", "子女": "child"}
    members = ",".join(
        f'{{"id_number": "{n}", "name": "{name}", "relation": "{relations[r]}", '
        f'"monthly_income": {text}}}'
        for n, name, r, _, text in people
    )
    raw = json.loads(
        f'{{"household_id": "H1", "region_code": "{VILLAGE}", "dibao_status": "active", '
        f'"local_hukou": true, "assets_within_limit": true, "members": [{members}]}}'
    )
    return tmp_path / "h.xlsx", raw


def _amounts(path: Path) -> dict[str, Decimal]:
    """Policy id → amount of household H1 on the department sheets of a result workbook."""
    book = load_workbook(path, read_only=True)
    found: dict[str, Decimal] = {}
    for name in book.sheetnames:
        rows = list(book[name].iter_rows(values_only=True))
        if rows and rows[0][:7] == DEPARTMENT:
            for row in rows[1:]:
                if row[0] == "H1" and row[6] is not None:
                    found[str(row[4])] = Decimal(repr(row[6])).quantize(Decimal("0.01"))
    return found


def test_a_sheet_and_json_store_and_match_the_same_household(
    engine: Engine, tmp_path: Path, catalogue: Catalogue
) -> None:
    """The same household from an xlsx (0.1 + 0.2 as a float cell, "1,234.50" as text) and from
    JSON: the same stored document and hash, and the same batch amounts to the fen."""
    sheet, raw = _same_household_twice(tmp_path)
    from_json = parse_household(raw, catalogue.facts, today=ON)
    report = import_households(engine=engine, path=sheet, catalogue=catalogue, on=ON)
    assert report.errors == [] and report.counts["inserted"] == 1
    with read_session(engine) as session:
        stored = session.execute(select(HouseholdRow.profile_hash, HouseholdRow.facts)).one()
    assert stored.profile_hash == profile_hash(document(from_json))
    batch = run_batch(sheet, tmp_path / "r.xlsx", catalogue, on=ON)
    assert batch.errors == [] and batch.stats.households == 1
    ((_, results),) = match_chunk(catalogue, [from_json], ON)
    expected = {r.policy_id: r.amount for r in results if r.amount is not None}
    assert expected and _amounts(tmp_path / "r.xlsx") == expected
    assert expected["household.dibao.allowance"] == Decimal("580.10")  # 705 × 3 − 1534.9


# --- the template says what each number column takes --------------------------------------


def test_the_guide_sheet_states_each_number_columns_domain(
    tmp_path: Path, catalogue: Catalogue
) -> None:
    """说明 names the domain of every number and date column that has one, in Chinese."""
    for subject, expected in [
        ("household", {"月收入": "须为 0 至 1000000 之间的数，否则整户不予导入",
                       "残疾等级": "须为 1 至 4 之间的整数，否则整户不予导入"}),
        ("enterprise", {"成立日期": "须为 1949-10-01 至 评估日 之间的日期，否则该企业不予导入",
                        "在职职工人数": "须为 0 至 10000000 之间的整数"}),
    ]:  # fmt: skip
        path = tmp_path / f"{subject}s.xlsx"
        write_template(path, catalogue.facts, subject)  # type: ignore[arg-type]
        guide = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("说明").to_python()
        notes = {row[0]: row[5] for row in guide[1:] if row and row[0]}
        for header, words in expected.items():
            assert words in notes[header], notes[header]
