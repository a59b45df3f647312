"""Notices over HTTP: each caller sees the notices of its own reach, and nothing else (404)."""

from __future__ import annotations

import sqlite3

from tests.api.server import Server

_OF_VILLAGE = (
    "SELECT o.id FROM outbox o JOIN household h ON h.id = o.subject_id "
    "WHERE o.subject_kind = 'household' AND h.region_code = ? ORDER BY o.id DESC"
)
_OF_ENTERPRISE = (
    "SELECT o.id FROM outbox o JOIN enterprise e ON e.id = o.subject_id "
    "WHERE o.subject_kind = 'enterprise' AND e.credit_code = ? ORDER BY o.id DESC"
)


def _sql(api: Server, query: str, *args: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(api.data / "zhida.db") as db:
        return db.execute(query, args).fetchall()


def test_a_village_sees_exactly_its_households_notices(api: Server) -> None:
    """The inbox of a village user is the SQL set of its households' notices, newest first."""
    village = api.seeded.village
    expected = [r[0] for r in _sql(api, _OF_VILLAGE, village)]
    assert expected
    with api.client("cun") as client:
        page = client.get("/api/notices", params={"limit": 500}).json()
        one = client.get(f"/api/notices/{expected[0]}").json()
    assert [n["id"] for n in page["items"]] == expected[:500]
    assert one["id"] == expected[0] and one["subject_kind"] == "household"
    (region,) = _sql(api, "SELECT region_code FROM household WHERE household_no = ?",
                     one["subject_key"])[0]  # fmt: skip
    assert region == village  # (a household number need not begin with its village's code)
    assert isinstance(one["deliveries"], list) and isinstance(one["says"], list)


def test_a_notice_outside_the_callers_reach_is_not_found(api: Server) -> None:
    """A sibling village, another county and an enterprise get 404 for a village's notice."""
    notice = _sql(api, _OF_VILLAGE, api.seeded.village)[0]
    for user in ("cun2", "xian_b", "qiye", "bumen0", "zhengce"):
        with api.client(user) as client:
            assert client.get(f"/api/notices/{notice[0]}").status_code == 404, user
    for user in ("xiang", "xian", "ducha"):
        with api.client(user) as client:
            assert client.get(f"/api/notices/{notice[0]}").status_code == 200, user


def test_an_enterprise_sees_only_its_own_notices(api: Server) -> None:
    """An enterprise's inbox holds only notices about itself; another's are 404 to it."""
    mine = {r[0] for r in _sql(api, _OF_ENTERPRISE, api.seeded.enterprise)}
    other = _sql(api, _OF_ENTERPRISE, api.seeded.other_enterprise)
    with api.client("qiye") as client:
        items = client.get("/api/notices", params={"limit": 500}).json()["items"]
        seen = {n["id"] for n in items}
        assert {n["subject_key"] for n in items} <= {api.seeded.enterprise}
        assert mine <= seen and all(
            client.get(f"/api/notices/{i}").status_code == 200 for i in list(mine)[:3]
        )
        if other:
            assert client.get(f"/api/notices/{other[0][0]}").status_code == 404
    pings = {r[0] for r in _sql(api, "SELECT id FROM outbox WHERE kind = 'ping'")}
    assert seen - pings == mine  # nothing else (its pings may come from other tests)


def test_bad_paging_is_a_400_naming_the_parameter(api: Server) -> None:
    """limit over 500 and an unknown state are refused with a problem."""
    with api.client("cun") as client:
        big = client.get("/api/notices", params={"limit": 501})
        state = client.get("/api/notices", params={"state": "'; DROP TABLE outbox;--"})
    assert big.status_code == 400 and "limit" in big.text
    assert state.status_code == 400 and "state" in state.text
