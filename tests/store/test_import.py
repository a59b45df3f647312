"""Importing profile files: idempotence, bad rows, changes, members as a set, moves, resume."""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from matcher.profiles.identifiers import ric_check_digit
from matcher.profiles.masking import mask_id
from rules.catalogue import Catalogue, load_catalogue
from store.audit.log import verify
from store.db import read_session, write_session
from store.ingest.run import (
    ImportConflict,
    ImportReport,
    file_sha256,
    import_enterprises,
    import_households,
)
from store.tables.audit import AuditRecord
from store.tables.profiles import EnterpriseRow, HouseholdRow, MemberRow, ProfileChange
from store.tables.runs import ImportRun
from synth.enterprises import Enterprises
from synth.files import write_demo_data
from synth.households import Population
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
E_HEADER = ["统一社会信用代码", "企业名称", "所在地区代码", "企业规模", "成立日期", "在职职工人数"]
HOSTILE = ["' OR '1'='1", "'); DROP TABLE household;--", "%", "_"]
_FULL_ID = re.compile(r"\d{17}[\dX]")


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(ROOT / "policies")


def ric(seq: int, birth: date = date(1980, 1, 1)) -> str:
    """A valid ID number of county 520602 (distinct `seq`, distinct person)."""
    return make_ric(region="520602", birth=birth, seq=seq)


def write_csv(path: Path, rows: list[list[Any]], header: list[str] = HEADER) -> Path:
    """A UTF-8 sheet with a header row, as a village operator saves one."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    return path


def demo_households(folder: Path, catalogue: Catalogue, households: int, seed: int = 2) -> Path:
    """A synthetic village sheet (csv) of `households` households."""
    pop = Population(households=households, seed=seed, as_of=ON)
    write_demo_data(folder, catalogue.facts, pop, Enterprises(0))
    return folder / "households.csv"


def run_households(engine: Engine, path: Path, catalogue: Catalogue, **kw: Any) -> ImportReport:
    return import_households(engine=engine, path=path, catalogue=catalogue, on=ON, **kw)


def content(engine: Engine) -> dict[str, Any]:
    """Every stored household and enterprise by natural key (no ids, no timestamps)."""
    h, m, e = HouseholdRow, MemberRow, EnterpriseRow
    with read_session(engine) as s:
        homes = {
            r.household_no: {"region": r.region_code, "facts": r.facts, "hash": r.profile_hash,
                             "members": []}
            for r in s.execute(select(h.household_no, h.region_code, h.facts, h.profile_hash))
        }  # fmt: skip
        members = s.execute(
            select(h.household_no, m.id_number, m.name, m.relation, m.facts)
            .join(h, h.id == m.household_id)
            .order_by(h.id, m.position)
        )
        for r in members:
            homes[r.household_no]["members"].append((r.id_number, r.name, r.relation, r.facts))
        firms = {
            r.credit_code: (r.name, r.region_code, r.facts, r.profile_hash)
            for r in s.execute(
                select(e.credit_code, e.name, e.region_code, e.facts, e.profile_hash)
            )
        }
    return {"households": homes, "enterprises": firms}


def tables(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the profile tables, every column, ids and timestamps included."""
    with read_session(engine) as s:
        return {
            model.__tablename__: [
                tuple(r) for r in s.execute(select(*model.__table__.columns).order_by(model.id))
            ]
            for model in (HouseholdRow, MemberRow, EnterpriseRow, ProfileChange)
        }


def changes(engine: Engine) -> list[dict[str, Any]]:
    """Profile changes with the natural key of their subject, oldest first."""
    c, h, e = ProfileChange, HouseholdRow, EnterpriseRow
    with read_session(engine) as s:
        keys = {
            ("household", r.id): r.household_no for r in s.execute(select(h.id, h.household_no))
        }
        keys |= {
            ("enterprise", r.id): r.credit_code for r in s.execute(select(e.id, e.credit_code))
        }
        rows = s.execute(
            select(c.subject_kind, c.subject_id, c.kind, c.changes, c.source).order_by(c.id)
        )
        return [
            {"key": keys[(r.subject_kind, r.subject_id)], "kind": r.kind, "changes": r.changes,
             "source": r.source}
            for r in rows
        ]  # fmt: skip


