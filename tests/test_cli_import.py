"""`zhida import households|enterprises` as an operator runs it, including a killed import."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from cli import app
from rules.catalogue import Catalogue, load_catalogue
from rules.numbers import read_number
from store.db import open_engine, read_session
from store.tables.runs import ImportRun
from store.testing import fresh_postgres, fresh_sqlite
from synth.enterprises import Enterprises
from synth.files import write_demo_data
from synth.households import Population
from tests.sheets.domain_sheets import CASES, FACT_OF, Case, policies_with_domains, write_case
from tests.store.test_import import (
    HEADER,
    ON,
    VILLAGE,
    changes,
    content,
    full_ids,
    ric,
)

ROOT = Path(__file__).parents[1]
runner = CliRunner()


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(ROOT / "policies")


@pytest.fixture
def db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The fresh database the commands use (through DATABASE_URL)."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    return database_url


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def import_runs(engine: Engine) -> list[tuple[str, int, dict[str, int]]]:
    """Every import run's state, checkpoint and counts."""
    with read_session(engine) as s:
        r = ImportRun
        return [tuple(x) for x in s.execute(select(r.state, r.last_row, r.counts).order_by(r.id))]


def test_import_twice_stores_once(db: str, tmp_path: Path, catalogue: Catalogue) -> None:
    """The second import of a demo sheet reports every household unchanged and exits 0."""
    pop = Population(households=120, seed=6, as_of=ON)
    write_demo_data(tmp_path, catalogue.facts, pop, Enterprises(15, seed=6))
    sheet = str(tmp_path / "households.xlsx")
    code, text = run("import", "households", sheet, "--on", "2025-03-01")
    assert code == 0, text
    assert "120 户通过校验" in text and "新增 120" in text and "已记入审计日志" in text
    code, text = run("import", "households", sheet, "--on", "2025-03-01")
    assert code == 0 and "新增 0 · 更新 0 · 未变 120" in text
    code, text = run("import", "enterprises", str(tmp_path / "enterprises.parquet"))
    assert code == 0 and "15 家通过校验" in text and "新增 15" in text
    code, text = run("import", "enterprises", str(tmp_path / "enterprises.parquet"))
    assert code == 0 and "未变 15" in text
    assert not list(tmp_path.glob("*-errors.csv"))  # nothing refused, no errors file
    assert not full_ids(text)


