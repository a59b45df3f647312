"""The authorization matrix (RELIABILITY P2): every role × every object endpoint × objects in the
caller's own region, a sibling region, the parent region and another county → the expected
status. No read or write outside the caller's scope succeeds: it answers 404, exactly as for an
object that does not exist (a role that may not use the endpoint at all may answer 403, which
says nothing about the object).

What each role may see is written here once, from the scope table of docs/api.md (`visible`),
independently of the code under test; the objects are picked from the seeded database with SQL.
Writes are sent so that even an allowed one cannot change anything (a stale version, an unknown
fact), except to roles that may never write there (a valid change: it must be refused).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from store.db import open_engine
from tests.api.server import COUNTY, Server

USERS = ("cun", "xiang", "xian", "bumen0", "qiye", "zhengce", "ducha")
NOT_A_VERSION = 2**31 - 1  # a version no claim has: an allowed step is a conflict, never done
DAY = "2025-03-01"


@dataclass(frozen=True)
class Obj:
    """An object of the matrix: its kind, id, where it is, and for claims their departments."""

    kind: str  # household | enterprise | claim | notice | subscription
    id: str
    place: str  # own | sibling | parent | other-county (from the village user's point of view)
    region: str
    subject_kind: str = "household"
    subject_key: str = ""
    departments: tuple[str, ...] = ()


def _one(conn: Any, sql: str, **params: Any) -> Any:
    row = conn.execute(text(sql), params).first()
    assert row is not None, (sql, params)
    return row


def _places(api: Server) -> dict[str, tuple[str, str]]:
    """Region prefix conditions for each place, as (like, not like) around the village `cun`."""
    s = api.seeded
    return {
        "own": (s.village, "-"),
        "sibling": (s.township, s.village),
        "parent": (COUNTY, s.township),
        "other-county": (s.other_county_village[:6], "-"),
    }


def _objects(api: Server) -> list[Obj]:
    s, engine = api.seeded, open_engine(api.db_url)
    out: list[Obj] = []
    try:
        with engine.connect() as conn:
            for place, (inside, outside) in _places(api).items():
                where = "region_code LIKE :i AND region_code NOT LIKE :o"
                h = _one(conn, f"SELECT household_no, region_code FROM household WHERE {where} "
                         "ORDER BY household_no", i=inside + "%", o=outside + "%")  # fmt: skip
                out.append(Obj("household", h[0], place, h[1], "household", h[0]))
                c = _one(conn, "SELECT id, region, subject_key FROM claim WHERE subject_kind = "
                         "'household' AND region LIKE :i AND region NOT LIKE :o ORDER BY id",
                         i=inside + "%", o=outside + "%")  # fmt: skip
                depts = tuple(
                    r[0]
                    for r in conn.execute(
                        text("SELECT department FROM claim_part WHERE claim_id = :c"), {"c": c[0]}
                    )
                )
                out.append(Obj("claim", str(c[0]), place, c[1], "household", c[2], depts))
                n = _one(conn, "SELECT o.id, h.region_code, h.household_no FROM outbox o JOIN "
                         "household h ON h.id = o.subject_id WHERE o.subject_kind = 'household' "
                         "AND h.region_code LIKE :i AND h.region_code NOT LIKE :o ORDER BY o.id",
                         i=inside + "%", o=outside + "%")  # fmt: skip
                out.append(Obj("notice", str(n[0]), place, n[1], "household", n[2]))
            firms = {"own": s.enterprise, "other-county": s.other_enterprise}
            firms["sibling"] = _one(conn, "SELECT credit_code FROM enterprise WHERE credit_code "
                                    "<> :e AND substr(credit_code, 3, 6) = :c ORDER BY "
                                    "credit_code", e=s.enterprise, c=COUNTY)[0]  # fmt: skip
            for place, code in firms.items():
                region = code[2:8]
                out.append(Obj("enterprise", code, place, region, "enterprise", code))
                for kind, sql in (
                    ("claim", "SELECT id FROM claim WHERE subject_kind = 'enterprise' AND "
                              "subject_key = :k ORDER BY id"),
                    ("notice", "SELECT o.id FROM outbox o JOIN enterprise e ON e.id = "
                               "o.subject_id WHERE o.subject_kind = 'enterprise' AND "
                               "e.credit_code = :k ORDER BY o.id"),
                ):  # fmt: skip
                    row = conn.execute(text(sql), {"k": code}).first()
                    if row is not None:
                        depts = tuple(r[0] for r in conn.execute(
                            text("SELECT department FROM claim_part WHERE claim_id = :c"),
                            {"c": row[0]})) if kind == "claim" else ()  # fmt: skip
                        out.append(Obj(kind, str(row[0]), place, region, "enterprise", code,
                                       depts))  # fmt: skip
    finally:
        engine.dispose()
    return out


def visible(user: dict[str, Any], obj: Obj) -> bool:
    """Whether `user` may read `obj` — the scope table of docs/api.md, written independently."""
    role, region = user["role"], user.get("region") or ""
    own_firm = obj.subject_kind == "enterprise" and obj.subject_key == user.get("subject_key")
    if role == "enterprise":
        return obj.kind != "household" and own_firm
    if role in {"village", "township"}:
        return obj.subject_kind == "household" and obj.region.startswith(region)
    if role in {"county", "supervisor"}:
        return obj.region.startswith(region)
    if role == "department":
        return (
            obj.kind == "claim"
            and obj.region.startswith(region)
            and (user["department"] in obj.departments)
        )
    return False  # policy_writer: no object at all


def _request(c: httpx.Client, method: str, path: str, body: Any = None) -> int:
    answer = c.request(method, path, json=body)
    assert answer.status_code != 500, (method, path, answer.text)
    if answer.status_code >= 400:
        assert answer.headers["content-type"].startswith("application/problem+json")
    return answer.status_code


READS = {
    "household": ["", "/entitlements", "/entitlements/history"],
    "enterprise": ["", "/entitlements", "/entitlements/history"],
    "claim": [""],
    "notice": [""],
}
BASE = {"household": "/api/households/", "enterprise": "/api/enterprises/",
        "claim": "/api/claims/", "notice": "/api/notices/"}  # fmt: skip
PATCH_WRITERS = {"household": {"village", "township", "county"}, "enterprise": {"county"}}
CLAIM_STEPS = {
    "confirm": {"version": NOT_A_VERSION, "on": DAY},
    "advance": {"action": "accept", "version": NOT_A_VERSION, "on": DAY},
    "return": {"version": NOT_A_VERSION, "reason": "补正：缺户口簿", "on": DAY},
    "reject": {"version": NOT_A_VERSION, "reason": "不符合条件", "on": DAY},
}


def _cases(api: Server, objects: list[Obj]) -> list[tuple[str, str, str, Any, Obj, set[int]]]:
    """(user, method, path, body, object, the statuses expected)."""
    cases: list[tuple[str, str, str, Any, Obj, set[int]]] = []
    for name in USERS:
        user = api.seeded.users[name]
        role = user["role"]
        for obj in objects:
            seen = visible(user, obj)
            for tail in READS[obj.kind]:
                cases.append((name, "GET", BASE[obj.kind] + obj.id + tail, None, obj,
                              {200} if seen else {404}))  # fmt: skip
            if obj.kind == "household":  # the full ID numbers: the household's own village only
                mine = role == "village" and obj.region.startswith(user["region"])
                cases.append((name, "GET", f"/api/households/{obj.id}/identity", None, obj,
                              {200} if mine else {404}))  # fmt: skip
            if obj.kind in PATCH_WRITERS:
                path = BASE[obj.kind] + obj.id
                if role in PATCH_WRITERS[obj.kind]:  # allowed: an unknown fact changes nothing
                    body = {"on": DAY, "facts": {"no_such_fact_xyz": "1"}}
                    cases.append((name, "PATCH", path, body, obj, {422} if seen else {404}))
                    # a PUT of a profile that is no profile: refused, or not found outside
                    cases.append((name, "PUT", path, {"no_such_field": 1}, obj,
                                  {422} if seen else {404}))  # fmt: skip
                else:  # never allowed: a valid change, which must be refused
                    fact = "dibao_status" if obj.kind == "household" else "employees"
                    body = {"on": DAY, "facts": {fact: "none" if obj.kind == "household" else 1}}
                    cases.append((name, "PATCH", path, body, obj, {403, 404}))
            if obj.kind == "claim":
                for step, body in CLAIM_STEPS.items():
                    path = f"/api/claims/{obj.id}/{step}"
                    cases.append((name, "POST", path, body, obj,
                                  {403, 409, 422} if seen else {404}))  # fmt: skip
    return cases


@pytest.fixture(scope="module")
def matrix(api: Server) -> tuple[list[Obj], list[tuple[str, str, str, Any, Obj, set[int]]]]:
    objects = _objects(api)
    return objects, _cases(api, objects)


def test_the_matrix_covers_every_role_and_place(
    matrix: tuple[list[Obj], list[Any]], api: Server
) -> None:
    objects, cases = matrix
    assert {o.place for o in objects} == {"own", "sibling", "parent", "other-county"}
    assert {o.kind for o in objects} == {"household", "enterprise", "claim", "notice"}
    assert {c[0] for c in cases} == set(USERS)
    assert len(cases) > 500  # the figure is printed by the next test


def test_no_read_or_write_crosses_the_callers_scope(
    matrix: tuple[list[Obj], list[tuple[str, str, str, Any, Obj, set[int]]]], api: Server
) -> None:
    _, cases = matrix
    clients = {name: api.client(name) for name in USERS}
    wrong: list[str] = []
    outcomes: Counter[str] = Counter()
    try:
        for name, method, path, body, obj, expected in cases:
            got = _request(clients[name], method, path, body)
            outcomes[f"{got}"] += 1
            if got not in expected:
                wrong.append(f"{name} {method} {path} ({obj.place} {obj.kind}): {got}, "
                             f"expected {sorted(expected)}")  # fmt: skip
    finally:
        for c in clients.values():
            c.close()
    print(f"authorization matrix: {len(cases)} cases, statuses {dict(sorted(outcomes.items()))}")
    assert not wrong, "\n".join(wrong[:40])
    # and the matrix is not one of refusals only: every role that reads objects read some
    readers = {c[0] for c in cases if 200 in c[5]}
    assert readers == set(USERS) - {"zhengce"}, readers


def test_subscriptions_are_managed_only_by_their_own_subject(api: Server) -> None:
    made = {}
    for owner in ("qiye", "qiye_b"):
        with api.client(owner) as c:
            target = {"channel": "email", "target": f"{owner}@example.com"}
            answer = c.post("/api/subscriptions", json=target)
            assert answer.status_code == 201, answer.text
            made[owner] = answer.json()["id"]
    for name in (*USERS, "qiye_b", "xian_b"):
        with api.client(name) as c:
            listed = {sub["id"] for sub in c.get("/api/subscriptions").json()["items"]}
            for owner, sid in made.items():
                own = name == owner
                assert (sid in listed) == own, (name, sid, listed)
                for path in (f"/api/subscriptions/{sid}/rotate", f"/api/subscriptions/{sid}/ping"):
                    got = c.post(path).status_code
                    assert got in ({200, 422} if own else {403, 404}), (name, path, got)
    with api.client("qiye_b") as c:  # another enterprise cannot disable ours
        assert c.delete(f"/api/subscriptions/{made['qiye']}").status_code in {403, 404}
    with api.client("qiye") as c:
        assert c.delete(f"/api/subscriptions/{made['qiye']}").status_code == 204