def full_ids(text_: str) -> list[str]:
    """ID numbers with a valid check digit in some text (there must be none outside member)."""
    return [m for m in _FULL_ID.findall(text_) if ric_check_digit(m[:17]) == m[17]]


def test_reimport_of_the_same_file_changes_nothing(
    engine: Engine, tmp_path: Path, catalogue: Catalogue
) -> None:
    """A second import of a file stores nothing: all unchanged, tables identical, no changes."""
    path = demo_households(tmp_path, catalogue, 300)
    first = run_households(engine, path, catalogue, chunk=64)
    assert (first.counts["inserted"], first.counts["households"]) == (300, 300)
    before = tables(engine)
    again = run_households(engine, path, catalogue, chunk=64)
    assert (again.counts["inserted"], again.counts["updated"], again.counts["unchanged"]) == (
        0, 0, 300,
    )  # fmt: skip
    assert tables(engine) == before
    assert len(before["profile_change"]) == 300 and len(before["member"]) > 300
    with read_session(engine) as s:
        a = AuditRecord
        records = s.execute(
            select(a.subject, a.inputs_hash, a.details).where(a.action == "import").order_by(a.seq)
        ).all()
        assert verify(session=s).ok
    assert [r.subject for r in records] == ["file:households.csv"] * 2
    assert {r.inputs_hash for r in records} == {file_sha256(path)}
    assert '"inserted":300' in records[0].details and '"unchanged":300' in records[1].details


def _bad_check(seq: int) -> str:
    good = ric(seq)
    return good[:17] + ("1" if good[17] != "1" else "2")


def _feb30() -> str:
    body = "520602" + "19900230" + "123"
    return body + ric_check_digit(body)


def _full_width(value: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in value)


def test_bad_rows_are_refused_the_good_stored_and_the_stored_untouched(
    engine: Engine, tmp_path: Path, catalogue: Catalogue
) -> None:
    """Bad ID, float ID, 2月30日, unknown relation: refused by row and column; the rest stored."""
    before = write_csv(tmp_path / "before.csv", [
        ["H2", VILLAGE, "张三", ric(5), "户主", "none", 1000, "否"],
        ["H5", VILLAGE, "孙六", ric(21), "户主", "none", 800, "否"],
        ["H6", VILLAGE, "周七", ric(9), "户主", "none", 100, "否"],
    ])  # fmt: skip
    run_households(engine, before, catalogue)
    stored = content(engine)["households"]
    upload = write_csv(tmp_path / "upload.csv", [
        ["H1", VILLAGE, "王芳", ric(1), "户主", "active", 300, "否"],  # 2 good
        ["H1", VILLAGE, "李强", ric(3), "配偶", None, 400, "否"],  # 3 good
        ["H2", VILLAGE, "张三", _bad_check(5), "户主", "none", 999, "否"],  # 4 check digit
        ["H3", VILLAGE, "赵四", _full_width(ric(7)), "户主", "none", 900, "否"],  # 5 accepted
        ["H4", VILLAGE, "钱五", "5.20602198001E+17", "户主", "none", 900, "否"],  # 6 a float
        ["H5", VILLAGE, "孙六", _feb30(), "户主", "none", 900, "否"],  # 7 no such day
        ["H6", VILLAGE, "周七", ric(9), "户主", "none", 900, "否"],  # 8 (its household is bad)
        ["H6", VILLAGE, "吴八", ric(11), "表哥", None, 0, "否"],  # 9 unknown relation
        ["H8", VILLAGE, "冯十", ric(15), "head", "active", 100, "true"],  # 10 good
    ])  # fmt: skip
    report = run_households(engine, upload, catalogue)
    found = {(e.row, e.column): e.reason for e in report.errors}
    assert set(found) == {(4, "身份证号"), (6, "身份证号"), (7, "身份证号"), (9, "与户主关系")}
    assert "校验码" in found[(4, "身份证号")]
    assert "以数字形式上传" in found[(6, "身份证号")]
    assert "不是真实存在的日期" in found[(7, "身份证号")]
    assert "无法识别" in found[(9, "与户主关系")]
    assert not full_ids(" ".join(f"{e.value} {e.reason}" for e in report.errors))
    after = content(engine)["households"]
    assert sorted(after) == ["H1", "H2", "H3", "H5", "H6", "H8"]
    assert {k: after[k] for k in ("H2", "H5", "H6")} == stored  # refused: left as they were
    assert after["H3"]["members"][0][0] == ric(7)  # full-width digits stored as ASCII
    c = report.counts
    assert (c["inserted"], c["updated"], c["refused_households"], c["errors"]) == (3, 0, 4, 4)