def test_an_ignored_column_is_a_warning_and_the_import_succeeds(db: str, tmp_path: Path) -> None:
    """An extra column refuses nothing: the household is stored, the errors file lists a 警告
    on row 1, and the import exits 0."""
    upload = tmp_path / "extra.csv"
    with upload.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*HEADER, "备注"])
        writer.writerow(["H1", VILLAGE, "王芳", ric(1), "户主", "在册", 300, "否", "x"])
    code, text = run("import", "households", str(upload), "--on", "2025-03-01")
    assert code == 0, text
    assert "新增 1" in text and "0 条错误、1 条警告" in text
    with (tmp_path / "extra-errors.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    assert [(r[0], r[1], r[4]) for r in rows[1:]] == [("1", "备注", "警告")]


def _bad_xlsx(path: Path) -> Path:
    """An upload with five refused rows (a float ID among them) and two good households."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    bad_check = ric(5)[:17] + ("1" if ric(5)[17] != "1" else "2")
    for row in [
        HEADER,
        ["H1", VILLAGE, "王芳", ric(1), "户主", "active", 300, "否"],  # 2 good
        ["H2", VILLAGE, "张三", bad_check, "户主", "none", 1000, "否"],  # 3
        ["H3", VILLAGE, "钱五", 520602198001010010.0, "户主", "none", 900, "否"],  # 4
        ["H4", VILLAGE, "吴八", ric(11), "表哥", None, 0, "否"],  # 5
        ["H5", VILLAGE, "孙六", ric(13), "户主", "none", "=1+1", "否"],  # 6 formula
        ["H6", VILLAGE, "周七", ric(15), "户主", "none", "很多", "否"],  # 7
        ["H7", VILLAGE, "冯十", ric(17), "户主", "none", 100, "否"],  # 8 good
    ]:
        sheet.append(row)
    sheet.cell(row=6, column=7).data_type = "s"  # text starting with =, not a formula
    book.save(path)
    return path


def test_bad_upload_prints_some_rows_and_writes_all(db: str, tmp_path: Path) -> None:
    """Refused rows: a table of the first --show, '……另有 K 条', every row in the CSV, exit 1."""
    upload = _bad_xlsx(tmp_path / "up.xlsx")
    code, text = run("import", "households", str(upload), "--on", "2025-03-01", "--show", "2")
    assert code == 1, text
    assert "新增 2" in text and "……另有 3 条" in text and "5 条错误" in text
    assert "身份证号" in text and "校验码" in text
    assert not full_ids(text)
    with (tmp_path / "up-errors.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["行", "列", "值", "原因", "级别"]
    assert [(r[0], r[1]) for r in rows[1:]] == [
        ("3", "身份证号"), ("4", "身份证号"), ("5", "与户主关系"), ("6", "月收入"), ("7", "月收入"),
    ]  # fmt: skip
    assert rows[4][2] == "'=1+1"  # a formula is escaped (RELIABILITY X1)
    assert not full_ids(str(rows)) and rows[1][2].count("*") == 11
    chosen = tmp_path / "elsewhere.csv"
    code, text = run("import", "households", str(upload), "--on", "2025-03-01",
                     "--errors", str(chosen))  # fmt: skip
    assert code == 1 and chosen.is_file() and "未变 2" in text


@pytest.fixture(scope="module")
def domain_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The policies with domains on their number and date facts (tests/fixtures)."""
    return policies_with_domains(tmp_path_factory.mktemp("domains"))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_one_absurd_number_refuses_its_household_and_every_other_is_imported(
    case: Case, db: str, tmp_path: Path, domain_root: Path
) -> None:
    """An absurd or out-of-domain cell is refused on its row and column, its household whole,
    and every other household is stored (exit 1); a cell that makes sense is stored exactly."""
    sheet = write_case(tmp_path / "up.xlsx", case)
    on = ["--on", "2025-03-01"] if case.subject == "household" else []
    code, text = run("import", f"{case.subject}s", str(sheet), *on, "--root", str(domain_root))
    assert "Traceback" not in text and not full_ids(text)
    engine = open_engine(db)
    stored = content(engine)[f"{case.subject}s"]
    ((state, _, counts),) = import_runs(engine)
    engine.dispose()
    every, holding = case.keys
    assert state == "done"
    if case.fragment is None:
        assert code == 0, text
        assert set(stored) == every
        member = stored[holding]["members"][1]  # the spouse's row
        assert read_number(member[3][FACT_OF[case.column]]) == case.stored
        return
    assert code == 1, text
    assert set(stored) == every - {holding}
    assert counts["errors"] == 1
    with (tmp_path / "up-errors.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    assert [(r[0], r[1]) for r in rows[1:]] == [(str(case.row), case.column)]
    assert case.fragment in rows[1][3], rows[1][3]
    assert "1 条错误" in text and case.column in text  # the terminal shows it too


def test_a_refused_file_stores_nothing_and_exits_2(db: str, tmp_path: Path) -> None:
    """A file that is not a sheet is refused whole, before any import run is recorded."""
    fake = tmp_path / "fake.xlsx"
    fake.write_text("not a zip")
    code, text = run("import", "households", str(fake))
    assert code == 2 and "not an xlsx" in text
    engine = open_engine(db)
    assert import_runs(engine) == []
    engine.dispose()


def _another_database(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A second fresh database of the same kind, for a clean import to compare with."""
    if kind == "sqlite":
        fresh_sqlite(tmp_path / "clean.db", request.getfixturevalue("sqlite_template")).dispose()
        return f"sqlite:///{tmp_path / 'clean.db'}"
    server = request.getfixturevalue("postgres_server_url")
    return fresh_postgres(server, f"clean_{os.getpid()}_{time.monotonic_ns()}")


def _kill_after_first_chunk(command: list[str], env: dict[str, str], url: str) -> int:
    """Start the import, SIGKILL it as soon as a chunk is committed; the last_row it left."""
    engine = open_engine(url)
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    last = 0
    try:
        for _ in range(200_000):  # a bound, not a timing assertion: the import ends anyway
            if process.poll() is not None:
                break
            with read_session(engine) as s:
                last = s.execute(select(ImportRun.last_row)).scalar() or 0
            if last > 0:
                process.send_signal(signal.SIGKILL)
                break
            time.sleep(0.002)
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
        engine.dispose()
    assert process.returncode == -signal.SIGKILL, "the import ended before it could be killed"
    return last


def test_a_killed_import_resumes_to_the_same_result_as_a_clean_one(
    db: str, database_kind: str, request: pytest.FixtureRequest, tmp_path: Path,
    catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """SIGKILL mid-import, run again without --on: the run resumes under its own date, and the
    database equals a clean import, no change twice."""
    pop = Population(households=3000, seed=8, as_of=ON)
    write_demo_data(tmp_path, catalogue.facts, pop, Enterprises(0))
    sheet = str(tmp_path / "households.csv")
    args = ["import", "households", sheet, "--on", "2025-03-01", "--chunk", "50"]
    command = [sys.executable, "-c", "from cli import app; app()", *args]
    env = {**os.environ, "DATABASE_URL": db, "PYTHONPATH": str(ROOT)}
    killed_at = _kill_after_first_chunk(command, env, db)
    engine = open_engine(db)
    assert [r[:2] for r in import_runs(engine)] == [("running", killed_at)]
    assert 0 < len(content(engine)["households"]) < 3000
    resume = [a for a in command if a not in ("--on", "2025-03-01")]  # the run's own date
    again = subprocess.run(resume, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr
    assert f"续传导入 1：从第 {killed_at:,} 行之后继续" in again.stdout
    assert "（按 2025-03-01 校验各行）" in again.stdout
    clean_url = _another_database(database_kind, request, tmp_path)
    monkeypatch.setenv("DATABASE_URL", clean_url)
    assert run(*args)[0] == 0
    clean = open_engine(clean_url)
    try:
        assert content(engine) == content(clean)
        resumed, fresh = changes(engine), changes(clean)
        assert len(resumed) == 3000 and len({c["key"] for c in resumed}) == 3000
        assert sorted(map(str, resumed)) == sorted(map(str, fresh))  # no change recorded twice
        ((state, _, counts),) = import_runs(engine)
        assert (state, counts["inserted"], counts["unchanged"]) == ("done", 3000, 0)
    finally:
        engine.dispose()
        clean.dispose()
