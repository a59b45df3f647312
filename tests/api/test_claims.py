"""Claims over HTTP on the shared server: the queue per role, a claim shown in full, steps,
batches, the department's export — and no way across the scope (404, the claim unchanged)."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.api.server import Seeded, Server

ON = "2025-03-03"


def _queue(api: Server, user: str, **params: Any) -> dict[str, Any]:
    with api.client(user) as c:
        answer = c.get("/api/claims", params={"limit": 500, **params})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _claim(api: Server, user: str, claim_id: int) -> dict[str, Any]:
    with api.client(user) as c:
        answer = c.get(f"/api/claims/{claim_id}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _own_claim(api: Server, seeded: Seeded) -> dict[str, Any]:
    """A claim of `cun`'s village with a part of a seeded department (read only here)."""
    items = _queue(api, "xian", waiting="false")["items"]
    return next(i for i in items if i["region"] == seeded.village and i["parts"])


def test_a_village_queue_holds_its_village_claims_waiting_for_it(
    api: Server, seeded: Seeded
) -> None:
    """Every claim in cun's queue is of its village and in a state a village acts from."""
    page = _queue(api, "cun")
    assert page["total"] == len(page["items"]) > 0
    assert {i["region"] for i in page["items"]} == {seeded.village}
    assert {i["state"] for i in page["items"]} <= {"prepared", "confirmed", "returned"}
    everything = _queue(api, "cun", waiting="false")
    assert everything["total"] >= page["total"]
    assert {i["region"] for i in everything["items"]} == {seeded.village}


def test_a_department_sees_only_claims_and_parts_of_its_own(api: Server, seeded: Seeded) -> None:
    """bumen4's list holds claims with a part of its department, and only those parts."""
    dept = seeded.users["bumen4"]["department"]
    page = _queue(api, "bumen4", waiting="false")
    assert page["items"]
    assert {p["department"] for i in page["items"] for p in i["parts"]} == {dept}
    waiting = _queue(api, "bumen4")
    assert all(p["state"] in {"township_checked", "county_approved", "granted"}
               for i in waiting["items"] for p in i["parts"])  # fmt: skip


def test_queue_filters_and_pagination(api: Server, seeded: Seeded) -> None:
    """kind, subject, state, overdue and limit/offset narrow the list in SQL."""
    every = _queue(api, "xian", waiting="false")["items"]
    grants = _queue(api, "xian", waiting="false", kind="grant")["items"]
    assert grants and {i["kind"] for i in grants} == {"grant"}
    one = every[0]
    mine = _queue(api, "xian", waiting="false", subject=one["subject_key"])["items"]
    assert {i["subject_key"] for i in mine} == {one["subject_key"]}
    second = _queue(api, "xian", waiting="false", limit=1, offset=1)["items"]
    assert [i["id"] for i in second] == [every[1]["id"]]
    late = _queue(api, "xian", waiting="false", overdue="true", on="2030-01-01")["items"]
    assert all(i["overdue"] and i["due_on"] for i in late)


@pytest.mark.parametrize(
    ("params", "where"),
    [({"state": "nonsense"}, "query.state"), ({"limit": 501}, "limit"),
     ({"kind": "loan"}, "kind")],
    ids=["unknown state", "limit over 500", "unknown kind"],
)  # fmt: skip
def test_bad_query_parameters_are_refused_naming_them(
    api: Server, params: dict[str, Any], where: str
) -> None:
    """A 400/422 problem naming the parameter."""
    with api.client("xian") as c:
        answer = c.get("/api/claims", params=params)
    assert answer.status_code in (400, 422)
    assert where in answer.text


def test_a_claim_shows_form_materials_parts_steps_and_deadlines(
    api: Server, seeded: Seeded
) -> None:
    """The form's ID numbers are masked; materials say where they came from."""
    claim = _claim(api, "cun", _own_claim(api, seeded)["id"])
    assert claim["form"]["members"]
    assert all("*" in m["id_number"] for m in claim["form"]["members"])
    assert all(m["status"] in {"held", "waived", "asked", "exempt"} for m in claim["materials"])
    assert {"steps", "deadlines", "parts"} <= claim.keys()