def test_a_changed_file_updates_only_the_changed_households(
    engine: Engine, tmp_path: Path, catalogue: Catalogue
) -> None:
    """Only changed households are written, each with one change listing its paths and source."""
    v1 = [
        ["H1", VILLAGE, "王芳", ric(1), "户主", "active", 300, "否"],
        ["H1", VILLAGE, "李强", ric(3), "配偶", None, 400, "否"],
        ["H2", VILLAGE, "张三", ric(5), "户主", "none", 1000, "否"],
        ["H3", VILLAGE, "赵四", ric(7), "户主", "none", 900, "否"],
    ]
    run_households(engine, write_csv(tmp_path / "v1.csv", v1), catalogue)
    stamps = _updated_at(engine)
    v2 = [row[:] for row in v1]
    v2[1][6] = 500  # 李强's income
    v2[3][1] = "520602100202"  # H3 moved village
    report = run_households(engine, write_csv(tmp_path / "v2.csv", v2), catalogue)
    c = report.counts
    assert (c["inserted"], c["updated"], c["unchanged"]) == (0, 2, 1)
    updated = [x for x in changes(engine) if x["kind"] == "updated"]
    assert [(x["key"], x["source"]) for x in updated] == [
        ("H1", "v2.csv rows 2–3"), ("H3", "v2.csv row 5"),
    ]  # fmt: skip
    path = f"members[{mask_id(ric(3))}].monthly_income"
    assert updated[0]["changes"] == [{"path": path, "before": 400, "after": 500}]
    assert updated[1]["changes"] == [
        {"path": "region_code", "before": VILLAGE, "after": "520602100202"}
    ]
    after = _updated_at(engine)
    assert after["H2"] == stamps["H2"] and after["H1"] != stamps["H1"]


def _updated_at(engine: Engine) -> dict[str, Any]:
    with read_session(engine) as s:
        rows = s.execute(select(HouseholdRow.household_no, HouseholdRow.updated_at))
        return {r.household_no: r.updated_at for r in rows}


def test_members_are_replaced_as_a_set(
    engine: Engine, tmp_path: Path, catalogue: Catalogue
) -> None:
    """A member left out of the new file is gone, a new one is added, the sheet order is kept."""
    run_households(engine, write_csv(tmp_path / "a.csv", [
        ["H1", VILLAGE, "甲", ric(1), "户主", "none", 100, "否"],
        ["H1", VILLAGE, "乙", ric(3), "配偶", None, 100, "否"],
        ["H1", VILLAGE, "丙", ric(5, date(2010, 1, 1)), "子女", None, 0, "是"],
    ]), catalogue)  # fmt: skip
    run_households(engine, write_csv(tmp_path / "b.csv", [
        ["H1", VILLAGE, "甲", ric(1), "户主", "none", 100, "否"],
        ["H1", VILLAGE, "丁", ric(7, date(2012, 1, 1)), "子女", None, 0, "是"],
        ["H1", VILLAGE, "乙", ric(3), "配偶", None, 100, "否"],
    ]), catalogue)  # fmt: skip
    members = content(engine)["households"]["H1"]["members"]
    assert [m[1] for m in members] == ["甲", "丁", "乙"]
    with read_session(engine) as s:
        numbers = s.execute(select(MemberRow.id_number)).scalars().all()
    assert sorted(numbers) == sorted([ric(1), ric(3), ric(7, date(2012, 1, 1))])
    diff = changes(engine)[-1]["changes"]
    assert {"path": f"members[{mask_id(ric(5, date(2010, 1, 1)))}]", "before": "member",
            "after": None} in diff  # fmt: skip


