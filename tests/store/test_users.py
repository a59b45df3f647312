"""Users and roles as rows: add, grant, list by role and region prefix, every refusal, and
`actor_of` feeding the workflow (own village vs a sibling, one person across two levels)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from rules.workflow import Decision, Step, Workflow
from store.db import read_session, write_session
from store.tables.users import UserAccount, UserRole
from store.users import (
    ROLES,
    UserError,
    actor_of,
    add_user,
    disable_user,
    get_user,
    grant_role,
    list_users,
)
from synth.identifiers import make_uscc

POLICIES = Path(__file__).parents[2] / "policies"
VILLAGE = "520602100201"
SIBLING = "520602100202"
TOWNSHIP = "520602100"
COUNTY = "520602"
FIRM = make_uscc("520602", seq=7)


@cache
def workflow() -> Workflow:
    return Workflow.load(POLICIES)


def _add(engine: Engine, name: str, role: str, region: str | None, **extra: str) -> None:
    with write_session(engine) as session:
        add_user(session=session, name=name, role=role, region=region, **extra)


def _county(engine: Engine) -> None:
    _add(engine, "李村干", "village", VILLAGE)
    _add(engine, "赵邻村", "village", SIBLING)
    _add(engine, "王乡镇", "township", TOWNSHIP)
    _add(engine, "陈民政", "department", COUNTY, department="县民政局")
    _add(engine, "周督查", "supervisor", COUNTY)
    _add(engine, "外县", "county", "520603")
    _add(engine, "财务", "enterprise", None, subject_key=FIRM)


def _listed(engine: Engine, role: str | None = None, region: str | None = None) -> list[str]:
    with read_session(engine) as session:
        return [r.name for r in list_users(session=session, role=role, region=region)]


def test_users_are_added_and_listed_by_role_and_region_prefix(engine: Engine) -> None:
    """Each role is stored with its region; a county prefix lists its villages', townships',
    departments' users (not another county's); a village code lists that village only."""
    _county(engine)
    everyone = {"李村干", "赵邻村", "王乡镇", "陈民政", "周督查", "外县", "财务"}
    assert set(_listed(engine)) == everyone
    assert set(_listed(engine, region=COUNTY)) == everyone - {"外县"}
    assert _listed(engine, region=VILLAGE) == ["李村干"]
    assert set(_listed(engine, region=TOWNSHIP)) == {"李村干", "赵邻村", "王乡镇"}
    assert _listed(engine, role="department") == ["陈民政"]
    assert _listed(engine, role="village", region="5206021002") == sorted(["李村干", "赵邻村"])
    with read_session(engine) as session:
        firm = get_user(session=session, name="财务")
        dept = get_user(session=session, name="陈民政")
        assert get_user(session=session, name="无名") is None
    assert firm is not None and dept is not None
    assert (firm.roles[0].subject_key, firm.roles[0].region_code) == (FIRM, COUNTY)
    assert (dept.roles[0].department, dept.roles[0].label) == ("县民政局", "县级部门审批员")
    assert not dept.has_password and dept.disabled_at is None


REFUSALS = {  # name → (role, region, extra, parts of the message)
    "unknown_role": ("mayor", VILLAGE, {}, ["--role 'mayor'", "没有这个角色", " | ".join(ROLES)]),
    "village_9": ("village", TOWNSHIP, {}, [f"--region '{TOWNSHIP}'", "应为12 位村级区划代码"]),
    "township_12": ("township", VILLAGE, {}, [f"--region '{VILLAGE}'", "应为9 位乡级区划代码"]),
    "county_9": ("county", TOWNSHIP, {}, ["应为6 位县级区划代码", "实际为 '520602100'"]),
    "no_region": ("township", None, {}, ["--region：角色 township", "须给出9 位乡级区划代码"]),
    "province": ("county", "990602", {}, ["--region '990602'", "省级代码", "不是 GB/T 2260"]),
    "letters": ("village", "52060210020A", {}, ["--region", "应为 12 位数字"]),
    "no_dept": ("department", COUNTY, {}, ["--dept：department 角色须给出", "县级部门名称"]),
    "extra_dept": (
        "village", VILLAGE, {"department": "县民政局"},
        ["--dept '县民政局'", "角色 village 不应给出"],
    ),
    "no_credit_code": ("enterprise", None, {}, ["--credit-code", "18 位统一社会信用代码"]),
    "bad_credit_code": (
        "enterprise", None, {"subject_key": FIRM[:-1] + "0"}, ["--credit-code", "校验码"]
    ),
    "extra_credit_code": ("county", COUNTY, {"subject_key": FIRM}, ["--credit-code", "不应给出"]),
}  # fmt: skip


def test_a_bad_role_region_or_department_is_refused_and_nothing_is_stored(engine: Engine) -> None:
    """Each refusal names the option, what was found and what was expected; no row is left.
    (One database for every case: a fresh PostgreSQL database per case costs half a second.)"""
    for case, (role, region, extra, parts) in REFUSALS.items():
        with pytest.raises(UserError) as refused:
            _add(engine, "新用户", role, region, **extra)
        for part in parts:
            assert part in str(refused.value), (case, part, str(refused.value))
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(UserAccount)) == 0
        assert session.scalar(select(func.count()).select_from(UserRole)) == 0


def test_a_duplicate_name_and_a_bad_listing_filter_are_refused(engine: Engine) -> None:
    """The second 李村干 is refused naming the roles held and `users grant`; the first stays."""
    _add(engine, "李村干", "village", VILLAGE)
    with pytest.raises(UserError, match="用户名 '李村干' 已存在（角色：village）.*users grant"):
        _add(engine, "李村干", "township", TOWNSHIP)
    with pytest.raises(UserError, match="应为 1–64 个字符"):
        _add(engine, "李 村干", "village", VILLAGE)
    with read_session(engine) as session:
        with pytest.raises(UserError, match="--region '52-06'：应为区划代码的前 1–12 位数字"):
            list_users(session=session, region="52-06")
        with pytest.raises(UserError, match="--role 'mayor'"):
            list_users(session=session, role="mayor")
        user = get_user(session=session, name="李村干")
    assert user is not None and [r.region_code for r in user.roles] == [VILLAGE]


def test_actor_of_a_village_operator_accepts_in_its_own_village_not_a_sibling(
    engine: Engine,
) -> None:
    """The pieces fit: the stored village operator's actor may accept a confirmed claim of its
    own village; the same actor on a sibling village's claim is refused naming both codes."""
    _add(engine, "李村干", "village", VILLAGE)
    with read_session(engine) as session:
        actor = actor_of(session=session, name="李村干")
    assert (actor.user, actor.role, actor.region, actor.department) == (
        "李村干", "village", VILLAGE, None
    )  # fmt: skip

    def decide(region: str) -> Decision:
        return workflow().decide(
            state="confirmed", action="accept", actor=actor, claim_region=region,
            part_department=None, history=(), reason=None,
        )  # fmt: skip

    own, sibling = decide(VILLAGE), decide(SIBLING)
    assert own.ok and own.to_state == "village_accepted"
    assert not sibling.ok and f"你的辖区 {VILLAGE} 不是本申领所在村（{SIBLING}）" in str(
        sibling.refusal
    )


