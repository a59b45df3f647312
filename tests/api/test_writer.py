"""The policy writer over HTTP: lint and test a draft, its impact on the stored caseload, and
publishing it (refused unless lint and tests pass; audited; the next match uses it)."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy import text

from matcher.interpreter.match import match
from matcher.profiles.subjects import facts_for
from rules.catalogue import load_catalogue
from rules.numbers import fen_text
from store.db import open_engine
from tests.api.server import COUNTY, OTHER_COUNTY, ROOT, Seeded, Server, start_server

WATER = (ROOT / "household" / "dibao" / "water.yaml").read_text(encoding="utf-8")
DEARER = WATER.replace("{2022-01-01: 2.6}", "{2022-01-01: 3.0}").replace(
    "amount: 13}", "amount: 15}"
)
UNKNOWN_FACT = WATER.replace('when: dibao_status == "active"', 'when: dibao_statu == "active"')
WRONG_CASE = WATER.replace("{2022-01-01: 2.6}", "{2022-01-01: 3.0}")  # the case still says 13
HOUSEHOLD = Path(__file__).resolve().parents[2] / "examples" / "dibao_household.json"
ON = "2025-03-01"
WRITER_PATHS = ("/api/writer/lint", "/api/writer/test", "/api/writer/impact", "/api/writer/publish")


def _draft(body: str) -> dict[str, str]:
    return {"text": body, "name": "water.yaml"}


def test_only_a_policy_writer_may_use_the_writer_routes(api: Server) -> None:
    """Every other role gets 403 (guard), an anonymous caller 401."""
    for user in ("cun", "xian", "ducha", "qiye"):
        with api.client(user) as client:
            codes = {client.post(p, json=_draft(WATER)).status_code for p in WRITER_PATHS}
        assert codes == {403}, user
    with httpx.Client(base_url=api.base_url) as anonymous:
        assert {anonymous.post(p, json=_draft(WATER)).status_code for p in WRITER_PATHS} == {401}


def test_lint_names_the_line_and_column_of_each_problem(api: Server) -> None:
    """An unknown fact is an error at water.yaml:line:col with a suggestion; a clean file is ok."""
    with api.client("zhengce") as client:
        bad = client.post("/api/writer/lint", json=_draft(UNKNOWN_FACT)).json()
        good = client.post("/api/writer/lint", json=_draft(WATER)).json()
        named = client.post("/api/writer/lint", json={"text": WATER, "name": "../x.yaml"})
    line = UNKNOWN_FACT.splitlines().index('  - when: dibao_statu == "active"') + 1
    assert bad["ok"] is False and bad["errors"] == 1
    finding = bad["diagnostics"][0]
    assert (finding["file"], finding["line"]) == ("water.yaml", line)
    assert re.fullmatch(rf"water\.yaml:{line}:\d+", finding["where"])
    assert "dibao_status" in finding["hint"]
    assert good["ok"] is True and good["errors"] == 0
    assert named.status_code == 400  # a file name is a name, never a path


def test_test_runs_the_drafts_cases_and_says_what_differed(api: Server) -> None:
    """A case expecting the old amount fails with both amounts; the others pass."""
    with api.client("zhengce") as client:
        report = client.post("/api/writer/test", json=_draft(WRONG_CASE)).json()
    assert report["ran"] is True and report["failed"] == 1
    failed = next(c for c in report["cases"] if not c["passed"])
    assert failed["where"].startswith("water.yaml:")
    assert "13" in failed["problems"][0] and "15" in failed["problems"][0]
    assert report["passed"] == len(report["cases"]) - 1


def test_impact_counts_changes_inside_the_writers_county_only(api: Server) -> None:
    """A dearer water price raises every eligible household's amount, by village in 520602."""
    with api.client("zhengce") as client:
        answer = client.post("/api/writer/impact", json={**_draft(DEARER), "on": ON})
        elsewhere = {**_draft(DEARER), "on": ON, "region": OTHER_COUNTY}
        outside = client.post("/api/writer/impact", json=elsewhere)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["policy_id"] == "household.dibao.water" and body["replaces"] is True
    assert body["region"] == COUNTY and body["subjects"] > 0
    [water] = body["policies"]
    assert water["raised"] > 0 and water["gain"] == water["loss"] == 0
    per_household = Decimal("5") * (Decimal("3.0") - Decimal("2.6"))  # free m³ × price change
    assert water["amount_delta"] == fen_text(per_household * water["raised"])
    assert all(v["region"].startswith(COUNTY) for v in water["villages"] + water["townships"])
    assert sum(v["raised"] for v in water["villages"]) == water["raised"]
    assert sum(t["raised"] for t in water["townships"]) == water["raised"]
    assert outside.status_code == 422 and COUNTY in outside.json()["detail"]