def test_a_person_in_another_household_moves_and_the_old_one_is_reported(
    engine: Engine, tmp_path: Path, catalogue: Catalogue
) -> None:
    """A person stored elsewhere is moved; an old household left headless or empty is warned."""
    run_households(engine, write_csv(tmp_path / "a.csv", [
        ["HA", VILLAGE, "甲", ric(1), "户主", "none", 100, "否"],
        ["HA", VILLAGE, "乙", ric(3), "子女", None, 100, "否"],
        ["HB", VILLAGE, "丙", ric(5), "户主", "none", 100, "否"],
        ["HB", VILLAGE, "丁", ric(7), "配偶", None, 100, "否"],
        ["HE", VILLAGE, "戊", ric(9), "户主", "none", 100, "否"],
    ]), catalogue)  # fmt: skip
    report = run_households(engine, write_csv(tmp_path / "b.csv", [
        ["HC", VILLAGE, "乙", ric(3), "户主", "none", 100, "否"],  # 2: from HA (keeps its head)
        ["HD", VILLAGE, "丙", ric(5), "户主", "none", 100, "否"],  # 3: HB's head
        ["HF", VILLAGE, "戊", ric(9), "户主", "none", 100, "否"],  # 4: HE's only member
    ]), catalogue)  # fmt: skip
    homes = content(engine)["households"]
    assert [m[1] for m in homes["HA"]["members"]] == ["甲"]
    assert [m[1] for m in homes["HB"]["members"]] == ["丁"] and homes["HE"]["members"] == []
    assert report.counts["moved_members"] == 3 and report.errors == []
    assert [(w.row, w.column) for w in report.warnings] == [(3, "身份证号"), (4, "身份证号")]
    assert "户 HB 已没有户主" in report.warnings[0].reason
    assert "户 HE 已没有成员" in report.warnings[1].reason
    moved = [x for x in changes(engine) if x["kind"] == "removed_member"]
    assert [(x["key"], x["changes"][0]["moved_to"], x["source"]) for x in moved] == [
        ("HA", "HC", "b.csv row 2"), ("HB", "HD", "b.csv row 3"), ("HE", "HF", "b.csv row 4"),
    ]  # fmt: skip
    assert not full_ids(str(changes(engine)))
    again = run_households(engine, write_csv(tmp_path / "a2.csv", [
        ["HA", VILLAGE, "甲", ric(1), "户主", "none", 100, "否"],
    ]), catalogue)  # fmt: skip
    assert again.counts["unchanged"] == 1  # the old household was re-hashed without the mover


def test_a_running_import_of_the_same_file_is_continued_after_its_checkpoint(
    engine: Engine, tmp_path: Path, catalogue: Catalogue
) -> None:
    """A run left `running` is resumed: households ending at or before last_row are not written."""
    path = write_csv(tmp_path / "h.csv", [
        ["H1", VILLAGE, "甲", ric(1), "户主", "none", 100, "否"],  # 2
        ["H1", VILLAGE, "乙", ric(3), "配偶", None, 100, "否"],  # 3
        ["H2", VILLAGE, "丙", ric(5), "户主", "none", 100, "否"],  # 4
        ["H3", VILLAGE, "丁", ric(7), "户主", "none", 100, "否"],  # 5
    ])  # fmt: skip
    with write_session(engine) as s:
        other = ImportRun(kind="households", file_name="h.csv", file_sha256="0" * 64, last_row=9)
        crashed = ImportRun(kind="households", file_name="h.csv", file_sha256=file_sha256(path),
                            last_row=3, counts={"inserted": 1})  # fmt: skip
        s.add_all([other, crashed])
    report = run_households(engine, path, catalogue)
    assert (report.run_id, report.resumed_after, report.skipped) == (crashed.id, 3, 1)
    assert sorted(content(engine)["households"]) == ["H2", "H3"]  # H1 was the crashed run's
    assert report.counts["inserted"] == 3  # 1 before the crash, 2 now
    with read_session(engine) as s:
        runs = {r.id: r for r in s.execute(select(ImportRun)).scalars()}
        assert (runs[crashed.id].state, runs[crashed.id].on_date) == ("done", ON)  # dated now
        assert runs[other.id].state == "abandoned"  # an unfinished import of an older h.csv
        assert runs[other.id].reason == (
            f"superseded by import run {crashed.id}: h.csv changed "
            f"(sha256 {'0' * 12}… → {file_sha256(path)[:12]}…)"
        )
        assert report.abandoned == [f"run {other.id}: {runs[other.id].reason}"]


