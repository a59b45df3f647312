"""Households and enterprises over HTTP: scope (404 outside, never 403 on objects), masking,
the identity view, PUT and PATCH through the event path, entitlements, hostile keys (Q1)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select, text

from store.db import open_engine, read_session
from store.tables.entitlements import Entitlement
from store.tables.profiles import HouseholdRow
from synth.identifiers import make_ric
from tests.api.server import ON, Server


def person(seq: int) -> str:
    """A valid ID number no seeded household holds (born 1931-02-03)."""
    return make_ric(region="520602", birth=date(1931, 2, 3), seq=seq)


def profile(no: str, region: str, *members: str, **facts: Any) -> dict[str, Any]:
    people = [{"id_number": n, "relation": "head" if i == 0 else "spouse", "name": f"人{i}"}
              for i, n in enumerate(members)]  # fmt: skip
    return {"household_id": no, "region_code": region, "members": people, **facts}


def test_a_village_lists_only_its_own_households_and_an_enterprise_none(api: Server) -> None:
    """The list is filtered in SQL by the caller's region; a wider scope sees more."""
    with api.client("cun") as c, api.client("xiang") as x, api.client("qiye") as q:
        mine = c.get("/api/households", params={"limit": 500}).json()
        wider = x.get("/api/households", params={"limit": 1}).json()
        none = q.get("/api/households").json()
        bad = c.get("/api/households", params={"region": "52%"})
    assert mine["total"] > 0 and all(h["region_code"] == api.seeded.village for h in mine["items"])
    assert wider["total"] > mine["total"] and len(wider["items"]) == 1
    assert none["total"] == 0 and none["items"] == []
    assert bad.status_code == 400 and bad.json()["errors"][0]["path"].endswith("region")


def test_objects_outside_the_scope_answer_404_never_403(api: Server) -> None:
    """Sibling village, other county, another kind of role: 404 on every object endpoint."""
    s = api.seeded
    own, sibling = s.household(s.village), s.household(s.sibling_village)
    other = s.household(s.other_county_village)
    cases = [
        ("cun", f"/api/households/{own}", 200),
        ("cun", f"/api/households/{sibling}", 404),
        ("cun", f"/api/households/{sibling}/entitlements", 404),
        ("cun", f"/api/households/{sibling}/entitlements/history", 404),
        ("xiang", f"/api/households/{sibling}", 200),
        ("xian", f"/api/households/{other}", 404),
        ("xian_b", f"/api/households/{own}", 404),
        ("ducha", f"/api/households/{own}", 200),
        ("qiye", f"/api/households/{own}", 404),
        ("bumen0", f"/api/households/{own}", 404),
        ("qiye", f"/api/enterprises/{s.enterprise}", 200),
        ("qiye", f"/api/enterprises/{s.other_enterprise}", 404),
        ("xian", f"/api/enterprises/{s.other_enterprise}", 404),
        ("xian_b", f"/api/enterprises/{s.other_enterprise}", 404),  # not in 520625 either
        ("cun", f"/api/enterprises/{s.enterprise}", 404),
    ]
    got = []
    for user, path, _ in cases:
        with api.client(user) as c:
            got.append((user, path, c.get(path).status_code))
    assert got == cases


def test_a_household_view_masks_every_id_number(api: Server) -> None:
    """Members carry `id_number_masked` (the response hook fails on any full number)."""
    with api.client("xian") as c:
        view = c.get(f"/api/households/{api.seeded.household(api.seeded.village)}").json()
    assert view["members"] and all("*" in m["id_number_masked"] for m in view["members"])
    assert [m["position"] for m in view["members"]] == list(range(len(view["members"])))


def test_identity_shows_full_numbers_to_its_own_village_only_and_is_audited(api: Server) -> None:
    """Only `cun` (the household's village) gets the numbers; the read is in the audit log."""
    no = api.seeded.household(api.seeded.village)
    with api.client("cun") as c:
        shown = c.get(f"/api/households/{no}/identity")
    assert shown.status_code == 200
    assert all(len(m["id_number"]) == 18 and "*" not in m["id_number"]
               for m in shown.json()["members"])  # fmt: skip
    for user in ("cun2", "xiang", "xian", "ducha", "qiye"):
        with api.client(user) as c:
            assert c.get(f"/api/households/{no}/identity").status_code == 404, user
    engine = open_engine(api.db_url)
    try:
        with read_session(engine) as s:
            actors = s.execute(
                text("SELECT actor FROM audit WHERE action = 'household.identity'")
            ).scalars().all()  # fmt: skip
    finally:
        engine.dispose()
    assert actors.count("cun") >= 1 and set(actors) == {"cun"}


