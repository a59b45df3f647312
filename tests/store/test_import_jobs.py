"""Imports for a region and import jobs, on SQLite and PostgreSQL: rows outside the uploader's
region refused by row and column, jobs created, scoped in SQL, claimed once, run, recovered."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlmodel import col

from rules.catalogue import Catalogue, load_catalogue
from sheets.guards import SheetError
from store.db import read_session, write_session
from store.ingest.job_run import run_job
from store.ingest.jobs import claim_next, create_job, get_job, list_jobs, recover_jobs, upload_path
from store.ingest.run import Events, import_enterprises, import_households
from store.scope import Scope
from store.tables.import_jobs import ImportJob
from store.tables.profiles import EnterpriseRow, HouseholdRow
from synth.identifiers import make_uscc
from tests.store.test_import import E_HEADER, ON, ROOT, VILLAGE, full_ids, ric, write_csv

OTHER = "520602100202"  # a sibling village of VILLAGE
CUN = Scope(user="cun", role="village", region=VILLAGE)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(ROOT / "policies")


@pytest.fixture
def uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("ZHIDA_DATA_DIR", str(tmp_path / "data"))
    yield tmp_path / "data" / "uploads"


def _stored(engine: Engine) -> dict[str, str]:
    with read_session(engine) as s:
        rows = s.execute(
            select(col(HouseholdRow.household_no), col(HouseholdRow.region_code))
        ).all()
    return {no: region for no, region in rows}


def test_a_region_import_refuses_what_lies_outside_it_and_stores_the_rest(
    engine: Engine, tmp_path: Path, catalogue: Catalogue
) -> None:
    """Another village's code, a 户编号 stored in another village, a member registered there:
    each a row error naming its row and column; the household inside is stored."""
    theirs = write_csv(tmp_path / "theirs.csv", [
        ["T1", OTHER, "甲", ric(31), "户主", "none", 500, "否"],
        ["T2", OTHER, "乙", ric(33), "户主", "none", 500, "否"],
    ])  # fmt: skip
    import_households(engine=engine, path=theirs, catalogue=catalogue, on=ON)
    upload = write_csv(tmp_path / "mine.csv", [
        ["M1", VILLAGE, "丙", ric(35), "户主", "none", 500, "否"],  # 2 stored
        ["M2", OTHER, "丁", ric(37), "户主", "none", 500, "否"],  # 3 another village's code
        ["T1", VILLAGE, "甲", ric(31), "户主", "none", 500, "否"],  # 4 T1 is the sibling's
        ["M3", VILLAGE, "戊", ric(39), "户主", "none", 500, "否"],  # 5
        ["M3", VILLAGE, "乙", ric(33), "配偶", None, 0, "否"],  # 6 registered in T2 (sibling)
    ])  # fmt: skip
    report = import_households(engine=engine, path=upload, catalogue=catalogue, on=ON,
                               region=VILLAGE, chunk=2)  # fmt: skip
    found = {(e.row, e.column): e.reason for e in report.errors}
    assert set(found) == {(3, "村（居）代码"), (4, "村（居）代码"), (6, "身份证号")}
    assert all(f"不在您的辖区（{VILLAGE}）" in found[k] for k in [(3, "村（居）代码"),
                                                                (4, "村（居）代码")])  # fmt: skip
    assert "户编号 T1" in found[(4, "村（居）代码")] and "迁出" in found[(6, "身份证号")]
    assert not full_ids(" ".join(f"{e.value} {e.reason}" for e in report.errors))
    assert _stored(engine) == {"T1": OTHER, "T2": OTHER, "M1": VILLAGE}
    c = report.counts
    assert (c["households"], c["refused_households"], c["refused_rows"], c["inserted"]) == (
        1, 3, 4, 1,
    )  # fmt: skip


def test_a_county_enterprise_import_refuses_another_county_and_a_missing_region(
    engine: Engine, tmp_path: Path, catalogue: Catalogue
) -> None:
    """An enterprise of another county or with no region is refused at 所在地区代码."""
    codes = [make_uscc(region="520602", seq=i) for i in (1, 2, 3)]
    upload = write_csv(tmp_path / "firms.csv", [
        [codes[0], "甲公司", "520602", "small", "2020-01-01", 10],
        [codes[1], "乙公司", "520625", "small", "2020-01-01", 10],
        [codes[2], "丙公司", None, "small", "2020-01-01", 10],
    ], header=E_HEADER)  # fmt: skip
    report = import_enterprises(engine=engine, path=upload, catalogue=catalogue, region="520602")
    found = {(e.row, e.column): e.reason for e in report.errors}
    assert set(found) == {(3, "所在地区代码"), (4, "所在地区代码")}
    assert "所在地区代码为空" in found[(4, "所在地区代码")]
    with read_session(engine) as s:
        assert s.execute(select(col(EnterpriseRow.credit_code))).scalars().all() == [codes[0]]
    assert (report.counts["enterprises"], report.counts["refused_rows"]) == (1, 2)


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        ("cun.txt", b"a,b\n", "扩展名 .txt"),
        ("cun.xlsx", b"", "文件是空的"),
        ("cun.xlsx", b"\xd0\xcf\x11\xe0 an old .xls", "内容却不是 zip 压缩包"),
        ("cun.parquet", b"PK\x03\x04", "内容却不是 parquet 文件"),
    ],
)
def test_a_file_that_is_no_sheet_is_refused_at_once_and_nothing_kept(
    engine: Engine, uploads: Path, name: str, content: bytes, said: str
) -> None:
    """Wrong suffix, empty, mislabelled: a SheetError naming the file; no job, no file."""
    with pytest.raises(SheetError, match=said):
        create_job(engine=engine, scope=CUN, kind="households", file_name=name,
                   source=io.BytesIO(content), on=ON)  # fmt: skip
    with read_session(engine) as s:
        assert s.execute(select(ImportJob)).first() is None
    assert not uploads.exists() or not any(uploads.iterdir())


def _job(engine: Engine, scope: Scope, path: Path) -> int:
    with path.open("rb") as handle:
        return create_job(engine=engine, scope=scope, kind="households", file_name=path.name,
                          source=handle, on=ON).id  # fmt: skip


@pytest.mark.parametrize(
    ("role", "region", "sees"),
    [("village", VILLAGE, True), ("village", OTHER, False), ("township", VILLAGE[:9], True),
     ("county", "520602", True), ("county", "520625", False), ("supervisor", "520602", True),
     ("department", "520602", False), ("policy_writer", "520602", False)],
)  # fmt: skip
def test_a_job_is_seen_only_where_the_region_covers_the_uploaders(
    engine: Engine, uploads: Path, tmp_path: Path, role: str, region: str, sees: bool
) -> None:
    """The village's job: its village, township, county and supervisor see it; no one else."""
    job_id = _job(engine, CUN, write_csv(tmp_path / "a.csv", []))
    scope = Scope(user="x", role=role, region=region)
    with read_session(engine) as s:
        one = get_job(session=s, scope=scope, job_id=job_id)
        page = list_jobs(session=s, scope=scope, limit=10, offset=0)
    assert (one is not None, page.total) == (sees, int(sees))


