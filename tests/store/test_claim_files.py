"""Department batches, payments recorded back and the outcomes report, on both databases.

The seed: synthetic households of the demo county (520602), swept once (grants, prepared
claims, 低保 bundle claims), then a few claims taken through the workflow by real users
(village confirms and accepts, township checks, each department approves its part).
"""

from __future__ import annotations

import csv
import json
import re
import statistics
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, text, update
from typer.testing import CliRunner

from cli import app
from matcher.profiles.parse import parse_enterprise, parse_household
from rules.catalogue import Catalogue, load_catalogue
from rules.workflow import Actor
from store.claims.export import HEADERS, export_rows, file_sha256, write_export
from store.claims.payments import PaymentRow, read_payments, record_payments
from store.claims.reads import overall_state
from store.claims.report import outcomes
from store.claims.steps import StepRequest, advance
from store.db import read_session, write_session
from store.ingest.profiles import upsert_enterprises, upsert_households
from store.sweep.run import begin_sweep, run_sweep
from store.tables.profiles import MemberRow
from store.users import actor_of, add_user
from synth.enterprises import Enterprises, generate_enterprises
from synth.households import Population, generate_households, raw_households

ROOT = Path(__file__).parents[2] / "policies"
ON = date(2025, 3, 3)  # a Monday
PAID_ON = date(2025, 3, 20)
FILL = [""] * (len(HEADERS) - 4)  # the columns between 分项编号 and 发放日期
COUNTY = "520602"
ID_NUMBER = re.compile(r"\d{17}[\dX]")
FORMULA = '=HYPERLINK("http://x","点我")'
runner = CliRunner()


@cache
def _catalogue() -> Catalogue:
    return load_catalogue(ROOT)


@cache
def _raw() -> tuple[dict[str, Any], ...]:
    pop = Population(households=60, seed=11, as_of=ON, chunk_size=60)
    return tuple(r for chunk in generate_households(pop) for r in raw_households(chunk))


@cache
def _firms() -> tuple[dict[str, Any], ...]:
    return tuple(generate_enterprises(Enterprises(40, seed=5, as_of=ON)).rows())