def test_put_with_a_bad_id_number_is_422_at_its_json_path(api: Server) -> None:
    """A wrong check digit on the second member is named at `members[1].id_number`."""
    good = person(901)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    body = profile("API-SUBJ-BAD", api.seeded.village, person(903), bad)
    with api.client("cun") as c:
        answer = c.put("/api/households/API-SUBJ-BAD", json=body, params={"on": ON})
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["path"] == "members[1].id_number"
    with api.client("cun") as c:
        assert c.get("/api/households/API-SUBJ-BAD").status_code == 404  # nothing stored


def test_put_outside_the_scope_is_refused(api: Server) -> None:
    """A new household in the sibling village: 422 at region_code; a stored one there: 404."""
    s = api.seeded
    body = profile("API-SUBJ-OUT", s.sibling_village, person(905))
    sibling = s.household(s.sibling_village)
    with api.client("cun") as c:
        new = c.put("/api/households/API-SUBJ-OUT", json=body, params={"on": ON})
        stored = c.put(f"/api/households/{sibling}", json={**body, "household_id": sibling})
        patched = c.patch(f"/api/households/{sibling}", json={"facts": {"dibao_status": "none"}})
    assert new.status_code == 422 and new.json()["errors"][0]["path"] == "region_code"
    assert stored.status_code == 404 and patched.status_code == 404
    with api.client("ducha") as d:  # a supervisor reads, never writes
        assert d.patch(f"/api/households/{sibling}", json={"facts": {}}).status_code == 403


def test_put_then_patch_go_through_the_event_path(api: Server) -> None:
    """PUT creates the household; PATCH lists its events, changes and notices; GET shows it."""
    no = "API-SUBJ-1"
    body = profile(no, api.seeded.village, person(907), person(909), dibao_status="none")
    with api.client("cun") as c:
        created = c.put(f"/api/households/{no}", json=body, params={"on": ON})
        assert created.status_code == 200, created.text
        assert created.json()["events"], created.json()
        again = c.put(f"/api/households/{no}", json=body, params={"on": ON}).json()
        assert again == {"events": [], "actions": [], "changes": [], "notices": [],
                         "deadlines": []}  # fmt: skip
        change = {"on": "2025-03-10", "facts": {"dibao_status": "在册",
                                                "dibao_certificate_no": "DB520600901"}}  # fmt: skip
        done = c.patch(f"/api/households/{no}", json=change)
        assert done.status_code == 200, done.text
        member = c.patch(
            f"/api/households/{no}",
            json={"on": "2025-03-10", "member": 1, "facts": {"monthly_income": 0}},
        )
        far = c.patch(f"/api/households/{no}", json={"member": 5, "facts": {"monthly_income": 1}})
        view = c.get(f"/api/households/{no}").json()
        held = c.get(f"/api/households/{no}/entitlements", params={"on": "2025-03-10"}).json()[
            "items"
        ]
        history = c.get(f"/api/households/{no}/entitlements/history").json()["items"]
    out = done.json()
    assert [e["name"] for e in out["events"]], out
    assert out["changes"] and all(ch["after_status"] for ch in out["changes"])
    assert out["notices"], out
    assert member.status_code == 200, member.text
    assert far.status_code == 422 and far.json()["errors"][0]["path"] == "member"
    assert view["facts"]["dibao_status"] == "active"
    assert view["facts"]["dibao_certificate_no"] == "DB520600901"
    assert view["members"][1]["facts"]["monthly_income"] == 0
    eligible = {h["policy_id"] for h in held if h["status"] == "eligible"}
    assert eligible >= {ch["policy_id"] for ch in out["changes"]
                        if ch["after_status"] == "eligible"}  # fmt: skip
    assert all(h["since"] == "2025-03-10" or h["since"] <= "2025-03-10" for h in held)
    assert any(h["opened_by"] and h["opened_by"].startswith("event:") for h in history)