@pytest.mark.parametrize("user", ["cun2", "xiang2", "cun_b", "xian_b", "qiye", "zhengce"])
def test_outside_the_scope_a_claim_is_404_on_show_and_every_post(
    api: Server, seeded: Seeded, user: str
) -> None:
    """A sibling village, another township, another county, an enterprise and a policy writer
    get 404 for a claim of cun's village, on show and every step; the claim is unchanged."""
    claim = _own_claim(api, seeded)
    before = _claim(api, "xian", claim["id"])
    with api.client(user) as c:
        assert c.get(f"/api/claims/{claim['id']}").status_code == 404
        for path, body in [
            ("confirm", {"on": ON}),
            ("advance", {"action": "accept", "version": before["version"], "on": ON}),
            ("return", {"version": before["version"], "reason": "缺材料", "on": ON}),
            ("reject", {"version": before["version"], "reason": "不符合", "on": ON}),
        ]:
            answer = c.post(f"/api/claims/{claim['id']}/{path}", json=body)
            assert answer.status_code == 404, (path, answer.text)
        batch = c.post("/api/claims/batch", json={
            "action": "confirm", "claims": [{"id": claim["id"]}], "on": ON})  # fmt: skip
        assert batch.status_code in (200, 403)  # 403: a role that may not act at all
        if batch.status_code == 200:
            assert batch.json()["results"][0]["result"] == "not_found"
    assert _claim(api, "xian", claim["id"]) == before


def test_a_department_on_another_departments_part_is_404(api: Server, seeded: Seeded) -> None:
    """A department user sees no claim without a part of its own (404), and naming another
    department's part on a claim it sees is 404 too; nothing changes."""
    depts = seeded.users
    every = _queue(api, "xian", waiting="false")["items"]
    single = next(i for i in every if len(i["parts"]) == 1)
    owner = single["parts"][0]["department"]
    other = next(u for u, spec in depts.items()
                 if spec["role"] == "department" and spec["department"] != owner)  # fmt: skip
    before = _claim(api, "xian", single["id"])
    with api.client(other) as c:
        assert c.get(f"/api/claims/{single['id']}").status_code == 404
        answer = c.post(f"/api/claims/{single['id']}/advance", json={
            "action": "approve", "version": 1, "on": ON})  # fmt: skip
        assert answer.status_code == 404
    bundle = next(i for i in every if len(i["parts"]) > 1)
    mine, theirs = bundle["parts"][0]["department"], bundle["parts"][1]["department"]
    user = next(u for u, s in depts.items() if s.get("department") == mine)
    with api.client(user) as c:
        answer = c.post(f"/api/claims/{bundle['id']}/advance", json={
            "action": "approve", "version": 1, "on": ON, "part": theirs})  # fmt: skip
    assert answer.status_code == 404, answer.text
    assert _claim(api, "xian", single["id"]) == before


def test_village_confirms_accepts_township_returns_then_rejects(api: Server) -> None:
    """Steps over HTTP: confirm on behalf, accept, return with what to fix, resubmit, reject;
    a stale version is a 409 and a missing reason a 400; the history records each."""
    claim = _queue(api, "cun2", state="prepared")["items"][0]
    cid = claim["id"]
    with api.client("cun2") as c:
        done = c.post(f"/api/claims/{cid}/confirm", json={"on": ON}).json()
        assert done["to_state"] == "confirmed"
        version = done["claim"]["version"]
        stale = c.post(f"/api/claims/{cid}/advance",
                       json={"action": "accept", "version": version - 1, "on": ON})  # fmt: skip
        assert stale.status_code == 409
        accepted = c.post(f"/api/claims/{cid}/advance",
                          json={"action": "accept", "version": version, "on": ON})  # fmt: skip
        assert accepted.status_code == 200, accepted.text
    version = accepted.json()["claim"]["version"]
    with api.client("xiang") as c:
        missing = c.post(f"/api/claims/{cid}/return", json={"version": version, "on": ON})
        assert missing.status_code == 400 and "reason" in missing.text
        back = c.post(f"/api/claims/{cid}/return",
                      json={"version": version, "reason": "补充户口簿", "on": ON})  # fmt: skip
        assert back.status_code == 200 and back.json()["to_state"] == "returned"
    with api.client("cun2") as c:
        again = c.post(
            f"/api/claims/{cid}/advance",
            json={"action": "resubmit", "version": back.json()["claim"]["version"], "on": ON},
        )
        assert again.status_code == 200, again.text  # fmt: skip
    with api.client("xiang") as c:
        no = c.post(
            f"/api/claims/{cid}/reject",
            json={"version": again.json()["claim"]["version"], "reason": "不符合条件", "on": ON},
        )
    assert no.status_code == 200 and no.json()["claim"]["state"] == "rejected"  # fmt: skip
    steps = [s["action"] for s in no.json()["claim"]["steps"]]
    assert steps == ["confirm", "accept", "return", "resubmit", "reject"]
    assert no.json()["claim"]["steps"][0]["on_behalf"] is True