def _sql(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with read_session(engine) as session:
        return list(session.execute(text(sql), params))


@dataclass
class Seeded:
    """The seeded database and what the test did to it."""

    engine: Engine
    approved: list[int]  # claims whose parts were all approved
    checked: int  # a claim left at township_checked (not approved)
    departments: dict[str, str]  # department → its user's name


_ACTORS: dict[tuple[str, str], Actor] = {}  # (database, name) → the actor made there


def _user(engine: Engine, name: str, role: str, region: str, dept: str | None = None) -> Actor:
    key = (str(engine.url), name)
    if key not in _ACTORS:
        with write_session(engine) as session:
            add_user(session=session, name=name, role=role, region=region, department=dept)
        _ACTORS[key] = Actor(name, role, region, dept)
    return _ACTORS[key]


def _step(engine: Engine, claim: int, to: str, actor: Actor, dept: str | None = None) -> None:
    req = StepRequest(claim_id=claim, actor=actor, person=actor.user, on=ON, to_state=to,
                      department=dept)  # fmt: skip
    advance(engine, req, root=ROOT)


def _to_checked(engine: Engine, claim: int, region: str) -> None:
    village = _user(engine, f"v{region}", "village", region)
    township = _user(engine, f"t{region[:9]}", "township", region[:9])
    for to, who in (("confirmed", village), ("village_accepted", village),
                    ("township_checked", township)):  # fmt: skip
        _step(engine, claim, to, who)


@pytest.fixture
def seeded(engine: Engine) -> Seeded:
    """Households swept; 3 bundle and 2 single claims approved, one claim left checked."""
    facts = _catalogue().facts
    with write_session(engine) as session:
        parsed = [(parse_household(r, facts, today=ON), "test") for r in _raw()]
        upsert_households(session=session, households=parsed)
        firms = [(parse_enterprise(r, facts), "test") for r in _firms()]
        upsert_enterprises(session=session, enterprises=firms)
    start = begin_sweep(engine=engine, catalogue=_catalogue(), root=ROOT, on=ON, region=None)
    run_sweep(engine=engine, start=start, catalogue=_catalogue(), chunk_size=60)
    claims = _sql(engine, "SELECT id, kind, region FROM claim WHERE state = 'prepared' ORDER BY id")
    ours = [c for c in claims if c.region.startswith(COUNTY)]
    bundles = [c for c in ours if c.kind == "bundle"][:3]
    singles = [c for c in ours if c.kind == "claim"][:3]
    users: dict[str, str] = {}
    for c in [*bundles, *singles]:
        _to_checked(engine, c.id, c.region)
    for c in [*bundles, *singles[:2]]:
        for (dept,) in _sql(engine, "SELECT department FROM claim_part WHERE claim_id = :c",
                            c=c.id):  # fmt: skip
            name = users.setdefault(dept, f"d{len(users)}")
            _step(engine, c.id, "county_approved", _user(engine, name, "department", COUNTY,
                                                         dept), dept)  # fmt: skip
    m = MemberRow.__table__.c  # type: ignore[attr-defined]
    with write_session(engine) as session:  # a name a spreadsheet would run as a formula
        session.execute(update(MemberRow.__table__).where(  # type: ignore[attr-defined]
            m.relation == "head").values(name=FORMULA))  # fmt: skip
    return Seeded(engine, [c.id for c in [*bundles, *singles[:2]]], singles[2].id, users)


def _expected(engine: Engine, dept: str, county: str) -> set[tuple[int, str]]:
    """(part, policy) of every section the department should pay, read straight from SQL."""
    rows = _sql(engine, """
        SELECT p.id, p.sections FROM claim_part p JOIN claim c ON c.id = p.claim_id
        WHERE p.department = :d AND p.state IN ('county_approved', 'granted')
          AND c.region LIKE :r""", d=dept, r=county + "%")  # fmt: skip
    out = set()
    for r in rows:
        sections = _json(r.sections)
        out |= {(r.id, s["policy_id"]) for s in sections}
    return out


def _json(value: Any) -> Any:
    """A JSON column read through text SQL: parsed on PostgreSQL, text on SQLite."""
    return json.loads(value) if isinstance(value, str) else value


def _heads(engine: Engine) -> dict[str, str]:
    """Each household number's head's full ID number."""
    rows = _sql(
        engine,
        """SELECT h.household_no, m.id_number FROM member m
                           JOIN household h ON h.id = m.household_id WHERE m.relation = 'head'""",
    )
    return {r[0]: r[1] for r in rows}


def test_export_holds_one_departments_parts_with_full_ids(seeded: Seeded, tmp_path: Path) -> None:
    """Each department's export holds exactly its approved parts and grants, full IDs as text,
    formula-looking text escaped."""
    engine = seeded.engine
    heads = _heads(engine)
    firms = {r[0]: r[1] for r in _sql(engine, "SELECT credit_code, name FROM enterprise")}
    grants = _sql(engine, "SELECT count(*) FROM claim WHERE subject_kind = 'enterprise' AND "
                  "kind = 'grant' AND region LIKE :r", r=COUNTY + "%")[0][0]  # fmt: skip
    exported = 0
    depts = [d for (d,) in _sql(engine, "SELECT DISTINCT department FROM claim_part")]
    for dept in depts:
        with read_session(engine) as session:
            rows = export_rows(session, department=dept, county=COUNTY)
            assert export_rows(session, department=dept, county="520603") == []
        assert {(r.part_id, r.policy_id) for r in rows} == _expected(engine, dept, COUNTY)
        exported += len({r.claim_id for r in rows if r.subject_key in firms})
        for r in rows:
            if r.subject_key in firms:  # an enterprise: its name and credit code
                assert (r.name, r.id_number) == (firms[r.subject_key], r.subject_key)
                continue
            assert r.id_number == heads[r.subject_key] and ID_NUMBER.fullmatch(r.id_number)
            assert r.amount is None or r.amount.as_tuple().exponent == -2
            assert r.approved_on == ON
    assert exported == grants > 0
    dept = max(seeded.departments, key=lambda d: len(_expected(engine, d, COUNTY)))
    with read_session(engine) as session:
        rows = export_rows(session, department=dept, county=COUNTY)
    assert any(r.name == FORMULA for r in rows)
    assert any("：" in r.materials for r in rows)  # held materials, in full
    path = tmp_path / "batch.xlsx"
    digest = write_export(rows, path, department=dept)
    assert digest == file_sha256(path)
    sheet = load_workbook(path).active
    assert sheet is not None and sheet.title == dept
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == HEADERS and len(values) == len(rows) + 1
    cells = list(sheet.iter_rows(min_row=2))
    ids = [row[5] for row in cells]
    assert all(c.data_type == "s" and ID_NUMBER.fullmatch(str(c.value)) for c in ids)
    names = [row[4] for row in cells]
    assert "'" + FORMULA in [c.value for c in names]
    assert all(c.data_type != "f" for row in cells for c in row)
    assert sheet.column_dimensions["I"].width > sheet.column_dimensions["B"].width
    _export_command(seeded, tmp_path)


def _export_command(seeded: Seeded, tmp_path: Path) -> None:
    """`zhida claims export` writes the file and audits who, department, count and hash, no ID."""
    dept, user = next(iter(seeded.departments.items()))
    path = tmp_path / "out.xlsx"
    env = {"DATABASE_URL": seeded.engine.url.render_as_string(hide_password=False)}
    result = runner.invoke(app, ["claims", "export", dept, "--out", str(path), "--as", user],
                           env=env)  # fmt: skip
    assert result.exit_code == 0, result.output
    (details,) = [r[0] for r in _sql(seeded.engine, "SELECT details FROM audit WHERE "
                                     "action = 'claims.export'")]  # fmt: skip
    assert file_sha256(path) in details and dept in details
    assert not ID_NUMBER.search(details.replace(file_sha256(path), ""))
    other = next(d for d in _sql(seeded.engine, "SELECT DISTINCT department FROM claim_part")
                 if d[0] != dept)[0]  # fmt: skip
    refused = runner.invoke(app, ["claims", "export", other, "--out", str(path), "--as", user],
                            env=env)  # fmt: skip
    assert refused.exit_code == 2 and f"导出「{other}」的发放清单须有该部门的" in refused.output


def _fill(path: Path, paid: dict[int, str], extra: list[list[Any]]) -> None:
    """Fill 发放日期/发放凭证号 of the parts in `paid` (part → ref) and append `extra` rows."""
    book = load_workbook(path)
    sheet = book.active
    assert sheet is not None
    for row in sheet.iter_rows(min_row=2):
        ref = paid.get(int(row[1].value))  # type: ignore[arg-type]
        if ref is not None:
            at = len(HEADERS) - 2  # 发放日期, then 发放凭证号
            row[at].value, row[at + 1].value = PAID_ON, ref
    for cells in extra:
        sheet.append(cells)
    book.save(path)


def test_payments_recorded_once_bad_rows_named(seeded: Seeded, tmp_path: Path) -> None:
    """The filled export records its parts paid; bad rows are named by row and column while the
    good ones go in; replaying the file changes nothing."""
    engine = seeded.engine
    dept = max(seeded.departments, key=lambda d: len(_expected(engine, d, COUNTY)))
    with read_session(engine) as session:
        rows = export_rows(session, department=dept, county=COUNTY)
        actor = actor_of(session=session, name=seeded.departments[dept])
    path = tmp_path / "batch.xlsx"
    write_export(rows, path, department=dept)
    parts = sorted({r.part_id for r in rows})
    assert len(parts) >= 2
    paid = {p: f"PAY-{p:05d}" for p in parts[:-1]}  # the last part is not paid yet
    foreign = _sql(engine, "SELECT p.id, p.claim_id FROM claim_part p JOIN claim c ON "
                   "c.id = p.claim_id WHERE p.department <> :d AND c.region LIKE :r",
                   d=dept, r=COUNTY + "%")[0]  # fmt: skip
    n = len(rows) + 2  # the first appended row's number
    _fill(path, paid, [
        [999_999, None, *FILL, PAID_ON, "PAY-X"],  # no such claim
        [foreign.claim_id, foreign.id, *FILL, PAID_ON, "PAY-Y"],  # another department's
        [seeded.checked, None, *FILL, PAID_ON, "PAY-Z"],  # not approved
        [rows[0].claim_id, None, *FILL, "2025-02-30", "PAY-W"],  # no such day
        [rows[0].claim_id, None, *FILL, PAID_ON, ""],  # a date, no reference
    ])  # fmt: skip
    found, problems = read_payments(path, today=date(2025, 4, 1))
    assert [(p.row, p.column) for p in problems] == [(n + 3, "发放日期"), (n + 4, "发放凭证号")]
    assert "2025-02-30" in str(problems[0]) and f"第 {n + 3} 行" in str(problems[0])
    done = record_payments(engine, found, actor, actor.user, ROOT)
    assert sorted(r.row for r in done.problems) == [n, n + 1, n + 2]
    why = {p.row: (p.column, str(p)) for p in done.problems}
    assert why[n][0] == "申领编号" and "999999 不存在" in why[n][1]
    # another department's part: refused without naming that department (its scope, not ours)
    assert "只能登记本部门的发放" in why[n + 1][1]
    assert foreign_dept(engine, foreign.id) not in why[n + 1][1]
    assert why[n + 2][0] == "申领编号" and f"没有「{dept}」的分项" in why[n + 2][1]
    (own,) = _sql(engine, "SELECT department FROM claim_part WHERE claim_id = :c", c=seeded.checked)
    checker = _user(engine, "d_checked", "department", COUNTY, own[0])
    early = record_payments(engine, [PaymentRow(9, seeded.checked, None, PAID_ON, "Z")], checker,
                            "d_checked", ROOT)  # fmt: skip
    assert [(p.row, p.column) for p in early.problems] == [(9, "申领编号")]
    assert "尚未经县级部门审批" in str(early.problems[0])
    assert sorted(r.claim_id for r in done.recorded) == sorted(
        {r.claim_id for r in rows if r.part_id in paid}
    )
    stored = {r.id: (r.state, r.payment_ref, r.paid_on) for r in _sql(
        engine, "SELECT id, state, payment_ref, paid_on FROM claim_part WHERE department = :d",
        d=dept)}  # fmt: skip
    for part, ref in paid.items():
        state, got, day = stored[part]
        assert (state, got, str(day)) == ("paid", ref, PAID_ON.isoformat())
    assert stored[parts[-1]][0] in ("county_approved", "granted")
    steps = _sql(engine, "SELECT count(*) FROM claim_step WHERE action = 'pay'")[0][0]
    again = record_payments(engine, read_payments(path, today=date(2025, 4, 1))[0], actor,
                            actor.user, ROOT)  # fmt: skip
    assert (len(again.recorded), len(again.already)) == (0, len(done.recorded))
    assert _sql(engine, "SELECT count(*) FROM claim_step WHERE action = 'pay'")[0][0] == steps
    _csv_with_another_reference(seeded, tmp_path)


def foreign_dept(engine: Engine, part: int) -> str:
    """The department of a part."""
    return str(_sql(engine, "SELECT department FROM claim_part WHERE id = :p", p=part)[0][0])


def _csv_with_another_reference(seeded: Seeded, tmp_path: Path) -> None:
    """A csv paying a part already paid under another reference is refused for that row."""
    engine = seeded.engine
    dept = max(seeded.departments, key=lambda d: len(_expected(engine, d, COUNTY)))
    with read_session(engine) as session:
        rows = export_rows(session, department=dept, county=COUNTY)
        actor = actor_of(session=session, name=seeded.departments[dept])
    first = tmp_path / "first.csv"
    with first.open("w", encoding="utf-8-sig", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["申领编号", "发放日期", "发放凭证号"])
        out.writerow([rows[0].claim_id, "2025/3/20", "A-1"])
    got = record_payments(engine, read_payments(first, today=PAID_ON)[0], actor, "x", ROOT)
    assert len(got.recorded) == 1
    first.write_text(f"申领编号,发放日期,发放凭证号\n{rows[0].claim_id},2025-03-20,B-2\n",
                     encoding="utf-8")  # fmt: skip
    again = record_payments(engine, read_payments(first, today=PAID_ON)[0], actor, "x", ROOT)
    assert [(p.row, p.column) for p in again.problems] == [(2, "发放凭证号")]
    assert "A-1" in str(again.problems[0]) and "B-2" in str(again.problems[0])
    typo = tmp_path / "typo.csv"  # an ID number typed into 申领编号: refused, quoted masked
    typo.write_text("申领编号,发放日期,发放凭证号\n522201193909049119,2025-03-20,C-3\n")
    _, problems = read_payments(typo, today=PAID_ON)
    typo.unlink()  # the file itself holds the number; the problem must not
    assert [(p.row, p.column) for p in problems] == [(2, "申领编号")]
    assert "522***********9119" in str(problems[0]) and not ID_NUMBER.search(str(problems[0]))


def _days(engine: Engine) -> list[int]:
    rows = _sql(
        engine,
        """SELECT p.paid_on, c.eligible_on FROM claim_part p
                           JOIN claim c ON c.id = p.claim_id WHERE p.paid_on IS NOT NULL""",
    )
    return [(date.fromisoformat(str(r[0])) - date.fromisoformat(str(r[1]))).days for r in rows]


def test_outcomes_report_agrees_with_the_database(seeded: Seeded) -> None:
    """The report's counts, materials, visits, days and 应享未享 list match what the tables hold."""
    engine = seeded.engine
    with write_session(engine) as session:  # pay one approved part, 17 days after eligibility
        session.execute(
            text(
                "UPDATE claim_part SET state = 'paid', paid_on = :d, payment_ref = "
                "'P' WHERE claim_id = :c"
            ),
            {"d": PAID_ON, "c": seeded.approved[0]},
        )
    today = ON + timedelta(days=60)
    with read_session(engine) as session:
        report = outcomes(session, region=COUNTY, today=today, root=ROOT, catalogue=_catalogue())
        village = outcomes(
            session, region=_village(engine), today=today, root=ROOT, catalogue=_catalogue()
        )
    claims = _sql(engine, "SELECT id, kind, state, bundle_id, materials FROM claim WHERE "
                  "region LIKE :r", r=COUNTY + "%")  # fmt: skip
    steps = {r[0] for r in _sql(engine, "SELECT claim_id FROM claim_step WHERE action='confirm'")}
    parts: dict[int, list[Any]] = defaultdict(list)
    for r in _sql(engine, "SELECT claim_id, department, sections FROM claim_part"):
        parts[r[0]].append(r)
    groups = {g.id: g.as_json() for g in report.groups}
    doc = report.as_json()
    assert [g["id"] for g in doc["bundles"]] == [g.id for g in report.groups if g.kind == "bundle"]
    assert len(doc["bundles"]) + len(doc["policies"]) == len(groups)
    bundle = groups["household.dibao"]
    mine = [c for c in claims if c.bundle_id == "household.dibao"]
    states = defaultdict(list)
    for r in _sql(engine, "SELECT claim_id, state FROM claim_part"):
        states[r[0]].append(r[1])
    # a claim past the township check is where its parts are (all four approved: approved)
    overall = Counter(overall_state(c.state, states[c.id]) for c in mine)
    assert bundle["claims"] == {"bundle": dict(overall)}
    mats = [m for c in mine for m in _json(c.materials)]
    assert bundle["materials_required"] == len(mats)
    assert bundle["materials_asked"] == sum(m["status"] == "asked" for m in mats)
    taken = [c for c in mine if c.id in steps]
    assert bundle["taken_up"] == len(taken) >= 1
    assert bundle["visits_with"] == len(taken)
    assert bundle["visits_without"] == sum(len({p.department for p in parts[c.id]})
                                           for c in taken)  # fmt: skip
    assert sum(g["total"] for g in groups.values()) == len(claims)
    grants = [g for g in groups.values() if "grant" in g["claims"]]
    assert grants and all(g["actions"] == 0 and g["visits_with"] == 0 for g in grants)
    days = _days(engine)
    assert days == [17] * len(days) and days
    paid_group = next(g for g in groups.values() if g["paid"])
    assert (paid_group["days_to_pay_median"], paid_group["days_to_pay_max"]) == (17, 17)
    assert statistics.median(days) == 17
    overdue = _sql(engine, "SELECT count(*) FROM claim_deadline WHERE done_at IS NULL AND "
                   "due_on < :t AND region LIKE :r", t=today, r=COUNTY + "%")[0][0]  # fmt: skip
    assert sum(g["overdue"] for g in groups.values()) == overdue > 0
    assert 0 < sum(g.total for g in village.groups) < len(claims)
    assert {u.policy_id for u in report.unclaimed} <= {
        p for p, s in _policies().items() if s in ("auto", "confirm")
    }


def test_unclaimed_lists_eligible_entitlements_without_a_live_claim(seeded: Seeded) -> None:
    """An eligible entitlement whose claim was withdrawn is 应享未享 after N days, not before."""
    engine = seeded.engine
    claim = seeded.checked
    with write_session(engine) as session:
        session.execute(text("UPDATE claim_part SET state = 'withdrawn' WHERE claim_id = :c"),
                        {"c": claim})  # fmt: skip
    subject, key = _sql(engine, "SELECT subject_id, subject_key FROM claim WHERE id = :c", c=claim)[
        0
    ]
    with read_session(engine) as session:
        late = outcomes(
            session, region=None, today=ON + timedelta(days=30), root=ROOT, catalogue=_catalogue()
        )
        early = outcomes(
            session, region=None, today=ON + timedelta(days=29), root=ROOT, catalogue=_catalogue()
        )
        elsewhere = outcomes(
            session,
            region="520603",
            today=ON + timedelta(days=30),
            root=ROOT,
            catalogue=_catalogue(),
        )
    assert [(u.subject_id, u.subject_key, u.days) for u in late.unclaimed] == [(subject, key, 30)]
    assert early.unclaimed == [] and elsewhere.unclaimed == [] and elsewhere.groups == []


def _village(engine: Engine) -> str:
    return str(_sql(engine, "SELECT region FROM claim ORDER BY id")[0][0])


def _policies() -> dict[str, str]:
    return {pid: p.spec.delivery for pid, p in _catalogue().policies.items()}


def test_the_same_file_recorded_twice_at_once_pays_each_part_once(seeded: Seeded) -> None:
    """Two runs of one payment file at once: every part paid once, the rest already recorded."""
    engine = seeded.engine
    dept = max(seeded.departments, key=lambda d: len(_expected(engine, d, COUNTY)))
    with read_session(engine) as session:
        rows = export_rows(session, department=dept, county=COUNTY)
        actor = actor_of(session=session, name=seeded.departments[dept])
    parts = {r.part_id: r.claim_id for r in rows}
    payments = [
        PaymentRow(i + 2, c, p, PAID_ON, f"R-{p}") for i, (p, c) in enumerate(parts.items())
    ]
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda _: record_payments(engine, payments, actor, "x", ROOT), [1, 2]))
    assert [r.problems for r in runs] == [[], []]
    assert sum(len(r.recorded) for r in runs) == len(parts)
    assert sum(len(r.already) for r in runs) == len(parts)
    steps = _sql(engine, "SELECT part_id FROM claim_step WHERE action = 'pay'")
    assert sorted(s[0] for s in steps) == sorted(parts)