def _audited(server: Server, version: str) -> list[tuple[str, str]]:
    engine = open_engine(server.db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT actor, action FROM audit WHERE catalogue_hash = :v"), {"v": version}
            ).all()
    finally:
        engine.dispose()
    return [(str(a), str(b)) for a, b in rows]


def test_publish_is_refused_unless_lint_and_tests_pass_then_served(
    seeded: Seeded, tmp_path: Path
) -> None:
    """Refused (422, each error at its place, the file kept) on a lint error and on a failing
    case; accepted, the new version is served, audited by the writer, and matched with."""
    policies = tmp_path / "policies"
    shutil.copytree(ROOT, policies)
    target = policies / "household" / "dibao" / "water.yaml"
    server = start_server(seeded, tmp_path / "srv", env={"ZHIDA_POLICIES": str(policies)})
    try:
        with server.client("zhengce") as client:
            before = client.get("/api/catalogue").json()["version"]
            lint_error = client.post("/api/writer/publish", json=_draft(UNKNOWN_FACT))
            failing = client.post("/api/writer/publish", json=_draft(WRONG_CASE))
            assert target.read_text(encoding="utf-8") == WATER
            done = client.post("/api/writer/publish", json=_draft(DEARER))
            after = client.get("/api/catalogue").json()
            household = json.loads(HOUSEHOLD.read_text(encoding="utf-8"))
            matched = client.post("/api/match", json={"profile": household, "on": ON}).json()
    finally:
        server.stop()
    assert lint_error.status_code == 422
    assert [e["path"] for e in lint_error.json()["errors"]][0].startswith("water.yaml:")
    assert re.fullmatch(r"water\.yaml:\d+:\d+", lint_error.json()["errors"][0]["path"])
    assert failing.status_code == 422 and "未通过" in failing.json()["errors"][0]["message"]
    assert done.status_code == 200, done.text
    assert target.read_text(encoding="utf-8") == DEARER
    catalogue = load_catalogue(policies)
    assert done.json()["version"] == after["version"] == catalogue.version != before
    assert after["published"] is True and after["published_by"] == "zhengce"
    assert ("zhengce", "catalogue.publish") in _audited(server, catalogue.version)
    day = date.fromisoformat(ON)
    facts = facts_for(household, "household", catalogue.facts, day, source="test")
    water = match(catalogue, facts, day, "household").by_id()["household.dibao.water"]
    got = next(r for r in matched["results"] if r["policy_id"] == "household.dibao.water")
    assert matched["catalogue_version"] == catalogue.version
    assert got["amount"] == fen_text(water.amount) == "15.00"


def test_a_hostile_or_broken_draft_is_a_problem_named_in_the_writers_file(api: Server) -> None:
    """A control character, an object tag and a broken file answer 422 at `water.yaml:…`,
    never a 500 and never the temporary folder's path."""
    drafts = {
        "nul": WATER.replace("title:", "ti\x00tle:"),
        "tag": "!!python/object/apply:os.system [true]\n",
        "list": "- 1\n- 2\n",
    }
    with api.client("zhengce") as client:
        for kind, body in drafts.items():
            for path in ("/api/writer/impact", "/api/writer/publish"):
                answer = client.post(path, json=_draft(body))
                assert answer.status_code == 422, (kind, path, answer.text)
                assert "/tmp" not in answer.text and "water.yaml:" in answer.text, (kind, path)
