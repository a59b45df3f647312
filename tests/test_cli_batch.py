"""`zhida demo-data`, `zhida template` and `zhida batch` end to end, as a user runs them."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import column_index_from_string, get_column_letter
from typer.testing import CliRunner

from cli import app
from synth.identifiers import make_ric
from tests.sheets.domain_sheets import CASES, Case, policies_with_domains, write_case

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_demo_data_then_batch_writes_every_sheet(tmp_path: Path) -> None:
    """A few hundred generated households go through batch into summary, departments, 待补充."""
    code, text = run("demo-data", "--households", "250", "--enterprises", "10", "--seed", "4",
                     "--out", str(tmp_path))  # fmt: skip
    assert code == 0, text
    for name in ("households", "enterprises"):
        for suffix in (".xlsx", ".csv", ".parquet"):
            assert (tmp_path / f"{name}{suffix}").is_file()
    result = tmp_path / "result.xlsx"
    code, text = run("batch", str(tmp_path / "households.xlsx"), "--on", "2025-03-01",
                     "--out", str(result))  # fmt: skip
    assert code == 0, text
    assert "250 户已匹配" in text and str(result) in text
    assert "读取与校验" in text and "匹配" in text and "写出" in text  # the time of each stage
    book = load_workbook(result, read_only=True)
    assert book.sheetnames[0] == "汇总" and book.sheetnames[-2:] == ["待补充", "错误"]
    assert "县民政局" in book.sheetnames and "县供电公司" in book.sheetnames
    summary = list(book["汇总"].iter_rows(min_row=2, values_only=True))
    policies = [r for r in summary if r and isinstance(r[0], str) and r[0].startswith("household.")]
    assert all(r[4] + r[5] + r[6] == 250 for r in policies)
    assert sum(r[4] for r in policies) > 0


def test_batch_of_a_bad_upload_still_matches_the_good_rows(tmp_path: Path) -> None:
    """A csv with a bad row gives an errors file and results for the good household."""
    upload = tmp_path / "up.csv"
    with upload.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["户编号", "村（居）代码", "姓名", "身份证号", "与户主关系", "低保状态"])
        writer.writerow(["H1", "520602100201", "王芳", "520602198001010010", "户主", "active"])
        writer.writerow(["H2", "520602100201", "李强", "520602198001010011", "户主", "active"])
    code, text = run("batch", str(upload), "--on", "2025-03-01", "--out", str(tmp_path / "r.csv"))
    assert code == 0, text
    with (tmp_path / "r-错误.csv").open(encoding="utf-8-sig") as handle:
        errors = list(csv.reader(handle))
    assert errors[1][:2] == ["3", "身份证号"] and "校验码" in errors[1][3]
    with (tmp_path / "r-县供电公司.csv").open(encoding="utf-8-sig") as handle:
        assert [row[0] for row in csv.reader(handle)][1:] == ["H1"]


def test_template_and_refused_input(tmp_path: Path) -> None:
    """`template` writes both templates; batch refuses a file that is not a sheet with exit 2."""
    assert run("template", str(tmp_path / "households.xlsx"))[0] == 0
    assert run("template", str(tmp_path / "enterprises.xlsx"))[0] == 0
    book = load_workbook(tmp_path / "enterprises.xlsx", read_only=True)
    assert book.sheetnames == ["企业", "说明", "选项"]
    fake = tmp_path / "fake.xlsx"
    fake.write_text("not a zip")
    code, text = run("batch", str(fake), "--out", str(tmp_path / "r.xlsx"))
    assert code == 2 and "not an xlsx" in text


def test_template_offers_drop_downs_and_formats_dates(tmp_path: Path) -> None:
    """Every enum, 是/否 and relation column has a drop-down of its Chinese choices (from the
    hidden 选项 sheet); date columns are formatted as dates; the header row is frozen."""
    code, text = run("template", str(tmp_path / "enterprises.xlsx"))
    assert code == 0 and "已写出" in text
    book = load_workbook(tmp_path / "enterprises.xlsx")
    sheet, options = book["企业"], book["选项"]
    assert options.sheet_state == "hidden" and sheet.freeze_panes == "A2"
    headers = [c.value for c in sheet[1]]
    offered: dict[str, list[str]] = {}
    for rule in sheet.data_validations.dataValidation:
        assert rule.type == "list"
        [cells] = str(rule.sqref).split()
        column = headers[column_index_from_string(cells.split(":")[0].rstrip("0123456789")) - 1]
        assert cells.endswith("1048576")
        source = options[rule.formula1.split("!")[1].replace("$", "")]
        offered[column] = [c.value for (c,) in source]
    assert offered["企业规模"] == ["大型", "中型", "小型", "微型"]
    assert "制造业" in offered["行业门类"] and offered["首次创业"] == ["是", "否"]
    assert "统一社会信用代码" not in offered and "在职职工人数" not in offered
    at = headers.index("成立日期") + 1
    assert sheet.column_dimensions[get_column_letter(at)].number_format == "yyyy-mm-dd"
    code, _ = run("template", str(tmp_path / "households.xlsx"))
    household = load_workbook(tmp_path / "households.xlsx")["户成员"]
    rules = {str(r.sqref).split(":")[0] for r in household.data_validations.dataValidation}
    assert "E2" in rules  # 与户主关系


@pytest.fixture(scope="module")
def domain_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The policies with domains on their number and date facts (tests/fixtures)."""
    return policies_with_domains(tmp_path_factory.mktemp("domains"))


