"""Claims opened by entitlement changes (store/claims/opening.py), on both databases: a household
becoming 低保 through the event path gets one bundle claim with a part per department and its
materials merged and resolved; `auto` outside a bundle is a grant, `confirm` a prepared claim,
`notify` no claim; the notice carries the claim; a sweep again opens nothing.

The helpers at the top are shared by the other tests/store/test_claims_*.py files.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from matcher.events.reactions import Reactions
from matcher.profiles.parse import parse_household
from rules.catalogue import Catalogue, load_catalogue
from rules.workflow import Actor
from store.claims.steps import StepDone, StepRequest, advance
from store.db import read_session, write_session
from store.events.apply import apply_change
from store.ingest.profiles import upsert_households
from store.sweep.run import begin_sweep, run_sweep
from store.users import actor_of, add_user, grant_role
from synth.demo import demo_village

ROOT = Path(__file__).parents[2] / "policies"
ON = date(2025, 3, 1)
VILLAGE = "520602100201"  # the demo village
SIBLING = "520602100202"  # another village of the same township
TOWNSHIP = "520602100"
COUNTY = "520602"
DIBAO = "5206021002010001"  # household 1: 低保 at the first sweep (its bundle claim is prepared)
ELDERLY = "5206021002010002"  # household 2: not 低保
TEKUN = "5206021002010005"  # household 5: 特困 (grants for electricity and medical)
VILLAGER, NEIGHBOUR, CHECKER = "李村干", "王邻村", "张乡审"


@cache
def catalogue(root: Path = ROOT) -> Catalogue:
    return load_catalogue(root)


@cache
def reactions(root: Path = ROOT) -> Reactions:
    return Reactions.load(root, catalogue(root))


def seed(engine: Engine, households: int = 5, sibling: int = 0, root: Path = ROOT) -> None:
    """The demo village's first `households` (and `sibling` more moved to the sibling village)
    stored as an import stores them, and swept on ON."""
    facts = catalogue(root).facts
    rows = []
    for n, (_, raw) in enumerate(demo_village(households + sibling, ON)):
        if n >= households:
            raw = {**raw, "region_code": SIBLING, "household_id": f"{SIBLING}{n + 1:04d}"}
        rows.append((parse_household(raw, facts, today=ON), "demo"))
    with write_session(engine) as session:
        upsert_households(session=session, households=rows)
    sweep(engine, root=root)


def sweep(engine: Engine, on: date = ON, root: Path = ROOT) -> dict[str, Any]:
    start = begin_sweep(engine=engine, catalogue=catalogue(root), root=root, on=on, region=None)
    counts: dict[str, Any] = run_sweep(engine=engine, start=start, catalogue=catalogue(root)).counts
    return counts


def change(engine: Engine, key: str, on: date = ON, **facts: Any) -> Any:
    """`zhida profile set household KEY fact=value … --on ON` (the event path)."""
    return apply_change(
        engine, catalogue=catalogue(), root=ROOT, reactions=reactions(), kind="household",
        key=key, facts=facts, on=on, actor="test", source="test",
    )  # fmt: skip


def rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with read_session(engine) as session:
        return list(session.execute(text(sql), params).all())


def scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with read_session(engine) as session:
        return session.execute(text(sql), params).scalar()


def js(value: Any) -> Any:
    """A JSON column as Python (SQLite hands back text)."""
    return json.loads(value) if isinstance(value, str) else value


def departments() -> dict[str, str]:
    """A department user per county department of the catalogue: name → department."""
    depts = sorted({p.spec.department for p in catalogue().policies.values()})
    return {f"审批{i:02d}": d for i, d in enumerate(depts)}


def dept_user(department: str) -> str:
    return next(n for n, d in departments().items() if d == department)


def add_users(engine: Engine, *, both: str | None = None) -> None:
    """A village operator, a sibling village's, a township checker and a user per department;
    `both`: a village operator who also holds the township role (`zhida users grant`)."""
    with write_session(engine) as s:
        add_user(session=s, name=VILLAGER, role="village", region=VILLAGE)
        add_user(session=s, name=NEIGHBOUR, role="village", region=SIBLING)
        add_user(session=s, name=CHECKER, role="township", region=TOWNSHIP)
        for name, dept in departments().items():
            add_user(session=s, name=name, role="department", region=COUNTY, department=dept)
        if both is not None:
            add_user(session=s, name=both, role="village", region=VILLAGE)
            grant_role(session=s, name=both, role="township", region=TOWNSHIP)


def actor(engine: Engine, name: str, role: str | None = None) -> Actor:
    with read_session(engine) as s:
        return actor_of(session=s, name=name, role=role)


def request(engine: Engine, claim_id: int, to: str, who: str, on: date = date(2025, 3, 3),
            role: str | None = None, **more: Any) -> StepRequest:  # fmt: skip
    return StepRequest(claim_id=claim_id, to_state=to, actor=actor(engine, who, role), person=who,
                       on=on, **more)  # fmt: skip


def step(engine: Engine, claim_id: int, to: str, who: str, on: date = date(2025, 3, 3),
         role: str | None = None, **more: Any) -> StepDone:  # fmt: skip
    """One step through `store.claims.steps.advance` (its own transaction)."""
    return advance(engine, request(engine, claim_id, to, who, on, role, **more), root=ROOT)


def bundle_of(engine: Engine, key: str, state: str | None = None) -> int:
    """The id of the household's 低保 bundle claim (the latest; in `state` when given)."""
    found = scalar(
        engine,
        "SELECT MAX(id) FROM claim WHERE bundle_id = 'household.dibao' AND subject_key = :k"
        + (" AND state = :s" if state else ""),
        k=key, s=state,
    )  # fmt: skip
    assert found is not None, f"no 低保 bundle claim for {key}"
    return int(found)


