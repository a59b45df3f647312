"""The claims workflow table: the 低保 bundle's legal paths, every kind of refusal with its reason,
separation of duties, random action sequences, and each broken workflow file at file:line:col."""

from __future__ import annotations

import shutil
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli import app
from rules.catalogue import catalogue_paths, load_catalogue, rule_files
from rules.errors import RuleError
from rules.workflow import Actor, Decision, Step, Workflow, check_workflow
from store.audit.catalogues import catalogue_files

REPO = Path(__file__).parents[2]
POLICIES = REPO / "policies"
BAD = REPO / "tests" / "fixtures" / "workflow"
runner = CliRunner()

VILLAGE = "520602001201"
SIBLING = "520602001202"
TOWNSHIP = "520602001"
OTHER_TOWNSHIP = "520602100"
COUNTY = "520602"
OTHER_COUNTY = "520603"
HOUSEHOLD = "H-0001"
DEPARTMENTS = ("县人力资源和社会保障局", "县医疗保障局", "县供电公司", "县自来水公司")

VILLAGER = Actor("李村干", "village", VILLAGE)
TOWNSHIP_USER = Actor("王乡镇", "township", TOWNSHIP)
SYSTEM = Actor("system", "system", "")
SUBJECT = Actor(HOUSEHOLD, "household", VILLAGE)


def dept(name: str, user: str = "部门审批员") -> Actor:
    return Actor(f"{user}@{name}", "department", COUNTY, name)


@cache
def workflow() -> Workflow:
    return Workflow.load(POLICIES)


def decide(
    state: str,
    action: str,
    actor: Actor,
    *,
    part: str | None = None,
    history: tuple[Step, ...] = (),
    reason: str | None = None,
) -> Decision:
    return workflow().decide(
        state=state,
        action=action,
        actor=actor,
        claim_region=VILLAGE,
        part_department=part,
        history=history,
        reason=reason,
        claim_subject=HOUSEHOLD,
        subject_kind="household",
    )


def run(state: str, steps: list[tuple[str, Actor]], part: str | None, history: list[Step]) -> str:
    """Take each step, asserting it is allowed; the final state."""
    for action, actor in steps:
        decision = decide(state, action, actor, part=part, history=tuple(history))
        assert decision.ok, decision.refusal
        history.append(Step(action, actor, state))
        assert decision.to_state is not None
        state = decision.to_state
    return state


def test_the_dibao_bundle_moves_village_township_then_each_department() -> None:
    """The village confirms on behalf and accepts, the township checks, each department approves
    and pays its own part."""
    history: list[Step] = []
    state = run(
        "prepared",
        [("confirm", VILLAGER), ("accept", VILLAGER), ("check", TOWNSHIP_USER)],
        None,
        history,
    )
    assert state == "township_checked"
    for name in DEPARTMENTS:
        part_history = list(history)
        end = run(state, [("approve", dept(name)), ("pay", dept(name))], name, part_history)
        assert end == "paid"


def test_confirming_on_behalf_is_recorded_and_is_not_a_review() -> None:
    """The village operator's confirmation says on_behalf; the household's own does not."""
    by_village = decide("prepared", "confirm", VILLAGER)
    by_self = decide("prepared", "confirm", SUBJECT)
    assert (by_village.ok, by_village.on_behalf, by_village.review) == (True, True, False)
    assert (by_self.ok, by_self.on_behalf) == (True, False)


def test_a_returned_claim_is_resubmitted_and_checked_again_by_the_same_person() -> None:
    """补正: the township returns with a reason, the village resubmits, the same checker again."""
    history = [
        Step("accept", VILLAGER, "confirmed"),
        Step("check", TOWNSHIP_USER, "village_accepted"),
    ]
    back = decide("village_accepted", "return", TOWNSHIP_USER, reason="缺户口簿首页")
    assert (back.ok, back.to_state) == (True, "returned")
    again = decide("returned", "resubmit", VILLAGER, history=tuple(history))
    assert again.to_state == "village_accepted"
    assert decide("village_accepted", "check", TOWNSHIP_USER, history=tuple(history)).ok


