"""The seeds' central scenario, end to end through `zhida`, on SQLite and PostgreSQL.

A household of the demo county is recognised as 低保 (`zhida profile set … dibao_status=active`);
its 低保一件事 bundle claim appears with a part for every follow-on department (人社 pension,
医保 insurance, 供电, 水务, 广电, 教育 student aid, 残联 disability allowance), materials merged
and nothing asked that we hold; the village confirms once on its behalf and accepts, the
township checks, each county department approves its own part, exports exactly its part and
records the payment; the outcomes report shows one visit instead of seven. Then 低保 lapses and
every follow-on ends from the first of next month, each department told. The audit chain
verifies and names every step's actor.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from cli import app
from matcher.profiles.parse import parse_household
from rules.catalogue import load_catalogue
from store.audit.log import verify
from store.db import read_session, write_session
from store.ingest.profiles import upsert_households
from store.sweep.run import begin_sweep, run_sweep
from synth.demo import VILLAGE, demo_village

ROOT = Path(__file__).parents[1] / "policies"
ON, RECOGNISED, PAID, LAPSED = (
    date(2025, 3, 1),
    date(2025, 3, 3),
    date(2025, 3, 14),
    date(2025, 4, 10),
)
runner = CliRunner()


def _zhida(*args: str, ok: bool = True) -> str:
    result = runner.invoke(app, [*args])
    if ok:
        assert result.exit_code == 0, result.output
    return result.output


def _seed(engine: Engine) -> str:
    """The demo village, its 低保 family not yet recognised (no 低保证 yet), stored and swept."""
    catalogue = load_catalogue(ROOT)
    village = demo_village(6, ON)
    family = village[0][1]
    family["dibao_status"] = "none"
    del family["dibao_certificate_no"]
    rows = [(parse_household(r, catalogue.facts, today=ON), "demo") for _, r in village]
    with write_session(engine) as session:
        upsert_households(session=session, households=rows)
    start = begin_sweep(engine=engine, catalogue=catalogue, root=ROOT, on=ON, region=None)
    run_sweep(engine=engine, start=start, catalogue=catalogue)
    return str(family["household_id"])


def _bundle_departments() -> list[str]:
    catalogue = load_catalogue(ROOT)
    members = catalogue.bundles["household.dibao"].spec.members
    return sorted({catalogue.policies[p].spec.department for p in members})


def _rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with read_session(engine) as session:
        return list(session.execute(text(sql), params).all())


@pytest.fixture
def cli_env(
    engine: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Engine:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ZHIDA_DATA_DIR", str(tmp_path))
    return engine


def test_dibao_household_one_visit_instead_of_seven_then_lapse(
    cli_env: Engine, tmp_path: Path
) -> None:
    engine = cli_env
    household = _seed(engine)
    departments = _bundle_departments()
    assert len(departments) == 7
    _zhida("users", "add", "村代办", "--role", "village", "--region", VILLAGE)
    _zhida("users", "add", "镇审核", "--role", "township", "--region", VILLAGE[:9])
    clerks = {d: f"审批{i}" for i, d in enumerate(departments)}
    for dept, name in clerks.items():
        _zhida(
            "users", "add", name, "--role", "department", "--region", VILLAGE[:6], "--dept", dept
        )

    said = _zhida("profile", "set", "household", household, "dibao_status=active",
                  "dibao_certificate_no=DB520600001", "--on", str(RECOGNISED),
                  "--root", str(ROOT))  # fmt: skip
    assert "dibao_granted" in said
    listed = json.loads(_zhida("claims", "list", "--kind", "bundle", "--region", VILLAGE, "--json"))
    (claim,) = [c for c in listed if c["subject_key"] == household]
    assert claim["bundle_id"] == "household.dibao" and claim["state"] == "prepared"
    assert sorted(p["department"] for p in claim["parts"]) == departments
    names = [m["name"] for m in claim["materials"]]
    assert len(names) == len(set(names))  # one 低保证, one 一卡通 account, whatever the parts
    facts = _rows(engine, "SELECT facts FROM household WHERE household_no = :k", k=household)[0][0]
    facts = facts if isinstance(facts, dict) else json.loads(facts)
    for m in claim["materials"]:
        held = m.get("from") is not None and facts.get(m["from"]) not in (None, "")
        assert (m["status"] == "held") == held, m  # nothing asked that we hold
    assert {"低保证"} <= {m["name"] for m in claim["materials"] if m["status"] == "held"}
    claim_id = str(claim["id"])

    day = ["--on", str(RECOGNISED)]
    _zhida("claims", "confirm", claim_id, "--as", "村代办", *day)
    _zhida("claims", "advance", claim_id, "--to", "village_accepted", "--as", "村代办", *day)
    _zhida("claims", "advance", claim_id, "--to", "township_checked", "--as", "镇审核", *day)
    for name in clerks.values():
        _zhida("claims", "advance", claim_id, "--to", "county_approved", "--as", name, *day)
    shown = json.loads(_zhida("claims", "show", claim_id, "--json"))
    assert {p["state"] for p in shown["parts"]} == {"county_approved"}
    assert shown["steps"][0]["on_behalf"] is True

    for dept, name in clerks.items():
        sheet = tmp_path / f"{name}.xlsx"
        _zhida("claims", "export", dept, "--out", str(sheet), "--as", name)
        part = next(p for p in shown["parts"] if p["department"] == dept)
        mine = _export_rows(sheet, claim_id)
        assert sorted(r["policy"] for r in mine) == sorted(s["policy_id"] for s in part["sections"])
        _fill_payment(sheet, claim_id, f"PAY-{name}")
        _zhida("claims", "paid", str(sheet), "--as", name)
    shown = json.loads(_zhida("claims", "show", claim_id, "--json"))
    assert {p["state"] for p in shown["parts"]} == {"paid"}
    assert shown["overall"] == "paid"

    report = json.loads(_zhida("report", "outcomes", "--region", VILLAGE, "--json"))
    bundle = _bundle_of(report)
    assert (bundle["visits_without"], bundle["visits_with"]) == (7, 1)

    _zhida("profile", "set", "household", household, "dibao_status=none", "--on", str(LAPSED),
           "--root", str(ROOT))  # fmt: skip
    shown = json.loads(_zhida("claims", "show", claim_id, "--json"))
    assert {p["ends_on"] for p in shown["parts"]} == {"2025-05-01"}
    assert {p["state"] for p in shown["parts"]} == {"paid"}
    ended = _rows(engine, "SELECT payload FROM outbox WHERE subject_kind = 'office' "
                  "AND claim_id = :c", c=int(claim_id))  # fmt: skip
    offices = {(r[0] if isinstance(r[0], dict) else json.loads(r[0]))["office"] for r in ended}
    assert offices == {f"{VILLAGE[:6]}/{d}" for d in departments}
    open_ = _rows(engine, "SELECT policy_id FROM entitlement WHERE valid_to IS NULL AND "
                  "status = 'eligible' AND subject_id = (SELECT id FROM household WHERE "
                  "household_no = :k)", k=household)  # fmt: skip
    members = set(load_catalogue(ROOT).bundles["household.dibao"].spec.members)
    assert not members & {r[0] for r in open_}

    with read_session(engine) as session:
        assert verify(session=session).ok
    steps = _rows(engine, "SELECT actor, action FROM audit WHERE subject = :s AND action LIKE "
                  "'claim.%' ORDER BY seq", s=f"claim:{claim_id}")  # fmt: skip
    people = {a for a, act in steps if act in ("claim.confirm", "claim.accept", "claim.check",
                                               "claim.approve", "claim.pay")}  # fmt: skip
    assert people == {"村代办", "镇审核", *clerks.values()}
    assert all(a for a, _ in steps)


def _export_rows(sheet: Path, claim_id: str) -> list[dict[str, Any]]:
    """The export's rows of one claim, by header."""
    ws = load_workbook(sheet, read_only=True).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    head = [str(h) for h in rows[0]]
    out = []
    for r in rows[1:]:
        row = dict(zip(head, r, strict=False))
        if str(row.get("申领编号")) == claim_id:
            out.append({"policy": row.get("政策编号"), **row})
    return out


def _fill_payment(sheet: Path, claim_id: str, ref: str) -> None:
    book = load_workbook(sheet)
    ws = book.worksheets[0]
    head = [c.value for c in ws[1]]
    at = {name: head.index(name) + 1 for name in ("申领编号", "发放日期", "发放凭证号")}
    for row in range(2, ws.max_row + 1):
        if str(ws.cell(row, at["申领编号"]).value) == claim_id:
            ws.cell(row, at["发放日期"]).value = PAID.isoformat()
            ws.cell(row, at["发放凭证号"]).value = ref
    book.save(sheet)


def _bundle_of(report: dict[str, Any]) -> dict[str, Any]:
    for row in report.get("bundles", []):
        if row.get("bundle_id", row.get("id")) == "household.dibao":
            return dict(row)
    raise AssertionError(f"household.dibao not in the outcomes report: {report}")