def test_a_patch_with_a_bad_value_names_the_fact(api: Server) -> None:
    """A value the fact cannot take and an unknown fact: 422, each at `facts.<name>`."""
    no = api.seeded.household(api.seeded.village)
    with api.client("cun") as c:
        answer = c.patch(
            f"/api/households/{no}",
            json={"facts": {"dibao_status": "maybe", "dibao_statsu": "active"}},
        )
        future = c.patch(
            f"/api/households/{no}", json={"on": "2999-01-01", "facts": {"dibao_status": "none"}}
        )
    assert answer.status_code == 422
    paths = [e["path"] for e in answer.json()["errors"]]
    assert paths == ["facts.dibao_status", "facts.dibao_statsu"]
    assert future.status_code == 422 and "2999-01-01" in future.json()["detail"]


def test_hostile_keys_find_nothing_and_are_stored_verbatim(api: Server) -> None:
    """`' OR '1'='1`, `%` and `_` as 户编号: not found before, stored as typed, each alone."""
    keys = ["' OR '1'='1", "%", "_"]
    with api.client("cun") as c:
        assert all(c.get(f"/api/households/{k}").status_code == 404 for k in keys)
        for i, k in enumerate(keys):
            body = profile(k, api.seeded.village, person(911 + 2 * i))
            put = c.put(f"/api/households/{k}", json=body, params={"on": ON})
            assert put.status_code == 200, put.text
        got = [c.get(f"/api/households/{k}").json()["household_no"] for k in keys]
        assert c.get("/api/households/%25%25").status_code == 404
    assert got == keys
    engine = open_engine(api.db_url)
    try:
        with read_session(engine) as s:
            stored = s.execute(
                select(HouseholdRow.household_no).where(HouseholdRow.household_no.in_(keys))  # type: ignore[attr-defined]
            ).scalars().all()  # fmt: skip
    finally:
        engine.dispose()
    assert sorted(stored) == sorted(keys)


def test_entitlements_of_a_seeded_household_on_the_import_date(api: Server) -> None:
    """A household eligible since the sweep shows it on that date, and nothing before it."""
    engine = open_engine(api.db_url)
    try:
        with read_session(engine) as s:
            no = s.execute(
                select(HouseholdRow.household_no)
                .join(Entitlement, Entitlement.subject_id == HouseholdRow.id)  # type: ignore[arg-type]
                .where(Entitlement.subject_kind == "household", Entitlement.status == "eligible")
                .where(HouseholdRow.region_code == api.seeded.village)
                .order_by(HouseholdRow.household_no)
            ).scalars().first()  # fmt: skip
    finally:
        engine.dispose()
    assert no is not None
    with api.client("xiang") as c:
        held = c.get(f"/api/households/{no}/entitlements", params={"on": ON}).json()["items"]
        before = c.get(f"/api/households/{no}/entitlements", params={"on": "2025-02-28"}).json()
        history = c.get(f"/api/households/{no}/entitlements/history").json()["items"]
    eligible = [h for h in held if h["status"] == "eligible"]
    assert eligible and all(h["since"] == ON and h["title"] for h in eligible)
    assert all(h["amount"] is None or "." in h["amount"] for h in held)  # money as "300.00"
    assert before == {"items": [], "total": 0, "limit": 500, "offset": 0}
    assert all(h["opened_by"].split(":")[0] in {"event", "sweep_run"} for h in history)


def test_an_enterprise_reads_itself_but_only_the_county_writes_it(api: Server) -> None:
    """`qiye` may not PATCH itself (403); the county may (200); another county's: 404."""
    s = api.seeded
    change = {"on": ON, "facts": {"employees": 12}}
    with api.client("qiye") as q, api.client("xian") as x:
        own = q.patch(f"/api/enterprises/{s.enterprise}", json=change)
        county = x.patch(f"/api/enterprises/{s.enterprise}", json=change)
        other = x.patch(f"/api/enterprises/{s.other_enterprise}", json=change)
        listed = q.get("/api/enterprises").json()
    assert own.status_code == 403
    assert county.status_code == 200, county.text
    assert other.status_code == 404
    assert [e["credit_code"] for e in listed["items"]] == [s.enterprise]