def test_a_department_returns_its_own_part_only() -> None:
    """The department's return acts on its part; the part is checked again after resubmission."""
    name = DEPARTMENTS[0]
    back = decide("township_checked", "return", dept(name), part=name, reason="银行账户有误")
    assert back.to_state == "returned"
    assert decide("returned", "resubmit", VILLAGER, part=name).to_state == "village_accepted"
    assert decide("village_accepted", "check", TOWNSHIP_USER, part=name).ok


ILLEGAL = [  # (state, action, actor, part, part of the refusal)
    ("prepared", "accept", VILLAGER, None, "只能在「已确认」时办理"),
    ("confirmed", "confirm", VILLAGER, None, "只能在「待确认」时办理"),
    ("prepared", "approve", dept(DEPARTMENTS[0]), DEPARTMENTS[0], "只能在「乡镇已审核」时办理"),
    ("paid", "pay", dept(DEPARTMENTS[0]), DEPARTMENTS[0], "终止状态"),
    ("withdrawn", "resubmit", VILLAGER, None, "终止状态"),
    ("township_checked", "approve", dept(DEPARTMENTS[0]), None, "按部门分项办理"),
    ("confirmed", "accept", VILLAGER, DEPARTMENTS[0], "对整件申领办理"),
    ("confirmed", "stamp", VILLAGER, None, "没有「stamp」这个操作"),
    ("confirmed", "accept", TOWNSHIP_USER, None, "角色「乡镇（街道）审核员」无权办理"),
    ("village_accepted", "check", VILLAGER, None, "只有乡镇（街道）审核员可以"),
]


@pytest.mark.parametrize(("state", "action", "actor", "part", "why"), ILLEGAL)
def test_an_illegal_step_is_refused_naming_the_state_and_action(
    state: str, action: str, actor: Actor, part: str | None, why: str
) -> None:
    """The refusal names the state's label, the action's label and why."""
    decision = decide(state, action, actor, part=part)
    assert not decision.ok and decision.to_state is None
    assert decision.refusal is not None
    assert decision.refusal.startswith(f"申领处于「{workflow().state_label(state)}」")
    assert why in decision.refusal


REGIONS = [  # (actor, action, state, part, allowed)
    (VILLAGER, "accept", "confirmed", None, True),
    (Actor("邻村", "village", SIBLING), "accept", "confirmed", None, False),
    (Actor("乡镇当村", "village", TOWNSHIP), "accept", "confirmed", None, False),
    (TOWNSHIP_USER, "check", "village_accepted", None, True),
    (Actor("他乡", "township", OTHER_TOWNSHIP), "check", "village_accepted", None, False),
    (Actor("县当乡", "township", COUNTY), "check", "village_accepted", None, False),
    (dept(DEPARTMENTS[1]), "approve", "township_checked", DEPARTMENTS[1], True),
    (
        Actor("外县", "department", OTHER_COUNTY, DEPARTMENTS[1]),
        "approve",
        "township_checked",
        DEPARTMENTS[1],
        False,
    ),
    (dept(DEPARTMENTS[2]), "approve", "township_checked", DEPARTMENTS[1], False),
    (Actor("H-0002", "household", VILLAGE), "confirm", "prepared", None, False),
]


@pytest.mark.parametrize(("actor", "action", "state", "part", "allowed"), REGIONS)
def test_only_the_claims_own_village_township_county_and_department_may_act(
    actor: Actor, action: str, state: str, part: str | None, allowed: bool
) -> None:
    """Own region allowed; sibling village, parent township as village, other county refused."""
    decision = decide(state, action, actor, part=part)
    assert decision.ok is allowed, decision.refusal
    if not allowed:
        assert decision.refusal is not None
        assert any(w in decision.refusal for w in ("辖区", "部门是", "本人"))


def test_a_wrong_department_is_told_whose_part_it_is() -> None:
    """A user of another department of the same county is named the part's department."""
    decision = decide("township_checked", "approve", dept(DEPARTMENTS[2]), part=DEPARTMENTS[1])
    assert decision.refusal is not None
    assert f"本分项属于「{DEPARTMENTS[1]}」" in decision.refusal


def test_one_person_at_two_levels_cannot_accept_and_then_check() -> None:
    """Separation of duties: the village acceptor, also a township user, cannot check."""
    both = Actor("李村干", "township", TOWNSHIP)
    history = (Step("confirm", VILLAGER, "prepared"), Step("accept", VILLAGER, "confirmed"))
    decision = decide("village_accepted", "check", both, history=history)
    assert not decision.ok
    assert decision.refusal is not None and "职责分离" in decision.refusal
    assert "村级受理" in decision.refusal


