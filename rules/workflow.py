"""The claims workflow: the transition table (`policies/workflow.yaml`) and pure decisions on it.

`Workflow.decide` says whether an actor may take an action on a claim (or on one department's
part of a bundle claim) in a given state, and why not in Chinese. It checks, in this order:
the action exists; it is legal from the state; it is legal at this scope (claim or part); the
actor's role may take it; the actor's region is the claim's village, township or county (a
department user: the county and the part's department); a reason is given where one is
required; separation of duties — a person who took one review step (village acceptance,
township check, department approval) on a claim never takes a different one, even holding
roles at two levels (NIST SP 800-53 AC-5). Taking the same review step again after a return
(补正) is allowed; confirming on a household's behalf is not a review step.

Nothing here touches a database: the store applies the decision with compare-and-set and
audits it (docs/claims.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from rules.catalogue import WORKFLOW_FILE, validation_error
from rules.errors import RuleError
from rules.workflow_schema import LEVELS, By, TransitionSpec, WorkflowFile, workflow_problems
from rules.yaml_safe import Loaded, load_file

__all__ = [
    "WORKFLOW_FILE",
    "Actor",
    "Decision",
    "Step",
    "Workflow",
    "check_workflow",
]


@dataclass(frozen=True)
class Actor:
    """Who acts: a user, the role they act in, their region code (and department)."""

    user: str
    role: str
    region: str
    department: str | None = None


@dataclass(frozen=True)
class Step:
    """A past step of a claim (its claim-level steps and, for a part, that part's own)."""

    action: str
    actor: Actor
    at_state: str


@dataclass(frozen=True)
class Decision:
    """The answer: allowed (with the state it leads to) or refused (with the reason, Chinese)."""

    ok: bool
    to_state: str | None = None
    refusal: str | None = None
    review: bool = False
    on_behalf: bool = False


def check_workflow(
    path: Path, display: str | None = None
) -> tuple[Workflow | None, list[RuleError]]:
    """Load and check a workflow file: every problem, and the workflow when it has none.

    Args:
        path: the file.
        display: how the file is named in messages (default: `path`).

    Returns:
        The workflow (None when it has a problem) and every problem, each at `file:line:col`.
    """
    try:
        loaded = load_file(path, display=display or str(path))
        spec = WorkflowFile.model_validate(loaded.data)
    except RuleError as exc:
        return None, [exc]
    except ValidationError as exc:
        return None, [validation_error(exc, loaded)]
    problems = workflow_problems(spec, loaded)
    return (None, problems) if problems else (Workflow(spec, loaded), [])


@dataclass(frozen=True)
class Workflow:
    """The checked transition table, and decisions on it."""

    spec: WorkflowFile
    loaded: Loaded

    @classmethod
    def load(cls, root: Path) -> Workflow:
        """The workflow of the catalogue at `root` (`root/workflow.yaml`).

        Raises:
            RuleError: the first problem of the file; `zhida lint` shows all of them.
        """
        workflow, problems = check_workflow(root / WORKFLOW_FILE)
        if problems:
            raise problems[0]
        assert workflow is not None
        return workflow

    def state_label(self, state: str) -> str:
        """The Chinese label of a state (the name itself when unknown)."""
        found = self.spec.states.get(state)
        return found.label if found else state

    def action_label(self, action: str) -> str:
        """The Chinese label of an action (the name itself when unknown)."""
        return self.spec.actions.get(action, action)

    def is_terminal(self, state: str) -> bool:
        """Whether nothing can follow `state`."""
        found = self.spec.states.get(state)
        return found is not None and found.terminal

    def next_actions(self, state: str, scope: str) -> list[TransitionSpec]:
        """The rows that can be taken from `state` at `scope` ("claim" or "part"), for queues."""
        return [t for t in self.spec.transitions if state in t.from_ and scope in t.scope]

    def deadline_days(self, state: str) -> int | None:
        """The 承诺时限 in working days of the step due from `state` (None: no deadline)."""
        days = [t.deadline_days for t in self.spec.transitions if state in t.from_]
        known = [d for d in days if d is not None]
        return min(known) if known else None

    def decide(
        self,
        *,
        state: str,
        action: str,
        actor: Actor,
        claim_region: str,
        part_department: str | None,
        history: Sequence[Step],
        reason: str | None,
        claim_subject: str | None = None,
        subject_kind: str | None = None,
    ) -> Decision:
        """Whether `actor` may take `action` on a claim (or part) in `state`.

        Args:
            state: the claim's (or the part's) current state.
            action: the action asked for (`confirm`, `accept`, …).
            actor: who asks.
            claim_region: the claim's 12-digit village code.
            part_department: the department of the part acted on; None for the whole claim.
            history: the claim's past steps (for a part: the claim's and that part's).
            reason: the reason given, if any.
            claim_subject: the claim's subject id; a `subject`-level actor's `user` must equal it.
            subject_kind: household or enterprise: a `by` entry naming `subjects` applies only
                to claims of those (None: every entry applies).

        Returns:
            The decision; a refusal names the state, the action and why.
        """
        head = f"申领处于「{self.state_label(state)}」，不能「{self.action_label(action)}」："
        scope = "claim" if part_department is None else "part"
        rows = [t for t in self.spec.transitions if t.action == action]
        why = self._illegal(state, action, scope, rows)
        if why is not None:
            return Decision(False, refusal=head + why)
        rows = [t for t in rows if state in t.from_ and scope in t.scope]
        fits = [
            (t, b) for t in rows for b in t.by
            if b.subjects is None or subject_kind is None or subject_kind in b.subjects
        ]  # fmt: skip
        mine = [(t, b) for t, b in fits if b.role == actor.role]
        if not mine:
            roles = "、".join(dict.fromkeys(self._role(b.role) for _, b in fits))
            return Decision(
                False, refusal=head + f"角色「{self._role(actor.role)}」无权办理，只有{roles}可以"
            )
        region = [
            (t, b)
            for t, b in mine
            if self._in_region(b, actor, claim_region, part_department, claim_subject)
        ]
        if not region:
            return Decision(
                False,
                refusal=head + self._outside(mine[0][1], actor, claim_region, part_department),
            )
        row, by = region[0]
        if row.reason and not (reason or "").strip():
            return Decision(False, refusal=head + "须写明理由（--reason）")
        if row.review:
            clash = self._clash(action, actor, history)
            if clash is not None:
                return Decision(False, refusal=head + clash)
        return Decision(True, to_state=row.to, review=row.review, on_behalf=by.on_behalf)

    def _role(self, role: str) -> str:
        found = self.spec.roles.get(role)
        return found.label if found else role

    def _illegal(
        self, state: str, action: str, scope: str, rows: list[TransitionSpec]
    ) -> str | None:
        if action not in self.spec.actions:
            return f"没有「{action}」这个操作，可用的操作：{'、'.join(self.spec.actions)}"
        if state not in self.spec.states:
            return f"状态 `{state}` 不在流程表中"
        if self.is_terminal(state):
            return "这是终止状态，申领不再变化"
        legal = [t for t in rows if state in t.from_]
        if not legal:
            froms = "、".join(dict.fromkeys(self.state_label(s) for t in rows for s in t.from_))
            return f"此操作只能在「{froms}」时办理"
        if not any(scope in t.scope for t in legal):
            return (
                "此操作按部门分项办理，须指明部门"
                if scope == "claim"
                else "此操作对整件申领办理，不按部门分项"
            )
        return None

    @staticmethod
    def _in_region(
        by: By, actor: Actor, region: str, department: str | None, subject: str | None
    ) -> bool:
        code = actor.region
        if by.level == "any":
            return True
        if by.level == "subject":
            return subject is not None and actor.user == subject
        if by.level == "village":
            return len(code) == 12 and code == region
        digits = 9 if by.level == "township" else 6
        in_area = len(code) == digits and region.startswith(code)
        if by.level == "department":
            return in_area and department is not None and actor.department == department
        return in_area

    @staticmethod
    def _outside(by: By, actor: Actor, region: str, department: str | None) -> str:
        if by.level == "subject":
            return "只有申领人本人可以办理（村代办员可代本户确认）"
        digits = {"village": 12, "township": 9, "county": 6, "department": 6}[by.level]
        where = region[:digits]
        if by.level == "department" and actor.region == where:
            yours = actor.department or "（未设部门）"
            return f"本分项属于「{department}」，你所在的部门是「{yours}」"
        return f"你的辖区 {actor.region} 不是{LEVELS[by.level]}（{where}）"

    def _clash(self, action: str, actor: Actor, history: Sequence[Step]) -> str | None:
        reviews = {t.action for t in self.spec.transitions if t.review}
        for step in history:
            if step.actor.user == actor.user and step.action in reviews and step.action != action:
                done = self.action_label(step.action)
                return (
                    f"{actor.user} 已在本申领上办理过「{done}」，同一人不能办理两个审查环节"
                    "（职责分离，即使兼任两级角色）"
                )
        return None