def _late_child_sheet(tmp_path: Path) -> Path:
    """Three households; the last has a child born 2025-02-20 (row 5)."""
    return write_csv(tmp_path / "late.csv", [
        ["H1", VILLAGE, "甲", ric(1), "户主", "none", 100, "否"],  # 2
        ["H2", VILLAGE, "丙", ric(5), "户主", "none", 100, "否"],  # 3
        ["H3", VILLAGE, "丁", ric(7), "户主", "none", 100, "否"],  # 4
        ["H3", VILLAGE, "戊", ric(9, date(2025, 2, 20)), "子女", None, 0, "否"],  # 5
    ])  # fmt: skip


def _crashed_run(engine: Engine, path: Path, on: date) -> int:
    with write_session(engine) as s:
        run = ImportRun(kind="households", file_name=path.name, file_sha256=file_sha256(path),
                        on_date=on, last_row=2, counts={"inserted": 1})  # fmt: skip
        s.add(run)
        s.flush()
        assert run.id is not None
        return run.id


def test_a_resumed_import_checks_its_rows_with_its_own_date(
    engine: Engine, tmp_path: Path, catalogue: Catalogue
) -> None:
    """Resumed without a date, an import validates with the interrupted run's date: a child born
    after it is refused, as it would have been before the interruption."""
    path = _late_child_sheet(tmp_path)
    crashed = _crashed_run(engine, path, date(2025, 2, 15))
    report = import_households(engine=engine, path=path, catalogue=catalogue)
    assert (report.run_id, report.resumed_after, report.on_date) == (
        crashed, 2, date(2025, 2, 15)
    )  # fmt: skip
    assert [(e.row, e.column) for e in report.errors] == [(5, "身份证号")]
    assert "晚于 2025-02-15" in report.errors[0].reason
    assert sorted(content(engine)["households"]) == ["H2"]


def test_an_import_under_another_date_abandons_the_interrupted_run(
    engine: Engine, tmp_path: Path, catalogue: Catalogue
) -> None:
    """An import of the same file under another date is not a resume: the interrupted run is
    abandoned with the reason (audited), and the new run checks every row under its own date."""
    path = _late_child_sheet(tmp_path)
    crashed = _crashed_run(engine, path, date(2025, 2, 15))
    report = run_households(engine, path, catalogue)  # --on 2025-03-01
    assert report.run_id != crashed and report.resumed_after is None and not report.errors
    assert sorted(content(engine)["households"]) == ["H1", "H2", "H3"]
    with read_session(engine) as s:
        runs = {
            r.id: (r.state, r.on_date, r.reason) for r in s.execute(select(ImportRun)).scalars()
        }
        audited = s.execute(
            select(AuditRecord.details).where(AuditRecord.action == "import.abandoned")
        ).scalars().all()  # fmt: skip
    reason = (
        f"superseded by import run {report.run_id}: the same file validated on 2025-03-01 "
        "(this run: 2025-02-15)"
    )
    assert runs[crashed] == ("abandoned", date(2025, 2, 15), reason)
    assert runs[report.run_id][:2] == ("done", ON)
    assert len(audited) == 1 and reason in audited[0]


