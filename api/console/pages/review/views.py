"""What the review pages show, worked out from the store's answers and the workflow table.

Nothing here decides a claim: which actions a viewer is offered is what
`rules.workflow.Workflow.decide` allows them from the claim's (or part's) current state — the
same decision the step itself is taken under (a stand-in reason is passed, since the viewer has
not typed one yet), so the page never offers a button the store would refuse for role, region,
department or separation of duties. Deadlines are shown in working days
(`rules.workdays`); a deadline in a year whose holidays are not known yet shows its date only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from api.auth import Caller
from api.console.filters import money
from api.params import past_day
from api.problems import Problem, ProblemError
from api.routes.claims.schemas import ClaimOut, PartOut
from matcher.explain.report import period_label, unit_label
from matcher.profiles.regions import load_regions
from rules.workdays import CalendarUnknown, WorkCalendar
from rules.workflow import Actor, Step, Workflow
from store.claims.export import KIND_LABELS
from store.claims.steps import CLAIM_LEVEL
from store.users import ROLES

__all__ = [
    "BACK",
    "KIND_LABELS",
    "Due",
    "Offer",
    "button",
    "calendar",
    "due",
    "due_step",
    "material_rows",
    "offers",
    "region_label",
    "section_text",
    "step_day",
    "step_rows",
    "to_fix",
]

# What a button says: the forward steps read as what they do; the others are the table's labels.
BUTTONS = {
    "confirm": "确认申领（代本户）",
    "accept": "受理并提交乡镇审核",
    "check": "审核通过",
    "approve": "审批通过",
    "resubmit": "补正后重新提交",
    "pay": "登记发放",
}
# An enterprise confirms its own claim; its claim is accepted by the county and goes to a second
# county user, not to a township: the village's wording would mislead there.
ROLE_BUTTONS = {
    ("confirm", "enterprise"): "确认申领",
    ("accept", "county"): "受理（企业申领）",
    ("check", "county"): "审核通过（企业申领）",
}
REASON_LABELS = {"return": "需补正的内容（写明补什么、怎么补）", "reject": "不予批准的理由",
                 "withdraw": "撤回的理由"}  # fmt: skip
DANGER = frozenset({"return", "reject", "withdraw"})
MATERIAL_STATUS = {
    "held": ("已掌握（来自已有数据，无需提交）", "ok"),
    "waived": ("容缺受理（可后补）", "warn"),
    "asked": ("需本人提供", "bad"),
    "exempt": ("免提交（免申即享）", ""),
}
_STAND_IN_REASON = "（页面预检）"
# Where the claim page leads back to, by role (the page of the role's menu that lists claims).
BACK = {
    "township": ("/console/queue", "待办申领"),
    "county": ("/console/queue", "待办申领"),
    "department": ("/console/queue", "待办申领"),
    "village": ("/console/village/claims", "代办申领"),
    "enterprise": ("/console/enterprise", "政策通知"),
    "supervisor": ("/console/supervision/overdue", "超时事项"),
}


def button(wf: Workflow, action: str, role: str) -> str:
    """What the button of `action` says to `role`."""
    return ROLE_BUTTONS.get((action, role)) or BUTTONS.get(action) or wf.action_label(action)


@cache
def calendar(root: Path) -> WorkCalendar:
    """The working-day calendar of the served policies folder (package + holidays.yaml)."""
    return WorkCalendar.load(root)


def region_label(code: str) -> str:
    """`云场坪镇某村委会（示例一）（520602101201）`, or the code when the table does not know it."""
    name = load_regions().name(code)
    return f"{name}（{code}）" if name else code


@dataclass(frozen=True)
class Due:
    """A deadline as shown: the day, and the working days left (negative: overdue by)."""

    on: date
    left: int | None  # None: the calendar does not know the years between
    overdue: bool

    @property
    def text(self) -> str:
        """`剩 2 个工作日`, `今天到期`, `已超时 5 个工作日`, or "" when it cannot be counted."""
        if self.left is None:
            return "已超时" if self.overdue else ""
        if self.overdue:
            return f"已超时 {max(-self.left, 1)} 个工作日"
        return "今天到期" if self.left == 0 else f"剩 {self.left} 个工作日"


def due(on: date | None, today: date, cal: WorkCalendar) -> Due | None:
    """The deadline `on` counted from `today` in working days (None: no deadline)."""
    if on is None:
        return None
    try:
        left: int | None = cal.workdays_between(today, on)
    except CalendarUnknown:
        left = None
    return Due(on, left, on < today)


def due_step(wf: Workflow, state: str) -> str:
    """The step a deadline counted from `state` is for (`乡镇审核`), by the workflow table."""
    timed = [t for t in wf.spec.transitions if state in t.from_ and t.deadline_days is not None]
    return wf.action_label(timed[0].action) if timed else wf.state_label(state)


def step_day(text: str) -> date:
    """The day a step is dated (the form's 办理日期; empty: today), or a 422 at `step_on`."""
    try:
        day = date.fromisoformat(text) if text else None
    except ValueError:
        said = f"{text[:40]!r}：应为 YYYY-MM-DD 格式的日期"
        raise ProblemError(422, f"办理日期：{said}", [Problem("step_on", said)]) from None
    return past_day(day, "step_on")


@dataclass(frozen=True)
class Offer:
    """An action the viewer may take now, on the whole claim or on one department's part."""

    action: str
    label: str
    part: str | None
    version: int
    reason: str | None  # the reason field's label when the action needs one
    payment_ref: bool
    danger: bool


def _history(steps: Sequence[Mapping[str, Any]]) -> list[Step]:
    return [
        Step(str(s["action"]), Actor(str(s["actor"]), str(s["role"]), str(s["region"]),
                                     s.get("department")), str(s["from"]))
        for s in steps
    ]  # fmt: skip


def _offer(wf: Workflow, claim: ClaimOut, viewer: Caller, state: str, part: PartOut | None,
           history: list[Step]) -> list[Offer]:  # fmt: skip
    scope = "claim" if part is None else "part"
    out: list[Offer] = []
    for action in dict.fromkeys(t.action for t in wf.next_actions(state, scope)):
        decision = wf.decide(
            state=state, action=action, actor=viewer.actor, claim_region=claim.region,
            part_department=None if part is None else part.department, history=history,
            reason=_STAND_IN_REASON, claim_subject=claim.subject_key,
            subject_kind=claim.subject_kind,
        )  # fmt: skip
        if not decision.ok:
            continue
        needs_reason = any(t.reason for t in wf.next_actions(state, scope) if t.action == action)
        out.append(Offer(
            action=action, label=button(wf, action, viewer.role),
            part=None if part is None else part.department,
            version=claim.version if part is None else part.version,
            reason=REASON_LABELS.get(action, "理由") if needs_reason else None,
            payment_ref=action == "pay", danger=action in DANGER,
        ))  # fmt: skip
    return out


def offers(wf: Workflow, claim: ClaimOut, viewer: Caller) -> list[Offer]:
    """Every action `viewer` may take on `claim` now (module docstring), the claim's first."""
    history = _history(claim.steps)
    if claim.state in CLAIM_LEVEL:
        return _offer(wf, claim, viewer, claim.state, None, history)
    return [o for p in claim.parts for o in _offer(wf, claim, viewer, p.state, p, history)]


def to_fix(claim: ClaimOut) -> list[tuple[str | None, str]]:
    """What the claim (or each returned part) was sent back to fix: the last return's reason,
    as (department or None for the whole claim, reason)."""
    returned: list[str | None] = [None] if claim.state == "returned" else []
    returned += [p.department for p in claim.parts if p.state == "returned"]
    out: list[tuple[str | None, str]] = []
    for part in dict.fromkeys(returned):
        said = [s for s in claim.steps if s["action"] == "return" and s.get("part") == part]
        if said and said[-1].get("reason"):
            out.append((part, str(said[-1]["reason"])))
    return out


@dataclass(frozen=True)
class StepRow:
    """One line of the audit trail."""

    at: datetime | None
    on_date: str
    who: str
    role: str
    where: str
    action: str
    change: str
    part: str | None
    reason: str | None
    on_behalf: bool
    payment_ref: str | None = None


def _at(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def step_rows(wf: Workflow, steps: Sequence[Mapping[str, Any]]) -> list[StepRow]:
    """The claim's steps as the audit trail shows them (who, when, from → to, why)."""
    rows = []
    for s in steps:
        role = str(s.get("role") or "")
        person, actor = s.get("person"), str(s.get("actor") or "")
        rows.append(StepRow(
            at=_at(s.get("at")), on_date=str(s.get("on_date") or ""),
            who=f"{person}（{actor}）" if person and person != actor else actor,
            role=ROLES[role].label if role in ROLES else ("系统" if role == "system" else role),
            where=str(s.get("department") or s.get("region") or ""),
            action=wf.action_label(str(s.get("action"))),
            change=f"{wf.state_label(str(s.get('from')))} → {wf.state_label(str(s.get('to')))}",
            part=s.get("part"), reason=s.get("reason"), on_behalf=bool(s.get("on_behalf")),
        ))  # fmt: skip
    return rows


def material_rows(materials: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each material with where it comes from, in words: held (the fact and its value, masked
    as stored), waived, to bring, exempt."""
    out = []
    for m in materials:
        status = str(m.get("status") or "")
        label, tone = MATERIAL_STATUS.get(status, (status, ""))
        source = f"{m.get('label')}：{m.get('value')}" if status == "held" else ""
        out.append({"name": m.get("name"), "status": label, "tone": tone, "source": source,
                    "departments": "、".join(m.get("departments") or ())})  # fmt: skip
    return out


def section_text(section: Mapping[str, Any]) -> str:
    """A section's amount as the page reads it: `12.50 元/月`, or 金额待核定."""
    amount = money(section.get("amount"))
    if not amount:
        return "金额待核定"
    unit = unit_label(section.get("unit")) or "元"
    period = period_label(section.get("period"))
    if period in ("月", "年"):
        return f"{amount} {unit}/{period}"
    return f"{amount} {unit}" + (f"（{period}）" if period else "")