def test_a_job_is_claimed_once_run_with_progress_and_its_upload_deleted(
    engine: Engine, uploads: Path, tmp_path: Path, catalogue: Catalogue
) -> None:
    """Claimed by one worker only; progress written as chunks are stored; errors masked."""
    rows = [[f"P{i}", VILLAGE, "某", ric(60 + i), "户主", "none", 500, "否"] for i in range(5)]
    rows.append(["P9", OTHER, "某", ric(90), "户主", "none", 500, "否"])
    job_id = _job(engine, CUN, write_csv(tmp_path / "p.csv", rows))
    assert upload_path(job_id, ".csv").exists()
    claimed = claim_next(engine=engine)
    assert claimed is not None and claimed.id == job_id and claimed.state == "running"
    assert claim_next(engine=engine) is None
    seen: list[Any] = []

    def watch(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.startswith("UPDATE import_job") and "rows_read" in statement:
            seen.append(params)

    events = lambda on: Events(catalogue, ROOT / "policies", _reactions(catalogue), on)  # noqa: E731
    event.listen(engine, "before_cursor_execute", watch)
    try:
        done = run_job(engine=engine, job_id=job_id, catalogue=catalogue, events=events)
    finally:
        event.remove(engine, "before_cursor_execute", watch)
    assert done.state == "done" and done.rows_read == 6 and done.import_run_id is not None
    assert len(seen) >= 2  # at least one chunk's progress, then the end
    assert [(e["row"], e["column"]) for e in done.errors] == [(7, "村（居）代码")]
    assert done.counts["inserted"] == 5 and not upload_path(job_id, ".csv").exists()


def _reactions(catalogue: Catalogue) -> Any:
    from matcher.events.reactions import Reactions

    return Reactions.load(ROOT / "policies", catalogue)


def test_a_file_refused_whole_fails_the_job_with_the_imports_message(
    engine: Engine, uploads: Path, tmp_path: Path, catalogue: Catalogue
) -> None:
    """A sheet without the required columns: the job fails saying which are missing."""
    bad = tmp_path / "bad.csv"
    bad.write_text("姓名\n张三\n", encoding="utf-8")
    job_id = _job(engine, CUN, bad)
    assert claim_next(engine=engine) is not None
    events = lambda on: Events(catalogue, ROOT / "policies", _reactions(catalogue), on)  # noqa: E731
    done = run_job(engine=engine, job_id=job_id, catalogue=catalogue, events=events)
    assert done.state == "failed" and done.reason is not None and "缺少" in done.reason
    assert not upload_path(job_id, ".csv").exists()


def test_jobs_left_running_are_queued_again_or_failed_when_their_file_is_gone(
    engine: Engine, uploads: Path, tmp_path: Path
) -> None:
    """At start: a running job with its upload is queued again; one without fails, saying why."""
    kept = _job(engine, CUN, write_csv(tmp_path / "k.csv", []))
    gone = _job(engine, CUN, write_csv(tmp_path / "g.csv", []))
    assert claim_next(engine=engine) is not None and claim_next(engine=engine) is not None
    upload_path(gone, ".csv").unlink()
    assert recover_jobs(engine=engine) == [kept]
    with write_session(engine) as s:
        states = {i: st for i, st in s.execute(select(col(ImportJob.id), col(ImportJob.state)))}
        reason = s.get_one(ImportJob, gone).reason
    assert states == {kept: "queued", gone: "failed"} and reason and "重新上传" in reason
