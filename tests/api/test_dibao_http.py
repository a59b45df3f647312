"""The seeds' 低保 scenario end to end over HTTP (tests/test_dibao_scenario.py does it through
the CLI): the household is recognised as 低保, its 低保一件事 bundle claim appears; the village
confirms on its behalf and accepts, the township checks, each of the seven departments approves
its own part, downloads its sheet and uploads it filled in — and the claim is paid."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from matcher.profiles.parse import parse_household
from rules.catalogue import load_catalogue
from store.accounts import set_password
from store.db import open_engine, write_session
from store.ingest.profiles import upsert_households
from store.sweep.run import begin_sweep, run_sweep
from store.users import add_user
from synth.demo import VILLAGE, demo_village
from tests.api.server import PASSWORD, ROOT, Seeded, Server, start_server
from tests.test_dibao_scenario import ON, PAID, RECOGNISED

DAY = RECOGNISED.isoformat()


def _family(server: Server) -> tuple[str, list[str]]:
    """The demo village's 低保 family (not yet recognised), stored and swept in the server's
    database; the users who will act on its claim. Returns the household and departments."""
    catalogue = load_catalogue(ROOT)
    family = demo_village(6, ON)[0][1]
    family["dibao_status"] = "none"
    del family["dibao_certificate_no"]
    members = catalogue.bundles["household.dibao"].spec.members
    departments = sorted({catalogue.policies[p].spec.department for p in members})
    engine = open_engine(server.db_url)
    try:
        with write_session(engine) as session:
            upsert_households(session=session, households=[
                (parse_household(family, catalogue.facts, today=ON), "demo")])  # fmt: skip
        start = begin_sweep(engine=engine, catalogue=catalogue, root=ROOT, on=ON, region=VILLAGE)
        run_sweep(engine=engine, start=start, catalogue=catalogue)
        users = [("db_cun", "village", VILLAGE, None), ("db_xiang", "township", VILLAGE[:9], None)]
        users += [(f"db_bm{i}", "department", VILLAGE[:6], d) for i, d in enumerate(departments)]
        with write_session(engine) as session:
            for name, role, region, dept in users:
                add_user(session=session, name=name, role=role, region=region, department=dept)
                set_password(session=session, name=name, password=PASSWORD)
    finally:
        engine.dispose()
    return str(family["household_id"]), departments


def _post(server: Server, user: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    with server.client(user) as c:
        answer = c.post(path, json=body)
    assert answer.status_code == 200, (user, path, answer.text)
    return dict(answer.json())


def _fill(content: bytes, claim_id: int, ref: str) -> bytes:
    book = load_workbook(io.BytesIO(content))
    ws = book.worksheets[0]
    head = [c.value for c in ws[1]]
    at = {name: head.index(name) + 1 for name in ("申领编号", "发放日期", "发放凭证号")}
    mine = 0
    for row in range(2, ws.max_row + 1):
        if str(ws.cell(row, at["申领编号"]).value) == str(claim_id):
            ws.cell(row, at["发放日期"]).value = PAID.isoformat()
            ws.cell(row, at["发放凭证号"]).value = ref
            mine += 1
    assert mine, "the claim is not in the department's sheet"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_dibao_bundle_claim_paid_over_http(seeded: Seeded, tmp_path: Path) -> None:
    """Recognised, confirmed once, accepted, checked, approved and paid by seven departments."""
    server = start_server(seeded, tmp_path)
    try:
        household, departments = _family(server)
        assert len(departments) == 7
        with server.client("db_cun") as c:  # the village records the family's 低保 status
            facts = {"dibao_status": "active", "dibao_certificate_no": "DB520600001"}
            said = c.patch(f"/api/households/{household}", json={"on": DAY, "facts": facts})
        assert said.status_code == 200, said.text
        events = {e["name"] for e in said.json()["events"]}
        newly = {ch["policy_id"] for ch in said.json()["changes"] if ch["kind"] == "newly_eligible"}
        assert "dibao_granted" in events and len(newly) >= len(departments), said.text

        with server.client("db_cun") as c:
            page = c.get("/api/claims", params={"kind": "bundle", "subject": household}).json()
        (claim,) = page["items"]
        assert claim["state"] == "prepared"
        assert sorted(p["department"] for p in claim["parts"]) == departments
        cid = claim["id"]
        done = _post(server, "db_cun", f"/api/claims/{cid}/confirm", {"on": DAY})
        done = _post(
            server,
            "db_cun",
            f"/api/claims/{cid}/advance",
            {"action": "accept", "version": done["claim"]["version"], "on": DAY},
        )
        done = _post(
            server,
            "db_xiang",
            f"/api/claims/{cid}/advance",
            {"action": "check", "version": done["claim"]["version"], "on": DAY},
        )
        for i, _dept in enumerate(departments):
            user = f"db_bm{i}"
            with server.client(user) as c:
                (part,) = c.get(f"/api/claims/{cid}").json()["parts"]  # only its own part
            _post(
                server,
                user,
                f"/api/claims/{cid}/advance",
                {"action": "approve", "version": part["version"], "on": DAY},
            )
        for i, _dept in enumerate(departments):
            with server.client(f"db_bm{i}") as c:
                sheet = c.get("/api/claims/export")
                assert sheet.status_code == 200, sheet.text
                filled = _fill(sheet.content, cid, f"PAY-{i}")
                paid = c.post("/api/claims/payments",
                              files={"file": ("发放.xlsx", filled)})  # fmt: skip
            assert paid.status_code == 200, paid.text
            assert paid.json()["recorded"] >= 1, paid.json()

        with server.client("db_xiang") as c:
            shown = c.get(f"/api/claims/{cid}").json()
        assert {p["state"] for p in shown["parts"]} == {"paid"}
        assert shown["overall"] == "paid"
        assert shown["steps"][0]["on_behalf"] is True
        people = {s["actor"] for s in shown["steps"]}
        assert people == {"db_cun", "db_xiang", *(f"db_bm{i}" for i in range(7))}
    finally:
        server.stop()