def parts_of(engine: Engine, claim_id: int) -> dict[str, Any]:
    """The claim's parts by department."""
    found = rows(engine, "SELECT * FROM claim_part WHERE claim_id = :c ORDER BY id", c=claim_id)
    return {r.department: r for r in found}


def spec(policy_id: str) -> Any:
    return catalogue().policies[policy_id].spec


# --- the tests ---------------------------------------------------------------------------------


def test_becoming_dibao_through_the_event_path_opens_one_bundle_claim(engine: Engine) -> None:
    """`dibao_status=active` on a household: ONE bundle claim for household.dibao, a part per
    department of its newly eligible members, each material once (merged by name) and held
    where the profile has its fact, waived (容缺) or asked otherwise; each newly_eligible notice
    carries the claim; a sweep on the same date then opens nothing more."""
    seed(engine, households=4)
    before = scalar(engine, "SELECT MAX(id) FROM claim")
    outcome = change(engine, ELDERLY, dibao_status="active", dibao_certificate_no="DB520699001",
                     water_account_no="SW990001")  # fmt: skip
    newly = [c for c in outcome.changes if c.kind == "newly_eligible"]
    members = set(catalogue().bundles["household.dibao"].spec.members)
    assert newly and {c.policy_id for c in newly} <= members
    opened = rows(engine, "SELECT * FROM claim WHERE id > :n", n=before)
    assert len(opened) == 1
    claim = opened[0]
    assert (claim.kind, claim.bundle_id, claim.subject_key, claim.region, claim.state) == (
        "bundle", "household.dibao", ELDERLY, VILLAGE, "prepared",
    )  # fmt: skip
    parts = parts_of(engine, claim.id)
    want = {spec(c.policy_id).department for c in newly}
    assert set(parts) == want and len(parts) == len(want)
    for dept, part in parts.items():
        assert part.state == "prepared"
        assert {s["policy_id"] for s in js(part.sections)} == {
            c.policy_id for c in newly if spec(c.policy_id).department == dept
        }
    materials = js(claim.materials)
    names = [m["name"] for m in materials]
    assert len(names) == len(set(names)), names  # merged by name: each once
    needed: dict[str, set[str]] = {}
    for c in newly:
        for m in spec(c.policy_id).materials:
            needed.setdefault(m.name, set()).add(spec(c.policy_id).department)
    assert {m["name"]: set(m["departments"]) for m in materials} == needed
    status = {m["name"]: m["status"] for m in materials}
    assert status["低保证"] == "held" and len(needed["低保证"]) == len(parts) > 1
    assert status["水费户号"] == "held"
    assert status["电费户号"] == "waived"  # waivable, not in the profile
    held = next(m for m in materials if m["name"] == "低保证")
    assert held["from"] == "dibao_certificate_no" and held["value"] != "DB520699001"  # masked
    # the notices carry the claim
    notices = rows(engine, "SELECT policy_id, payload FROM outbox WHERE kind = 'newly_eligible' "
                           "AND subject_id = :s AND policy_id LIKE 'household.dibao.%'",
                   s=claim.subject_id)  # fmt: skip
    assert {n.policy_id for n in notices} == {c.policy_id for c in newly}
    for n in notices:
        said = js(n.payload)["claim"]
        assert (said["id"], said["kind"], said["state"]) == (claim.id, "bundle", "prepared")
        assert "低保证" in said["held"] and "电费户号" in said["waived"] and said["asked"] == []
    counts = [scalar(engine, f"SELECT COUNT(*) FROM {t}") for t in ("claim", "claim_part",
                                                                   "claim_step")]  # fmt: skip
    assert sweep(engine)["changes"] == {}
    again = [scalar(engine, f"SELECT COUNT(*) FROM {t}") for t in ("claim", "claim_part",
                                                                  "claim_step")]  # fmt: skip
    assert again == counts


