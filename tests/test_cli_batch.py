"""`zhida demo-data`, `zhida template` and `zhida batch` end to end, as a user runs them."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from cli import app
from tests.store.domain_sheets import CASES, Case, policies_with_domains, write_case

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
    assert errors[1][:2] == ["3", "身份证号"] and "check digit" in errors[1][3]
    with (tmp_path / "r-县供电公司.csv").open(encoding="utf-8-sig") as handle:
        assert [row[0] for row in csv.reader(handle)][1:] == ["H1"]


def test_template_and_refused_input(tmp_path: Path) -> None:
    """`template` writes both templates; batch refuses a file that is not a sheet with exit 2."""
    assert run("template", str(tmp_path / "households.xlsx"))[0] == 0
    assert run("template", str(tmp_path / "enterprises.xlsx"))[0] == 0
    book = load_workbook(tmp_path / "enterprises.xlsx", read_only=True)
    assert book.sheetnames == ["企业", "说明"]
    fake = tmp_path / "fake.xlsx"
    fake.write_text("not a zip")
    code, text = run("batch", str(fake), "--out", str(tmp_path / "r.xlsx"))
    assert code == 2 and "not an xlsx" in text


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