def test_the_township_checker_cannot_approve_a_part_as_a_department_user() -> None:
    """Separation of duties holds across the claim's and the part's steps."""
    as_dept = Actor("王乡镇", "department", COUNTY, DEPARTMENTS[0])
    history = (Step("check", TOWNSHIP_USER, "village_accepted"),)
    decision = decide("township_checked", "approve", as_dept, part=DEPARTMENTS[0], history=history)
    assert not decision.ok and decision.refusal is not None and "职责分离" in decision.refusal


def test_confirming_on_behalf_then_accepting_is_allowed() -> None:
    """A one-person village centre confirms for the household and accepts."""
    history = (Step("confirm", VILLAGER, "prepared"),)
    assert decide("confirmed", "accept", VILLAGER, history=history).ok


@pytest.mark.parametrize(
    ("state", "action", "actor", "part"),
    [
        ("village_accepted", "return", TOWNSHIP_USER, None),
        ("village_accepted", "reject", TOWNSHIP_USER, None),
        ("township_checked", "reject", dept(DEPARTMENTS[0]), DEPARTMENTS[0]),
        ("confirmed", "withdraw", SYSTEM, None),
        ("prepared", "withdraw", SUBJECT, None),
    ],
)
def test_return_reject_and_withdraw_need_a_reason(
    state: str, action: str, actor: Actor, part: str | None
) -> None:
    """No reason (or only spaces) → refused; with one → allowed."""
    for empty in (None, "  "):
        decision = decide(state, action, actor, part=part, reason=empty)
        assert decision.refusal is not None and "须写明理由" in decision.refusal
    assert decide(state, action, actor, part=part, reason="低保退出").ok


def test_the_system_withdraws_from_every_open_state_at_either_scope() -> None:
    """An entitlement that ends withdraws open claims and parts, even an approved part."""
    wf = workflow()
    for state, spec in wf.spec.states.items():
        for part in (None, DEPARTMENTS[0]):
            decision = decide(state, "withdraw", SYSTEM, part=part, reason="低保退出")
            assert decision.ok is (not spec.terminal and state != "paid"), (state, part)


def test_next_actions_and_deadlines_come_from_the_table() -> None:
    """Queues: from `confirmed` the village accepts (2 working days); approval is per part."""
    wf = workflow()
    assert {t.action for t in wf.next_actions("confirmed", "claim")} >= {"accept", "reject"}
    assert [t.action for t in wf.next_actions("township_checked", "part")][0] == "approve"
    assert "approve" not in {t.action for t in wf.next_actions("township_checked", "claim")}
    assert (wf.deadline_days("confirmed"), wf.deadline_days("village_accepted")) == (2, 3)
    assert wf.deadline_days("township_checked") == 5
    assert wf.deadline_days("paid") is None


ACTORS = [VILLAGER, TOWNSHIP_USER, SYSTEM, SUBJECT, Actor("邻村", "village", SIBLING)]
ACTORS += [dept(d) for d in DEPARTMENTS[:2]]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(sorted(workflow().spec.actions)),
            st.sampled_from(ACTORS),
            st.sampled_from([None, "理由"]),
            st.sampled_from([None, DEPARTMENTS[0]]),
        ),
        max_size=25,
    )
)
def test_random_actions_only_follow_the_table_and_terminal_states_stay(
    moves: list[tuple[str, Actor, str | None, str | None]],
) -> None:
    """Every allowed move is a row of the table; after a terminal state nothing is allowed."""
    wf = workflow()
    rows = {(s, t.action, t.to) for t in wf.spec.transitions for s in t.from_}
    state, history = wf.spec.initial, []
    for action, actor, reason, part in moves:
        decision = decide(state, action, actor, part=part, history=tuple(history), reason=reason)
        if wf.is_terminal(state):
            assert not decision.ok
        if decision.ok:
            assert (state, action, decision.to_state) in rows
            history.append(Step(action, actor, state))
            assert decision.to_state is not None
            state = decision.to_state
        else:
            assert decision.refusal
        assert state in wf.spec.states