def test_one_person_with_two_roles_is_one_user_for_separation_of_duties(engine: Engine) -> None:
    """A person granted village and township roles acts as the same `user` in both, so the
    township check of a claim they accepted at the village is refused (职责分离)."""
    _add(engine, "李村干", "village", VILLAGE)
    with write_session(engine) as session:
        user = grant_role(session=session, name="李村干", role="township", region=TOWNSHIP)
        assert [r.role for r in user.roles] == ["village", "township"]
        with pytest.raises(UserError, match="已有角色 township"):
            grant_role(session=session, name="李村干", role="township", region=TOWNSHIP)
        with pytest.raises(UserError, match="用户 '无名' 不存在"):
            grant_role(session=session, name="无名", role="county", region=COUNTY)
    with read_session(engine) as session:
        village = actor_of(session=session, name="李村干", role="village")
        township = actor_of(session=session, name="李村干", role="township")
        with pytest.raises(UserError, match=r"有多个角色（village \| township）：应指明"):
            actor_of(session=session, name="李村干")
        with pytest.raises(UserError, match="没有角色 'county'"):
            actor_of(session=session, name="李村干", role="county")
    assert village.user == township.user == "李村干"
    history = [Step("accept", village, "confirmed")]
    check = workflow().decide(
        state="village_accepted", action="check", actor=township, claim_region=VILLAGE,
        part_department=None, history=history, reason=None,
    )  # fmt: skip
    assert not check.ok and "同一人不能办理两个审查环节" in str(check.refusal)


def test_an_enterprise_user_acts_as_its_credit_code_and_a_disabled_user_not_at_all(
    engine: Engine,
) -> None:
    """The enterprise actor's `user` is the credit code (the claim's subject), so it may
    confirm its own claim; once disabled, no actor is made."""
    _add(engine, "财务", "enterprise", None, subject_key=FIRM)
    with read_session(engine) as session:
        actor = actor_of(session=session, name="财务")
    assert (actor.user, actor.role, actor.region) == (FIRM, "enterprise", COUNTY)
    confirm = workflow().decide(
        state="prepared", action="confirm", actor=actor, claim_region=VILLAGE,
        part_department=None, history=(), reason=None, claim_subject=FIRM,
    )  # fmt: skip
    assert confirm.ok and not confirm.on_behalf
    with write_session(engine) as session:
        disable_user(session=session, name="财务")
    with read_session(engine) as session, pytest.raises(UserError, match="已于 .* 停用"):
        actor_of(session=session, name="财务")
    with read_session(engine) as session, pytest.raises(UserError, match="不存在"):
        actor_of(session=session, name="无名")


def test_the_user_roles_agree_with_the_workflow_table() -> None:
    """Every user role the workflow names has its level there, and the same label."""
    spec = workflow().spec
    digits = {"village": 12, "township": 9, "county": 6, "department": 6, "subject": None}
    shared = [role for role in ROLES if role in spec.roles]
    assert shared == ["village", "township", "county", "department", "enterprise"]
    for role in shared:
        (level,) = spec.roles[role].levels
        assert ROLES[role].digits == digits[level], role
        assert ROLES[role].label == spec.roles[role].label, role