def test_a_second_writer_of_the_same_run_stops_the_import(
    engine: Engine, tmp_path: Path, catalogue: Catalogue
) -> None:
    """When another process moves the checkpoint, the import stops before writing its chunk."""
    path = demo_households(tmp_path, catalogue, 4000)  # > 10,000 rows: progress is called

    def other_process(rows: int, total: int | None) -> None:
        with write_session(engine) as s:
            s.execute(update(ImportRun).values(last_row=ImportRun.last_row + 1))

    with pytest.raises(ImportConflict, match="another process"):
        run_households(engine, path, catalogue, chunk=500, progress=other_process)
    stored = len(content(engine)["households"])
    assert stored % 500 == 0 and 0 < stored < 4000
    with read_session(engine) as s:
        assert s.execute(select(ImportRun.state)).scalar_one() == "running"


def _enterprise_rows() -> list[list[Any]]:
    return [
        [make_uscc(seq=1), "鑫源商贸有限公司", "520602", "micro", "2020-05-01", 5],
        [make_uscc(seq=2), "华丰制造有限公司", "520602", "small", "2018-01-10", 40],
    ]


def test_enterprise_reimport_changes_nothing(
    engine: Engine, tmp_path: Path, catalogue: Catalogue
) -> None:
    """Importing the same enterprise sheet twice: the second import leaves every table as it was."""
    path = write_csv(tmp_path / "e.csv", _enterprise_rows(), E_HEADER)
    first = import_enterprises(engine=engine, path=path, catalogue=catalogue)
    assert (first.counts["inserted"], first.counts["enterprises"]) == (2, 2)
    before = tables(engine)
    again = import_enterprises(engine=engine, path=path, catalogue=catalogue)
    assert (again.counts["inserted"], again.counts["updated"], again.counts["unchanged"]) == (
        0, 0, 2,
    )  # fmt: skip
    assert tables(engine) == before


def test_enterprise_bad_rows_are_refused_and_the_stored_untouched(
    engine: Engine, tmp_path: Path, catalogue: Catalogue
) -> None:
    """Bad credit codes, sizes, dates and repeats are refused by row and column; the rest stored."""
    good = _enterprise_rows()
    import_enterprises(engine=engine, path=write_csv(tmp_path / "a.csv", good, E_HEADER),
                       catalogue=catalogue)  # fmt: skip
    stored = content(engine)["enterprises"]
    code2 = good[1][0]
    rows = [
        [make_uscc(seq=3), "新企业", "520602", "micro", "2024-01-01", 3],  # 2 good
        [code2[:17] + ("1" if code2[17] != "1" else "2"), "华丰", "520602", "small", None, 9],
        [make_uscc(seq=4)[:10] + "I" + make_uscc(seq=4)[11:], "甲", "520602", None, None, 1],
        [make_uscc(seq=5), "乙", "520602", "huge", None, 1],  # 5 unknown size
        [make_uscc(seq=6), "丙", "520602", "micro", "2023-02-30", 1],  # 6 no such day
        [make_uscc(seq=3), "新企业", "520602", "micro", "2024-01-01", 3],  # 7 repeated
        ["9.1520602E+17", "丁", "520602", "micro", None, 1],  # 8 a float
    ]
    report = import_enterprises(engine=engine, path=write_csv(tmp_path / "b.csv", rows, E_HEADER),
                                catalogue=catalogue)  # fmt: skip
    found = {(e.row, e.column): e.reason for e in report.errors}
    assert set(found) == {
        (3, "统一社会信用代码"), (4, "统一社会信用代码"), (5, "企业规模"), (6, "成立日期"),
        (7, "统一社会信用代码"), (8, "统一社会信用代码"),
    }  # fmt: skip
    assert "校验码" in found[(3, "统一社会信用代码")]
    assert "'I'" in found[(4, "统一社会信用代码")] and "huge" in found[(5, "企业规模")]
    assert (
        "不是真实存在的日期" in found[(6, "成立日期")]
        and "已出现在本表前面的行中" in found[(7, "统一社会信用代码")]
    )
    assert "以数字形式上传" in found[(8, "统一社会信用代码")]
    after = content(engine)["enterprises"]
    assert {k: after[k] for k in stored} == stored and len(after) == 3
    assert (report.counts["inserted"], report.counts["refused_rows"]) == (1, 6)


