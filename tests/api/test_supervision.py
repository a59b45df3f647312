"""Supervision over HTTP: coverage equals the test's own SQL counts, and another county's
supervisor sees none of ours."""

from __future__ import annotations

import sqlite3
from collections import Counter

from tests.api.server import COUNTY, ON, Server

_ELIGIBLE = """
SELECT e.subject_kind, e.subject_id, e.policy_id,
       substr(COALESCE(h.region_code, f.region_code), 1, 9)
FROM entitlement e
LEFT JOIN household h ON e.subject_kind = 'household' AND h.id = e.subject_id
LEFT JOIN enterprise f ON e.subject_kind = 'enterprise' AND f.id = e.subject_id
WHERE e.status = 'eligible' AND e.valid_from <= ? AND (e.valid_to IS NULL OR e.valid_to > ?)
  AND COALESCE(h.region_code, f.region_code) LIKE ?
"""
_NOTIFIED = "SELECT subject_kind, subject_id, policy_id FROM outbox WHERE kind = 'newly_eligible'"
_CLAIMED = """
SELECT c.subject_kind, c.subject_id, json_extract(s.value, '$.policy_id'), p.state
FROM claim_part p JOIN claim c ON c.id = p.claim_id, json_each(p.sections) s
"""


def _expected(api: Server) -> dict[tuple[str, str], tuple[int, int, int, int]]:
    with sqlite3.connect(api.data / "zhida.db") as db:
        eligible = db.execute(_ELIGIBLE, (ON, ON, COUNTY + "%")).fetchall()
        notified = {tuple(r) for r in db.execute(_NOTIFIED)}
        parts = db.execute(_CLAIMED).fetchall()
    claimed = {(k, i, p) for k, i, p, s in parts if s not in ("withdrawn", "rejected")}
    paid = {(k, i, p) for k, i, p, s in parts if s in ("granted", "paid")}
    counts: Counter[tuple[str, str, str]] = Counter()
    for kind, sid, policy, town in eligible:
        key = (kind, sid, policy)
        for what, hit in (("e", True), ("n", key in notified), ("c", key in claimed),
                          ("p", key in paid)):  # fmt: skip
            counts[(policy, town, what)] += int(hit)
    groups = {(p, t) for p, t, _ in counts}
    return {g: tuple(counts[(*g, w)] for w in "encp") for g in groups}  # type: ignore[misc]


def test_coverage_equals_the_counts_made_with_sql(api: Server) -> None:
    """Per policy and township: eligible, notified, claimed and paid as the test counts them."""
    with api.client("ducha") as client:
        body = client.get("/api/supervision/coverage", params={"on": ON}).json()
    assert body["by"] == "township" and body["region"] == COUNTY
    got = {(i["policy_id"], i["region"]): (i["eligible"], i["notified"], i["claimed"], i["paid"])
           for i in body["items"]}  # fmt: skip
    expected = _expected(api)
    assert expected and got == expected
    assert any(n[1] for n in got.values()) and any(n[2] for n in got.values())


def test_a_village_prefix_groups_by_village(api: Server) -> None:
    """A 9-digit region gives that township's villages only."""
    town = api.seeded.township
    with api.client("xian") as client:
        body = client.get("/api/supervision/coverage", params={"on": ON, "region": town}).json()
    assert body["by"] == "village" and body["items"]
    assert all(i["region"].startswith(town) and len(i["region"]) == 12 for i in body["items"])


def test_another_county_and_other_roles_see_nothing_of_ours(api: Server) -> None:
    """County 520625 gets empty answers for 520602; a village or enterprise user gets 403."""
    with api.client("xian_b") as client:
        for path in ("coverage", "unclaimed", "overdue"):
            answer = client.get(f"/api/supervision/{path}", params={"region": COUNTY, "on": ON})
            assert answer.status_code == 200
            items = answer.json()["items"]
            assert items == [], path
        outcomes = client.get("/api/supervision/outcomes", params={"on": ON}).json()
        assert all(not u["region"].startswith(COUNTY) for u in outcomes["unclaimed"])
    for user in ("cun", "qiye", "zhengce", "bumen0"):
        with api.client(user) as client:
            assert client.get("/api/supervision/coverage").status_code == 403, user


def test_unclaimed_and_overdue_answer_in_shape(api: Server) -> None:
    """The 应享未享 list masks households; overdue steps and outcomes answer for our county."""
    with api.client("ducha") as client:
        unclaimed = client.get("/api/supervision/unclaimed", params={"on": "2025-06-01"}).json()[
            "items"
        ]
        overdue = client.get("/api/supervision/overdue", params={"on": "2025-06-01"})
        outcomes = client.get("/api/supervision/outcomes", params={"on": "2025-06-01"})
        bad = client.get("/api/supervision/coverage", params={"region": "52a"})
    assert all(u["region"].startswith(COUNTY) for u in unclaimed)
    assert all("**" in u["subject_key"] for u in unclaimed if u["subject_kind"] == "household")
    assert overdue.status_code == 200 and outcomes.status_code == 200
    assert "policies" in outcomes.json() and bad.status_code == 400


def test_a_day_outside_the_calendar_is_a_400_naming_it(api: Server) -> None:
    """A year-1 date would overflow a report's day arithmetic: refused, naming `query.on`."""
    with api.client("ducha") as c:
        for path in ("/api/supervision/unclaimed", "/api/supervision/outcomes",
                     "/api/supervision/coverage", "/api/supervision/overdue"):  # fmt: skip
            answer = c.get(path, params={"on": "0001-01-05"})
            assert answer.status_code == 400, (path, answer.text)
            assert answer.json()["errors"][0]["path"] == "query.on"
    with api.client("cun") as c:
        assert c.get("/api/claims", params={"on": "9999-12-31"}).status_code == 400
