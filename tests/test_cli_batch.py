"""`zhida demo-data`, `zhida template` and `zhida batch` end to end, as a user runs them."""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import load_workbook
from typer.testing import CliRunner

from cli import app

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
    assert book.sheetnames[0] == "汇总" and book.sheetnames[-2:] == ["待补充", "errors"]
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
    with (tmp_path / "r-errors.csv").open(encoding="utf-8-sig") as handle:
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