HOUSEHOLD_CASES = [c for c in CASES if c.subject == "household"]  # batch reads household sheets


@pytest.mark.parametrize("case", HOUSEHOLD_CASES, ids=[c.name for c in HOUSEHOLD_CASES])
def test_one_absurd_number_refuses_its_household_and_every_other_is_batched(
    case: Case, tmp_path: Path, domain_root: Path
) -> None:
    """An absurd or out-of-domain cell is listed on the errors sheet by row and column, its
    household refused whole, and the workbook holds every other household's results."""
    sheet = write_case(tmp_path / "up.xlsx", case)
    result = tmp_path / "result.xlsx"
    code, text = run("batch", str(sheet), "--on", "2025-03-01", "--out", str(result),
                     "--root", str(domain_root))  # fmt: skip
    assert code == 0 and "Traceback" not in text, text
    book = load_workbook(result, read_only=True)
    errors = list(book["错误"].iter_rows(min_row=2, values_only=True))
    matched = {
        row[0]
        for name in book.sheetnames
        if name not in ("汇总", "错误")
        for row in book[name].iter_rows(min_row=2, values_only=True)
    }
    every, holding = case.keys
    if case.fragment is None:
        assert "3 户已匹配" in text and errors == []
        assert matched == every
        return
    assert "2 户已匹配" in text and "1 户、2 行被拒" in text
    assert [(r[0], r[1]) for r in errors] == [(case.row, case.column)]
    assert case.fragment in errors[0][3], errors[0][3]
    assert matched == every - {holding}


def _summary(book: object) -> tuple[list[tuple[object, ...]], dict[object, object]]:
    rows = list(book["汇总"].iter_rows(min_row=2, values_only=True))  # type: ignore[index]
    policies = [r for r in rows if r and isinstance(r[0], str) and "." in r[0]]
    counts = {r[0]: r[1] for r in rows if r and r[0] and r not in policies}
    return policies, counts


def test_batch_reads_an_enterprise_sheet_by_its_header(tmp_path: Path) -> None:
    """An enterprise roster goes through batch (told by its header, or --subject) into an
    enterprise workbook whose counts the console repeats."""
    code, text = run("demo-data", "--households", "5", "--enterprises", "30", "--seed", "2",
                     "--out", str(tmp_path))  # fmt: skip
    assert code == 0, text
    result = tmp_path / "er.xlsx"
    code, text = run("batch", str(tmp_path / "enterprises.csv"), "--on", "2025-03-01",
                     "--out", str(result))  # fmt: skip
    assert code == 0, text
    book = load_workbook(result, read_only=True)
    header = next(book[book.sheetnames[1]].iter_rows(values_only=True))
    assert header[:3] == ("统一社会信用代码", "企业名称", "所在地区代码")
    policies, counts = _summary(book)
    assert policies and all(r[0].startswith("enterprise.") for r in policies)
    assert all(r[4] + r[5] + r[6] == 30 for r in policies)
    assert counts["已匹配企业数"] == 30 and "30 家企业已匹配" in text
    assert f"{sum(r[4] for r in policies)} 项符合" in text
    code, text = run("batch", str(tmp_path / "enterprises.csv"), "--subject", "household",
                     "--out", str(tmp_path / "x.xlsx"))  # fmt: skip
    assert code == 2 and "身份证号" in text and "Traceback" not in text


def test_console_and_summary_count_the_same_rows(tmp_path: Path) -> None:
    """Matched and refused households and rows, errors and warnings: the console says what
    the summary sheet says, and an ignored extra column is a warning that refuses nothing."""
    upload = tmp_path / "up.csv"
    with upload.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["户编号", "村（居）代码", "姓名", "身份证号", "与户主关系", "备注"])
        writer.writerow(["H1", "520602100201", "王芳", make_ric(seq=1), "户主", "x"])
        child = make_ric(birth=date(2010, 1, 1), seq=3)
        writer.writerow(["H1", "520602100201", "王明", child, "子女", ""])
        writer.writerow(["H2", "520602100201", "李强", "520602198001010011", "户主", ""])
        writer.writerow(["H2", "520602100201", "李丽", make_ric(seq=5), "配偶", ""])
    result = tmp_path / "r.xlsx"
    code, text = run("batch", str(upload), "--on", "2025-03-01", "--out", str(result))
    assert code == 0, text
    book = load_workbook(result, read_only=True)
    policies, counts = _summary(book)
    assert (counts["已匹配户数"], counts["已匹配行数"]) == (1, 2)
    assert (counts["被拒户数"], counts["被拒行数"]) == (1, 2)
    assert (counts["错误（条）"], counts["警告（条）"]) == (1, 1)
    assert "1 户已匹配（2 行）" in text and "1 户、2 行被拒" in text
    assert "1 条错误、1 条警告" in text
    asked = sum(1 for _ in book["待补充"].iter_rows(min_row=2))
    assert counts["待补充表（行）"] == asked and f"待补充表 {asked} 行" in text
    assert f"{sum(r[4] for r in policies)} 项符合" in text
    assert f"{sum(r[5] for r in policies)} 项待补充" in text
    levels = [(r[0], r[4]) for r in book["错误"].iter_rows(min_row=2, values_only=True)]
    assert levels == [(1, "警告"), (4, "错误")]