def test_hostile_strings_are_stored_verbatim(
    engine: Engine, tmp_path: Path, catalogue: Catalogue
) -> None:
    """SQL-like names and household numbers are data: stored as given, nothing else changes (Q1)."""
    run_households(engine, write_csv(tmp_path / "a.csv", [
        ["H9", VILLAGE, "甲", ric(1), "户主", "none", 100, "否"],
    ]), catalogue)  # fmt: skip
    kept = content(engine)["households"]["H9"]
    pairs = zip(HOSTILE, reversed(HOSTILE), strict=True)
    rows = [[h, VILLAGE, name, ric(2 * i + 3), "户主", "none", 1, "否"]
            for i, (h, name) in enumerate(pairs)]  # fmt: skip
    path = write_csv(tmp_path / "h.csv", rows)
    report = run_households(engine, path, catalogue)
    homes = content(engine)["households"]
    assert report.errors == [] and sorted(homes) == sorted([*HOSTILE, "H9"])
    assert [homes[h]["members"][0][1] for h in HOSTILE] == list(reversed(HOSTILE))
    assert homes["H9"] == kept
    firms = [
        [make_uscc(seq=i + 1), name, "520602", None, None, None] for i, name in enumerate(HOSTILE)
    ]
    import_enterprises(engine=engine, path=write_csv(tmp_path / "e.csv", firms, E_HEADER),
                       catalogue=catalogue)  # fmt: skip
    assert sorted(v[0] for v in content(engine)["enterprises"].values()) == sorted(HOSTILE)
    assert run_households(engine, path, catalogue).counts["unchanged"] == 4


def test_no_full_id_number_is_written_outside_the_member_table(
    engine: Engine, tmp_path: Path, catalogue: Catalogue
) -> None:
    """A file named after an ID number, a member removed: runs, changes, audit stay masked (P1)."""
    rows = [["H1", VILLAGE, "甲", ric(1), "户主", "none", 100, "否"],
            ["H1", VILLAGE, "乙", ric(3), "配偶", None, 100, "否"]]  # fmt: skip
    run_households(engine, write_csv(tmp_path / f"{ric(1)}.csv", rows), catalogue)
    run_households(engine, write_csv(tmp_path / f"{ric(3)}.csv", rows[:1]), catalogue)
    with read_session(engine) as s:
        written = [
            s.execute(select(ImportRun.file_name, ImportRun.counts)).all(),
            s.execute(select(ProfileChange.changes, ProfileChange.source)).all(),
            s.execute(select(AuditRecord.subject, AuditRecord.details)).all(),
        ]
    assert not full_ids(str(written))
    assert f"file:{mask_id(ric(3))}.csv" in str(written[2])
    assert [c["source"] for c in changes(engine)] == [f"{mask_id(ric(1))}.csv rows 2–3",
                                                       f"{mask_id(ric(3))}.csv row 2"]  # fmt: skip


def test_profile_changes_and_audit_mask_a_mistyped_id_and_a_bank_account(
    engine: Engine, tmp_path: Path, catalogue: Catalogue
) -> None:
    """A file named after a mistyped ID and a changed 一卡通账号 are stored masked, not in full."""
    wrong = ric(1)[:17] + "1"  # ric(1) ends in 0: a wrong check digit, as a person mistypes it
    header = [*HEADER, "一卡通账号"]
    row = ["H1", VILLAGE, "甲", ric(1), "户主", "none", 100, "否", "6222020200012345678"]
    run_households(engine, write_csv(tmp_path / f"{wrong}.csv", [row], header), catalogue)
    row[-1] = "6222020200087654321"
    run_households(engine, write_csv(tmp_path / f"{wrong}.csv", [row], header), catalogue)
    updated = [x for x in changes(engine) if x["kind"] == "updated"]
    assert updated == [{"key": "H1", "kind": "updated", "source": "520***********0011.csv row 2",
                        "changes": [{"path": "facts.benefit_bank_account",
                                     "before": "622************5678",
                                     "after": "622************4321"}]}]  # fmt: skip
    with read_session(engine) as s:
        subjects = s.execute(select(AuditRecord.subject)).scalars().all()
    assert subjects == ["file:520***********0011.csv"] * 2
