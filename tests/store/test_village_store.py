"""The village console's store reads and its batch, on both databases: the roster filtered in
SQL, the 一次性告知单, a household's notices, and confirm-and-submit to the township."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from rules.catalogue import Catalogue, load_catalogue
from rules.workflow import Actor
from store.claims.errors import ClaimError
from store.claims.steps import StepDone
from store.claims.village import Pick, submit_to_township
from store.db import read_session, write_session
from store.delivery.subject_notices import household_notices
from store.scope import Scope
from store.subjects.notice_sheet import notice_sheet
from store.subjects.roster import household_roster
from store.tables.catalogue import CatalogueVersion
from store.tables.claims import Claim, ClaimPart, ClaimStep
from store.tables.entitlements import Entitlement, OutboxMessage
from store.tables.profiles import HouseholdRow, MemberRow
from synth.identifiers import make_ric
from tests.claim_kit import add_claim

ROOT = Path(__file__).resolve().parents[2] / "policies"
VILLAGE, SIBLING = "520602100201", "520602100202"
ON = date(2025, 3, 3)
CUN = Scope(user="cun", role="village", region=VILLAGE)
ASKED = [{"name": "家庭经济状况核对授权书", "status": "asked"},
         {"name": "居民户口簿", "status": "held"}]  # fmt: skip


@cache
def _catalogue() -> Catalogue:
    return load_catalogue(ROOT)


def _version(engine: Engine) -> int:
    with write_session(engine) as s:
        row = CatalogueVersion(content_hash=f"{time.time_ns():064x}"[-64:], policy_ids=[],
                               files={}, published_by="test")  # fmt: skip
        s.add(row)
        s.flush()
        return int(row.id or 0)


def _household(engine: Engine, no: str, region: str, people: list[dict[str, Any]],
               **facts: Any) -> int:  # fmt: skip
    with write_session(engine) as s:
        row = HouseholdRow(household_no=no, region_code=region, facts=facts, profile_hash=no)
        s.add(row)
        s.flush()
        for i, p in enumerate(people):
            s.add(MemberRow(household_id=row.id or 0, position=i, id_number=p["id"],
                            name=p.get("name"), relation=p["relation"],
                            facts=p.get("facts", {})))  # fmt: skip
        return int(row.id or 0)


def _person(seq: int, name: str, relation: str = "head") -> dict[str, Any]:
    return {"id": make_ric(seq=seq), "name": name, "relation": relation}


def _held(engine: Engine, subject: int, policy: str, status: str, *, version: int,
          valid_to: date | None = None, amount: str | None = None,
          missing: list[str] | None = None) -> None:  # fmt: skip
    with write_session(engine) as s:
        s.add(Entitlement(subject_kind="household", subject_id=subject, policy_id=policy,
                          valid_from=date(2025, 1, 1), valid_to=valid_to,
                          catalogue_version_id=version, status=status,
                          amount=Decimal(amount) if amount else None, conditions="T",
                          missing=missing or []))  # fmt: skip


def _claim(engine: Engine, subject: int, key: str, state: str, materials: list[Any],
           region: str = VILLAGE) -> int:  # fmt: skip
    claim_id, _ = add_claim(engine, state=state, entered_on=date(2025, 3, 1), region=region,
                            subject_key=key)  # fmt: skip
    with write_session(engine) as s:
        claim = s.get_one(Claim, claim_id)
        claim.subject_id, claim.materials = subject, materials
    return claim_id


def _roster(engine: Engine, **filters: Any) -> list[str]:
    with read_session(engine) as s:
        page = household_roster(session=s, scope=CUN, on=ON, limit=50, **filters)
    assert page.total == len(page.items)
    return [h.household_no for h in page.items]


def test_the_roster_filters_by_policy_missing_facts_materials_and_name(engine: Engine) -> None:
    """Only the village's households; a closed or ineligible interval is not held; 缺材料 counts
    claims still at the village only; `%` in the search is a character, not a wildcard."""
    version = _version(engine)
    a = _household(engine, "V-A", VILLAGE, [_person(1, "王一", "spouse"), _person(3, "李二")])
    b = _household(engine, "V-B%", VILLAGE, [_person(5, "张三")])
    c = _household(engine, "V-C", VILLAGE, [_person(7, "赵四")])
    s = _household(engine, "S-A", SIBLING, [_person(9, "王五")])
    _held(engine, a, "household.dibao.allowance", "eligible", version=version, amount="465.00")
    _held(engine, a, "household.dibao.electricity", "undetermined", version=version,
          missing=["tekun_status"])  # fmt: skip
    _held(engine, b, "household.dibao.allowance", "eligible", version=version, amount="300",
          valid_to=date(2025, 2, 1))  # fmt: skip
    _held(engine, b, "household.elderly.longevity", "ineligible", version=version)
    _held(engine, s, "household.dibao.allowance", "undetermined", version=version,
          missing=["tekun_status"])  # fmt: skip
    _claim(engine, b, "V-B%", "prepared", ASKED)
    _claim(engine, c, "V-C", "village_accepted", ASKED)  # collected already
    _claim(engine, s, "S-A", "prepared", ASKED, region=SIBLING)
    assert _roster(engine) == ["V-A", "V-B%", "V-C"]
    assert _roster(engine, policy="household.dibao.allowance") == ["V-A"]
    assert _roster(engine, policy="household.elderly.longevity") == []
    assert _roster(engine, lacking="facts") == ["V-A"]
    assert _roster(engine, lacking="materials") == ["V-B%"]
    assert _roster(engine, lacking="any") == ["V-A", "V-B%"]
    assert _roster(engine, text="王") == ["V-A"] and _roster(engine, text="%") == ["V-B%"]
    assert _roster(engine, text="V-_") == []
    with read_session(engine) as session:
        page = household_roster(session=session, scope=CUN, on=ON, limit=2, offset=1)
    assert page.total == 3 and [h.household_no for h in page.items] == ["V-B%", "V-C"]
    first = _first(engine)
    assert (first.head, first.members) == ("李二", 2)
    assert [(e.policy_id, e.status, e.amount) for e in first.held] == [
        ("household.dibao.allowance", "eligible", Decimal("465.00")),
        ("household.dibao.electricity", "undetermined", None),
    ]
    assert first.held[1].missing == ["tekun_status"] and first.asked == []
    with read_session(engine) as session:
        b_row = household_roster(session=session, scope=CUN, on=ON, text="V-B").items[0]
    assert b_row.held == [] and [m["name"] for m in b_row.asked] == ["家庭经济状况核对授权书"]


def _first(engine: Engine) -> Any:
    with read_session(engine) as session:
        return household_roster(session=session, scope=CUN, on=ON, limit=1).items[0]


def test_the_notice_sheet_names_every_fact_and_material_of_whom(engine: Engine) -> None:
    """Undetermined 免申即享 policies ask a fact of the whole household and nothing to bring; a
    member's missing grade is asked of that member (ID masked); the confirm policy's materials
    are asked, or waived (容缺) when waivable; outside the village: not found."""
    spouse = make_ric(birth=date(1960, 5, 5), seq=11)
    _household(engine, "V-N", VILLAGE, [
        {"id": make_ric(birth=date(1958, 1, 1), seq=13), "name": "钱一", "relation": "head",
         "facts": {"has_disability": False}},
        {"id": spouse, "name": "孙二", "relation": "spouse",
         "facts": {"has_disability": True, "needs_long_term_care": True}},
    ], dibao_status="none")  # fmt: skip
    with read_session(engine) as s:
        sheet = notice_sheet(session=s, scope=CUN, household_no="V-N", catalogue=_catalogue(),
                             on=ON)  # fmt: skip
        other = notice_sheet(session=s, scope=Scope(user="x", role="village", region=SIBLING),
                             household_no="V-N", catalogue=_catalogue(), on=ON)  # fmt: skip
    assert other is None and sheet is not None
    assert (sheet.head, sheet.members) == ("钱一", 2)
    status = {p.policy_id: (p.status, p.delivery) for p in sheet.policies}
    assert status["household.disability.care_allowance"] == ("undetermined", "confirm")
    assert status["household.dibao.electricity"] == ("undetermined", "auto")
    facts = {(f.whose, f.label) for f in sheet.facts}
    assert ("全户", "特困状态") in facts
    (grade,) = [f for f in sheet.facts if f.label == "残疾等级"]
    assert grade.whose.startswith("孙二（配偶，") and spouse not in grade.whose
    assert spouse[-4:] in grade.whose and grade.policies == ("重度残疾人护理补贴",)
    materials = {m.name: m for m in sheet.materials}
    assert materials["第二代残疾人证"].status == materials["长期照护需求评估表"].status == "asked"
    assert materials["惠民惠农“一卡通”账户"].status == "waived"  # every policy may waive it
    assert "重度残疾人护理补贴" in materials["惠民惠农“一卡通”账户"].policies
    assert "低保证" not in materials  # only 免申即享 policies need it: nobody is asked


def test_a_households_notices_are_its_own_and_only_in_scope(engine: Engine) -> None:
    a = _household(engine, "V-A", VILLAGE, [{"id": make_ric(seq=1), "relation": "head"}])
    b = _household(engine, "V-B", VILLAGE, [{"id": make_ric(seq=3), "relation": "head"}])
    with write_session(engine) as s:
        for subject, key in ((a, "x1"), (b, "x2"), (a, "x3")):
            s.add(OutboxMessage(dedup_key=key, subject_kind="household", subject_id=subject,
                                policy_id="household.dibao.allowance", kind="newly_eligible",
                                payload={"policy": {"title": "城乡最低生活保障金"}}))  # fmt: skip
    with read_session(engine) as s:
        mine = household_notices(session=s, scope=CUN, household_no="V-A")
        other = household_notices(session=s, scope=Scope(user="y", role="village", region=SIBLING),
                                  household_no="V-A")  # fmt: skip
    assert other is None and mine is not None
    assert [n.row.dedup_key for n in mine] == ["x3", "x1"]
    assert {n.subject for n in mine} == {"户 V-A"}


def _steps(engine: Engine, claim_id: int) -> list[tuple[str, bool]]:
    with read_session(engine) as s:
        rows = s.execute(select(ClaimStep).where(ClaimStep.claim_id == claim_id)  # type: ignore[arg-type]
                         .order_by(ClaimStep.id)).scalars()  # type: ignore[arg-type]  # fmt: skip
        return [(r.action, r.on_behalf) for r in rows]


def _state(engine: Engine, claim_id: int) -> str:
    with read_session(engine) as s:
        return s.get_one(Claim, claim_id).state


def test_submit_confirms_on_behalf_then_sends_each_claim_to_the_township(engine: Engine) -> None:
    """prepared → confirm (代办) + accept; confirmed → accept; returned → resubmit; each
    refusal says why and stops nothing else; a stale version moves nothing."""
    prepared = add_claim(engine, state="prepared", entered_on=date(2025, 3, 1))[0]
    confirmed = add_claim(engine, state="confirmed", entered_on=date(2025, 3, 1))[0]
    returned = add_claim(engine, state="returned", entered_on=date(2025, 3, 1))[0]
    accepted = add_claim(engine, state="village_accepted", entered_on=date(2025, 3, 1))[0]
    stale = add_claim(engine, state="prepared", entered_on=date(2025, 3, 1))[0]
    elsewhere = add_claim(engine, state="prepared", entered_on=date(2025, 3, 1), region=SIBLING)[0]
    picks = [Pick(prepared, 1), Pick(confirmed, 1), Pick(returned, None), Pick(accepted, 1),
             Pick(stale, 2), Pick(elsewhere, 1)]  # fmt: skip
    actor = Actor(user="cun", role="village", region=VILLAGE)
    answers = submit_to_township(engine, CUN, picks, actor=actor, person="cun", on=ON, root=ROOT)
    done = [a.to_state if isinstance(a, StepDone) else None for a in answers]
    assert done == ["village_accepted"] * 3 + [None] * 3
    why = [a.why if isinstance(a, ClaimError) else None for a in answers]
    assert why == [None, None, None, "invalid", "conflict", "not_found"]
    assert "村级已受理" in str(answers[3])
    assert _steps(engine, prepared) == [("confirm", True), ("accept", False)]
    assert _steps(engine, confirmed) == [("accept", False)]
    assert _steps(engine, returned) == [("resubmit", False)]
    assert _steps(engine, stale) == [] and _state(engine, stale) == "prepared"
    assert _state(engine, elsewhere) == "prepared"
    with read_session(engine) as s:
        parts = s.execute(select(ClaimPart.state).where(ClaimPart.claim_id == prepared)).all()  # type: ignore[arg-type]
    assert [p[0] for p in parts] == ["village_accepted"]
