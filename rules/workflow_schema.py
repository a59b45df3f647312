"""Pydantic schema of the claims workflow file (`policies/workflow.yaml`), and its lint.

Extra keys are refused. `workflow_problems` finds what the schema cannot: a state, role or
action that is not declared, a role acting at a level it cannot hold, a transition out of a
terminal state, a state that cannot be reached from `initial`, a state with no way out, and a
review step without a deadline (承诺时限).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt
from pydantic import StringConstraints as Text

from rules.errors import RuleError
from rules.yaml_safe import Loaded

__all__ = ["LEVELS", "By", "RoleSpec", "StateSpec", "TransitionSpec", "WorkflowFile"]

Name = Annotated[str, Text(pattern=r"^[a-z][a-z0-9_]*$")]
Level = Literal["subject", "village", "township", "county", "department", "any"]
Scope = Literal["claim", "part"]
LEVELS: dict[str, str] = {
    "subject": "申领人本人",
    "village": "本申领所在村",
    "township": "本申领所在乡镇",
    "county": "本申领所在县",
    "department": "本申领所在县的本部门",
    "any": "不限辖区",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StateSpec(_Strict):
    """A state: its Chinese label; a terminal state has no way out."""

    label: str = Field(min_length=1)
    terminal: StrictBool = False


class RoleSpec(_Strict):
    """A role: its label and the region levels it can hold."""

    label: str = Field(min_length=1)
    levels: list[Level] = Field(min_length=1)


class By(_Strict):
    """Who may take a transition: a role at a region level (on a household's behalf or not)."""

    role: Name
    level: Level
    on_behalf: StrictBool = False
    # only for claims of these subjects (None: every claim); enterprises' claims have no
    # village or township, so a county office accepts and checks them
    subjects: list[Literal["household", "enterprise"]] | None = Field(default=None, min_length=1)


class TransitionSpec(_Strict):
    """One row of the table: an action from some states to one, by whom, at which scope."""

    action: Name
    from_: list[Name] = Field(alias="from", min_length=1)
    to: Name
    scope: list[Scope] = Field(min_length=1)
    by: list[By] = Field(min_length=1)
    review: StrictBool = False
    reason: StrictBool = False
    deadline_days: Annotated[StrictInt, Field(ge=1, le=60)] | None = None


class WorkflowFile(_Strict):
    """The whole file."""

    id: Annotated[str, Text(pattern=r"^workflow\.[a-z0-9_]+$")]
    title: str = Field(min_length=1)
    initial: Name
    states: dict[Name, StateSpec] = Field(min_length=1)
    roles: dict[Name, RoleSpec] = Field(min_length=1)
    actions: dict[Name, str] = Field(min_length=1)
    transitions: list[TransitionSpec] = Field(min_length=1)


def workflow_problems(spec: WorkflowFile, loaded: Loaded) -> list[RuleError]:
    """Every problem the schema cannot see, each at its `file:line:col`."""
    problems = _names(spec, loaded)
    if spec.initial not in spec.states:
        problems.append(_unknown_state(spec, spec.initial, loaded, ("initial",)))
    for i, t in enumerate(spec.transitions):
        problems += _row_problems(spec, i, t, loaded)
    if not problems:
        problems += _graph_problems(spec, loaded)
    return problems


def _unknown_state(spec: WorkflowFile, name: str, loaded: Loaded, path: tuple[Any, ...]) -> Any:
    known = "、".join(spec.states)
    return RuleError(loaded.where(path), f"未知的状态 `{name}` (unknown state)", f"已声明：{known}")


def _names(spec: WorkflowFile, loaded: Loaded) -> list[RuleError]:
    known = "、".join(spec.actions)
    return [
        RuleError(
            loaded.where(("transitions", i, "action")),
            f"未知的操作 `{t.action}` (unknown action)",
            f"在 actions: 下声明它和它的中文名；已声明：{known}",
        )
        for i, t in enumerate(spec.transitions)
        if t.action not in spec.actions
    ]


def _row_problems(spec: WorkflowFile, i: int, t: TransitionSpec, loaded: Loaded) -> list[RuleError]:
    path: tuple[Any, ...] = ("transitions", i)
    problems = [
        _unknown_state(spec, name, loaded, (*path, "from", j))
        for j, name in enumerate(t.from_)
        if name not in spec.states
    ]
    if t.to not in spec.states:
        problems.append(_unknown_state(spec, t.to, loaded, (*path, "to")))
    problems += [
        RuleError(
            loaded.where((*path, "from", j)),
            f"终止状态 `{name}` 不能再有转移 (transition out of a terminal state)",
            "终止状态（terminal: true）之后申领不再变化；删去这一行或去掉 terminal",
        )
        for j, name in enumerate(t.from_)
        if name in spec.states and spec.states[name].terminal
    ]
    for j, by in enumerate(t.by):
        problems += _by_problems(spec, by, loaded, (*path, "by", j))
    if t.review and t.deadline_days is None:
        problems.append(
            RuleError(
                loaded.where((*path, "review")),
                f"审查步骤 `{t.action}` 没有承诺时限 (review step without a deadline)",
                "写 deadline_days: 工作日数，如 deadline_days: 3",
            )
        )
    return problems


def _by_problems(spec: WorkflowFile, by: By, loaded: Loaded, path: tuple[Any, ...]) -> list[Any]:
    role = spec.roles.get(by.role)
    if role is None:
        known = "、".join(spec.roles)
        where = loaded.where((*path, "role"))
        return [RuleError(where, f"未知的角色 `{by.role}` (unknown role)", f"已声明：{known}")]
    if by.level not in role.levels:
        held = "、".join(role.levels)
        return [
            RuleError(
                loaded.where((*path, "level")),
                f"角色 `{by.role}` 不能在 `{by.level}` 一级行事 (level not held by the role)",
                f"它可在的层级：{held}",
            )
        ]
    return []


def _graph_problems(spec: WorkflowFile, loaded: Loaded) -> list[RuleError]:
    reached = {spec.initial}
    edges = [(set(t.from_), t.to) for t in spec.transitions]
    grew = True
    while grew:
        before = len(reached)
        reached |= {to for sources, to in edges if sources & reached}
        grew = len(reached) > before
    leaving = {name for t in spec.transitions for name in t.from_}
    problems = [
        RuleError(
            loaded.key_where(("states", name)),
            f"状态 `{name}` 无法从 `{spec.initial}` 到达 (unreachable state)",
            "加一条转到它的 transitions 行，或删去它",
        )
        for name in spec.states
        if name not in reached
    ]
    problems += [
        RuleError(
            loaded.key_where(("states", name)),
            f"状态 `{name}` 没有出路，却不是终止状态 (dead end)",
            "加一条从它出发的转移，或标 terminal: true",
        )
        for name, state in spec.states.items()
        if not state.terminal and name not in leaving
    ]
    return problems