BAD_FILES = {  # file → (line, col, part of the message)
    "unknown_role": (34, 17, "未知的角色 `sytem`"),
    "terminal_transition": (31, 22, "终止状态 `paid` 不能再有转移"),
    "unreachable_state": (9, 3, "`archived` 无法从 `prepared` 到达"),
    "review_without_deadline": (28, 13, "没有承诺时限"),
    "unknown_state": (25, 9, "未知的状态 `payed`"),
    "unknown_key": (29, 5, "unexpected key `deadline_day`"),
    "dead_end": (7, 3, "`returned` 没有出路"),
    "level_not_held": (27, 33, "角色 `village` 不能在 `county` 一级行事"),
    "unknown_action": (23, 13, "未知的操作 `payy`"),
}


def test_every_bad_fixture_has_a_row() -> None:
    """Each file in tests/fixtures/workflow (but ok.yaml) is checked below."""
    assert {p.stem for p in BAD.glob("*.yaml")} - {"ok"} == set(BAD_FILES)


def test_the_small_fixture_workflow_is_sound() -> None:
    """ok.yaml, of which every bad file is a one-line change, has no problem."""
    assert check_workflow(BAD / "ok.yaml") == (check_workflow(BAD / "ok.yaml")[0], [])


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_broken_workflow_file_is_named_at_file_line_col(name: str) -> None:
    """The first problem is at its line and column, and says what is wrong."""
    line, col, words = BAD_FILES[name]
    found, problems = check_workflow(BAD / f"{name}.yaml")
    assert found is None and problems
    assert (problems[0].location.line, problems[0].location.col) == (line, col)
    assert words in problems[0].message


@pytest.fixture
def root(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(POLICIES, target)
    return target


def test_workflow_and_holidays_are_hashed_and_published_but_not_policies(root: Path) -> None:
    """`rule_files` leaves them out; the version and the published files include them."""
    before = load_catalogue(root).version
    assert not {p.name for p in rule_files(root)} & {"workflow.yaml", "holidays.yaml"}
    published = catalogue_files(root)
    assert {"workflow.yaml", "holidays.yaml"} <= set(published)
    assert len(published) == len(catalogue_paths(root))
    path = root / "workflow.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "# 修订\n", encoding="utf-8")
    assert load_catalogue(root).version != before


def test_zhida_lint_reports_a_broken_workflow_file(root: Path) -> None:
    """`zhida lint` over the catalogue, or on the file, names the line and exits 1."""
    shutil.copyfile(BAD / "unknown_role.yaml", root / "workflow.yaml")
    for target in (root, root / "workflow.yaml"):
        result = runner.invoke(app, ["lint", str(target)])
        assert result.exit_code == 1, result.output
        assert "workflow.yaml:34:17: error: 未知的角色 `sytem`" in result.output


def test_loading_a_broken_workflow_raises_the_first_problem(root: Path) -> None:
    """`Workflow.load` stops at the first problem, as a RuleError with its place."""
    shutil.copyfile(BAD / "unknown_state.yaml", root / "workflow.yaml")
    with pytest.raises(RuleError) as caught:
        Workflow.load(root)
    assert str(caught.value.location).endswith("workflow.yaml:25:9")


def test_an_enterprise_claim_is_accepted_and_checked_by_two_county_users() -> None:
    """An enterprise's claim (a 6-digit region: no village, no township) is accepted by a county
    user and checked by another; a household's claim is never accepted by a county user; one
    county user cannot take both steps (separation of duties)."""
    wf, county = workflow(), "520602"
    first, second = Actor("县甲", "county", county), Actor("县乙", "county", county)

    def ask(action: str, actor: Actor, kind: str, history: tuple[Step, ...] = ()) -> Decision:
        state = "confirmed" if action == "accept" else "village_accepted"
        return wf.decide(state=state, action=action, actor=actor,
                         claim_region=county if kind == "enterprise" else VILLAGE,
                         part_department=None, history=history, reason=None,
                         subject_kind=kind)  # fmt: skip

    assert ask("accept", first, "enterprise").ok
    accepted = (Step("accept", first, "confirmed"),)
    assert ask("check", second, "enterprise", accepted).ok
    clash = ask("check", first, "enterprise", accepted)
    assert not clash.ok and "同一人不能办理两个审查环节" in (clash.refusal or "")
    household = ask("accept", Actor("县甲", "county", county), "household")
    assert not household.ok and "只有村（社区）代办员可以" in (household.refusal or "")
