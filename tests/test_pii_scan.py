"""The PII scanner itself: it finds a full ID number where one leaks, and nothing else."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook

from matcher.profiles.masking import mask_id
from sheets.workbook import _DEPARTMENT
from synth.identifiers import make_ric, make_ric15, make_uscc
from tests.pii_scan import find_ids, scan_file

ROOT = Path(__file__).parents[1]
ID = make_ric(birth=date(1980, 1, 1), seq=1)  # 520602198001010010
WRONG_CHECK = ID[:17] + str((int(ID[17]) + 1) % 10)
FULL_WIDTH = ID.translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"})


ID15 = make_ric15()  # 520602600101001


@pytest.mark.parametrize(
    ("text", "found"),
    [
        pytest.param(f"户主 {ID} 已匹配", [ID], id="a full ID in a sentence"),
        pytest.param(f"x{ID}123", [f"{ID}123"], id="a full ID inside a longer run of digits"),
        pytest.param(FULL_WIDTH, [ID], id="a full-width ID"),
        pytest.param(make_ric(seq=7).lower(), [make_ric(seq=7)], id="a lower-case x check digit"),
        pytest.param(ID[:17] + "x", [ID[:17] + "X"], id="x where no X is due"),
        pytest.param(WRONG_CHECK, [WRONG_CHECK], id="18 digits with a wrong check digit"),
        pytest.param(f"旧证 {ID15}", [ID15], id="a 15-digit first-generation ID"),
        pytest.param("6222020200012345678", ["6222020200012345678"], id="a 19-digit bank card"),
        pytest.param(mask_id(ID), [], id="a masked ID"),
        pytest.param("户编号 5206020012010001", [], id="a 16-digit household number"),
        pytest.param("村 520602100201", [], id="a 12-digit region code"),
        pytest.param(make_uscc(entity_type="A"), [], id="a credit code with a letter"),
        pytest.param("", [], id="nothing"),
    ],
)
def test_find_ids_finds_every_id_shape(text: str, found: list[str]) -> None:
    """Anything ID-shaped counts, valid or not; 户编号, region codes and masked IDs do not."""
    assert find_ids(text) == found


@pytest.fixture
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for files that hold full IDs on purpose (the session scan reads `tmp_path` only)."""
    return tmp_path_factory.mktemp("pii")


def _xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def _department_row(id_number: str, name: str = "王芳") -> list[object]:
    row: list[object] = ["H1", "520602100201", name, id_number, "p1", "补贴", 10]
    return row + [""] * (len(_DEPARTMENT) - len(row))


@pytest.mark.parametrize(
    ("sheets", "found"),
    [
        pytest.param(
            {"errors": [["行", "值"], [2, ID]]},
            [("sheet errors cell B2", ID)],
            id="an output sheet with a full ID",
        ),
        pytest.param({"errors": [["行", "值"], [2, mask_id(ID)]]}, [], id="masked"),
        pytest.param(
            {"errors": [["行", "值"], [2, WRONG_CHECK]]},
            [("sheet errors cell B2", WRONG_CHECK)],
            id="a wrong check digit",
        ),
        pytest.param({"户": [["户编号", "身份证号"], ["H1", ID]]}, [], id="a roster: an input"),
        pytest.param(
            {"县民政局": [_DEPARTMENT, _department_row(ID)]},
            [],
            id="the head's ID on a department sheet",
        ),
        pytest.param(
            {"县民政局": [_DEPARTMENT, _department_row(ID, name=ID)]},
            [("sheet 县民政局 cell C2", ID)],
            id="an ID in another department column",
        ),
    ],
)
def test_scan_file_reads_every_cell_of_an_output_workbook(
    scratch: Path, sheets: dict[str, list[list[object]]], found: list[tuple[str, str]]
) -> None:
    """Cells of an output xlsx are scanned; rosters and the department head-ID column are not."""
    assert scan_file(_xlsx(scratch / "out.xlsx", sheets)) == found


@pytest.mark.parametrize(
    ("name", "content", "found"),
    [
        pytest.param("r-errors.csv", f"行,值\n2,{ID}\n", [("row 2 column 2", ID)], id="csv"),
        pytest.param(
            "h-errors.csv",
            f"行,列,值,原因\n2,身份证号,{WRONG_CHECK},校验位不符\n",
            [("row 2 column 3", WRONG_CHECK)],
            id="a csv with a wrong check digit",
        ),
        pytest.param("up.csv", f"户编号,身份证号\nH1,{ID}\n", [], id="a csv roster"),
        pytest.param(
            "e.csv",
            f"统一社会信用代码,企业名称\n{make_uscc()},{WRONG_CHECK}\n",
            [("row 2 column 2", WRONG_CHECK)],
            id="an enterprise roster: its all-digit credit code passes, an ID beside it not",
        ),
        pytest.param("r.json", f'{{"head": "{ID}"}}', [("line 1", ID)], id="a json response"),
        pytest.param("p.json", f'{{"members": [{{"id_number": "{ID}"}}]}}', [], id="a profile"),
        pytest.param("mail.eml", f"Subject: 通知\n\n{mask_id(ID)}\n", [], id="a masked mail"),
        pytest.param("notes.py", ID, [], id="not an export"),
    ],
)
def test_scan_file_tells_outputs_from_inputs(
    scratch: Path, name: str, content: str, found: list[tuple[str, str]]
) -> None:
    """Text outputs are scanned line by line; profiles, rosters and other files are not."""
    path = scratch / name
    path.write_text(content, encoding="utf-8")
    assert scan_file(path) == found


_LEAKY_TEST = f'''
import csv, logging
from pathlib import Path

def test_leaks(tmp_path: Path) -> None:
    print("stdout {ID}")
    logging.getLogger("store.example").debug("a debug line with {ID}")
    (tmp_path / "result.csv").write_text("值\\n{WRONG_CHECK}\\n", encoding="utf-8")
    (tmp_path / "households.csv").write_text("身份证号\\n{ID}\\n", encoding="utf-8")

def test_clean() -> None:
    print("{mask_id(ID)}")
'''


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "xdist workers"])
def test_the_plugin_fails_a_session_that_leaks_and_names_each_place(
    tmp_path: Path, workers: list[str]
) -> None:
    """A session whose test prints, logs or writes an ID, even a mistyped one, fails, naming it
    — also when pytest-xdist runs the tests in worker processes (`make test` does)."""
    (tmp_path / "test_leaky.py").write_text(_LEAKY_TEST, encoding="utf-8")
    basetemp = Path(tempfile.mkdtemp(prefix="pii-scan-"))  # outside tmp_path: its files leak
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "tests.pii_scan", "-p", "no:cacheprovider",
             "-q", "--rootdir", str(tmp_path), "-c", os.devnull, f"--basetemp={basetemp}",
             *workers, str(tmp_path / "test_leaky.py")],
            capture_output=True, text=True, cwd=ROOT, timeout=300,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
    finally:
        shutil.rmtree(basetemp, ignore_errors=True)
    report = result.stdout.split("PII scan")[-1]
    assert result.returncode == 1, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    for where in ("Captured stdout call", "log store.example"):
        assert f"test_leaky.py::test_leaks  {where}  {mask_id(ID)}" in report
    found = f"test_leaky.py::test_leaks  file result.csv row 2 column 1  {mask_id(WRONG_CHECK)}"
    assert found in report
    assert "households.csv" not in report and "test_clean" not in report
    assert ID not in result.stdout and WRONG_CHECK not in result.stdout