@pytest.mark.parametrize(
    ("body", "status"),
    [({"action": "fly", "version": 1}, 422), ({"action": "accept", "version": 1, "x": 1}, 400),
     ({"action": "accept", "version": 1, "on": "2999-01-01"}, 422),
     ({"action": "accept"}, 400), ({"action": "accept", "version": 1, "reason": "a\x00b"}, 422)],
    ids=["unknown action", "unknown field", "future date", "no version", "NUL in reason"],
)  # fmt: skip
def test_a_malformed_step_is_refused(
    api: Server, seeded: Seeded, body: dict[str, Any], status: int
) -> None:
    """A problem, never a 500, and the claim unchanged."""
    claim = _own_claim(api, seeded)
    before = _claim(api, "xian", claim["id"])
    with api.client("cun") as c:
        answer = c.post(f"/api/claims/{claim['id']}/advance", json=body)
    assert answer.status_code == status, answer.text
    assert _claim(api, "xian", claim["id"]) == before


def test_a_batch_answers_per_claim(api: Server, seeded: Seeded) -> None:
    """Confirming a batch: own claims done, another village's not_found, a repeat refused."""
    mine = _queue(api, "cun2", state="prepared")["items"][:2]
    other = _own_claim(api, seeded)
    items = [{"id": i["id"], "version": i["version"]} for i in mine]
    with api.client("cun2") as c:
        answer = c.post("/api/claims/batch", headers={"Idempotency-Key": str(uuid.uuid4())},
                        json={"action": "confirm", "on": ON,
                              "claims": [*items, {"id": other["id"]}]})  # fmt: skip
    assert answer.status_code == 200, answer.text
    results = {r["id"]: r["result"] for r in answer.json()["results"]}
    assert [results[i["id"]] for i in mine] == ["done"] * len(mine)
    assert results[other["id"]] == "not_found"
    assert answer.json()["done"] == len(mine)
    with api.client("cun2") as c:  # a claim named twice is refused whole, at its second place
        twice = c.post("/api/claims/batch", json={
            "action": "confirm", "on": ON, "claims": [{"id": other["id"]}, {"id": other["id"]}],
        })  # fmt: skip
    assert twice.status_code == 422 and twice.json()["errors"][0]["path"] == "claims[1].id"


def test_a_department_exports_its_own_sheet_only(api: Server, seeded: Seeded) -> None:
    """The xlsx holds the department's own parts; another department's export is 403, a
    township's 403."""
    dept = seeded.users["bumen4"]["department"]
    with api.client("bumen4") as c:
        sheet = c.get("/api/claims/export")
        assert c.get("/api/claims/export",
                     params={"department": seeded.users["bumen0"]["department"]}
                     ).status_code == 403  # fmt: skip
    assert sheet.status_code == 200, sheet.text
    rows = list(load_workbook(io.BytesIO(sheet.content)).worksheets[0].iter_rows(values_only=True))
    assert rows[0][0] == "申领编号" and len(rows) > 1
    granted = _queue(api, "bumen4", waiting="false", state="granted")["items"]
    assert {r[0] for r in rows[1:]} <= {i["id"] for i in granted} | {
        i["id"] for i in _queue(api, "bumen4", waiting="false", state="county_approved")["items"]
    }
    with api.client("xiang") as c:
        assert c.get("/api/claims/export", params={"department": dept}).status_code == 403
    with api.client("zhengce") as c:
        assert c.get("/api/claims").status_code == 403
