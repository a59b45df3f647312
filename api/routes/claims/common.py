"""What the claims routes share: the workflow, the day a step is dated, one claim as answered."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from api.auth import Caller
from api.context import Ctx
from api.problems import Problem, ProblemError
from api.routes.claims.schemas import ClaimOut, claim_out
from rules.workflow import Workflow
from store.claims.scoped import show_in_scope
from store.db import read_session

__all__ = [
    "TAGS",
    "plain_text",
    "known_action",
    "shown",
    "workflow",
]

TAGS = ["申领"]


@cache
def _workflow(root: Path) -> Workflow:
    return Workflow.load(root)


def workflow(ctx: Ctx) -> Workflow:
    """The transition table of the catalogue served (read once per folder)."""
    return _workflow(ctx.root)


def known_action(wf: Workflow, action: str, where: str = "action") -> str:
    """`action` if the workflow table names it, else a 422 listing the actions."""
    if action not in wf.spec.actions:
        said = f"{action!r}：未知的办理动作；应为 {' | '.join(wf.spec.actions)}"
        raise ProblemError(422, f"{where}：{said}", [Problem(where, said)])
    return action


def shown(ctx: Ctx, caller: Caller, claim_id: int) -> ClaimOut | None:
    """The claim as `caller` is shown it, or None outside their scope."""
    with read_session(ctx.engine) as session:
        view = show_in_scope(session, caller.scope, claim_id)
    return None if view is None else claim_out(view, workflow(ctx).state_label)


def plain_text(where: str, value: str | None) -> str | None:
    """`value` unless it holds a NUL character (PostgreSQL stores no NUL in text: a 422 naming
    `where` instead of a database error)."""
    if value is not None and "\x00" in value:
        said = "含有 NUL 字符（\\x00）；应为普通文本"
        raise ProblemError(422, f"{where}：{said}", [Problem(where, said)])
    return value