def test_a_material_with_no_fact_and_not_waivable_is_asked(engine: Engine) -> None:
    """Becoming 低保 without a 低保证 number in the profile: the 低保证 is asked, once, for every
    department; the notice lists it under `asked`."""
    seed(engine, households=4)
    change(engine, ELDERLY, dibao_status="active")
    claim_id = bundle_of(engine, ELDERLY)
    materials = js(scalar(engine, "SELECT materials FROM claim WHERE id = :c", c=claim_id))
    (dibao,) = [m for m in materials if m["name"] == "低保证"]
    assert dibao["status"] == "asked"
    assert set(dibao["departments"]) == set(parts_of(engine, claim_id))
    payloads = [js(p) for (p,) in rows(engine, "SELECT payload FROM outbox WHERE claim_id IS NULL "
                                               "AND kind = 'newly_eligible' AND policy_id LIKE "
                                               "'household.dibao.%' AND subject_id = "
                                               "(SELECT subject_id FROM claim WHERE id = :c)",
                                       c=claim_id)]  # fmt: skip
    assert payloads and all(p["claim"]["asked"] == ["低保证"] for p in payloads)


def test_auto_outside_a_bundle_is_granted_and_confirm_is_prepared(engine: Engine) -> None:
    """A sweep: `delivery: auto` outside any open bundle is a grant, `granted` at once with a
    `grant` step by the system; `delivery: confirm` a prepared claim of one part."""
    seed(engine, households=5)
    grants = rows(engine, "SELECT c.id, c.state, c.subject_key, p.state AS part_state, "
                          "p.sections FROM claim c JOIN claim_part p ON p.claim_id = c.id "
                          "WHERE c.kind = 'grant' ORDER BY c.id")  # fmt: skip
    assert grants
    granted = {js(g.sections)[0]["policy_id"]: g for g in grants}
    assert "household.elderly.longevity" in granted  # the elderly couple's
    assert {"household.dibao.electricity", "household.dibao.medical"} <= set(granted)  # 特困
    for g in grants:
        assert (g.state, g.part_state) == ("granted", "granted")
        (policy,) = [s["policy_id"] for s in js(g.sections)]
        assert spec(policy).delivery == "auto"
        steps = rows(engine, "SELECT action, from_state, to_state, actor, role FROM claim_step "
                             "WHERE claim_id = :c", c=g.id)  # fmt: skip
        assert [tuple(s) for s in steps] == [("grant", "prepared", "granted", "system", "system")]
    assert granted["household.dibao.electricity"].subject_key == TEKUN
    prepared = rows(
        engine,
        "SELECT c.id, c.state, p.state AS part_state, p.sections FROM claim c "
        "JOIN claim_part p ON p.claim_id = c.id WHERE c.kind = 'claim'",
    )
    assert prepared and len({c.id for c in prepared}) == len(prepared)  # one part each
    for c in prepared:
        assert (c.state, c.part_state) == ("prepared", "prepared")
        (section,) = js(c.sections)
        assert spec(section["policy_id"]).delivery == "confirm"
    assert scalar(engine, "SELECT COUNT(*) FROM claim_step WHERE action <> 'grant'") == 0


def test_notify_opens_no_claim(engine: Engine, tmp_path: Path) -> None:
    """A policy whose delivery is `notify` gets its notice and no claim."""
    root = tmp_path / "policies"
    shutil.copytree(ROOT, root)
    path = root / "household" / "elderly" / "longevity.yaml"
    source = path.read_text(encoding="utf-8")
    assert "delivery: auto" in source
    path.write_text(source.replace("delivery: auto", "delivery: notify"), encoding="utf-8")
    seed(engine, households=2, root=root)
    notice = rows(engine, "SELECT payload FROM outbox WHERE policy_id = 'household.elderly."
                          "longevity' AND kind = 'newly_eligible'")  # fmt: skip
    assert len(notice) == 1 and js(notice[0].payload).get("claim") is None
    claims = rows(engine, "SELECT p.sections FROM claim_part p")
    assert claims  # household 1's claims were opened…
    assert all(
        s["policy_id"] != "household.elderly.longevity" for (secs,) in claims for s in js(secs)
    )  # …but none for the notify policy
