"""A claim's office notices, read for rendering: reminders, escalations and ended claims.

`store.claims.deadlines` queues `claim.reminder` and `claim.overdue`, `store.claims.opening`
queues `claim.ended`; each goes to an office (a village centre, a township, a county
department, the county's supervisors), not to the claim's subject. `jobs.notices.notice_of`
hands their payloads here: the `Notice` it returns carries the claim's facts in `Notice.claim`
(`ClaimFacts`), and the channels render them with their own mail templates
(`mail/claim_*.…`), SMS templates (kinds `claim_reminder`, `claim_overdue`, `claim_ended` in
`sms.yaml`) and webhook data (`claim_data`).

| payload type | kind | says |
|---|---|---|
| `claim.reminder` | `claim_reminder` | 申领处于某环节，承诺时限到某日，请及时办理 |
| `claim.overdue` | `claim_overdue` | 已超过承诺时限 N 个工作日 (supervisors and the office) |
| `claim.ended` | `claim_ended` | 部门的部分已撤回，或自某日起停止发放，with the reason |

The payload names the subject by 户编号 or credit code, never by an ID number; every text is
masked and made one line all the same (`jobs.notices`). A `claim.ended` payload carries no
claim title: the notice names the policies ended instead (their ids), unless a `title` is given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from store.delivery.offices import office_label

__all__ = ["CLAIM_KINDS", "CLAIM_TYPES", "ClaimFacts", "claim_data", "claim_facts", "next_step"]

CLAIM_TYPES = {
    "claim.reminder": "claim_reminder",
    "claim.overdue": "claim_overdue",
    "claim.ended": "claim_ended",
}
CLAIM_KINDS = tuple(CLAIM_TYPES.values())
_SUBJECTS = {"household": "户", "enterprise": "企业"}


@dataclass(frozen=True)
class ClaimFacts:
    """What an office notice says about its claim (text fields masked, one line each)."""

    claim_id: int
    office: str  # the office key: 12/9/6 digits or "{county}/{department}"
    office_label: str  # "县医疗保障局", "乡镇（街道）520602100", "县 520602 督查"
    subject: str | None  # "户 5206021002010002", "企业 91520602MA…": never an ID number
    state: str | None  # the state the step is due from (reminder, overdue)
    state_label: str | None
    entered_on: str | None
    due_on: str | None
    days_overdue: int | None  # working days past due_on; None when the calendar is unknown
    calendar: str | None  # why the days could not be counted
    action: str | None  # claim.ended: withdraw | end
    reason: str | None
    ends_on: str | None
    policies: tuple[str, ...]
    deadline_id: int | None
    part_id: int | None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def claim_facts(payload: Mapping[str, Any], line: Callable[[Any], str | None]) -> ClaimFacts:
    """The claim facts of an office notice's payload; `line` masks a text to one line (or None).

    Raises:
        ValueError: the payload names no claim or no office.
    """
    claim_id, office = _int(payload.get("claim_id")), line(payload.get("office"))
    if claim_id is None or office is None:
        raise ValueError("通知载荷 $.claim_id / $.office：申领通知应给出申领编号和接收办公室")
    subject = payload.get("subject") or {}
    key = line(subject.get("key")) if isinstance(subject, Mapping) else None
    kind = _SUBJECTS.get(str(subject.get("kind")), "") if isinstance(subject, Mapping) else ""
    named = payload.get("policy_titles") or payload.get("policies") or ()
    policies = tuple(p for p in (line(x) for x in named) if p)
    return ClaimFacts(
        claim_id=claim_id, office=office, office_label=office_label(office),
        subject=f"{kind} {key}".strip() if key else None,
        state=line(payload.get("state") or payload.get("from")),
        state_label=line(payload.get("state_label")),
        entered_on=line(payload.get("entered_on")), due_on=line(payload.get("due_on")),
        days_overdue=_int(payload.get("days_overdue")), calendar=line(payload.get("calendar")),
        action=line(payload.get("action")), reason=line(payload.get("reason")),
        ends_on=line(payload.get("ends_on")), policies=policies,
        deadline_id=_int(payload.get("deadline_id")), part_id=_int(payload.get("part_id")),
    )  # fmt: skip


def next_step(kind: str, facts: ClaimFacts) -> str | None:
    """What the office is asked to do."""
    if kind == "claim_reminder":
        return "请在承诺时限内办理（zhida claims show " + str(facts.claim_id) + "）"
    if kind == "claim_overdue":
        return "请经办单位尽快办理，县督查跟进"
    if facts.action == "withdraw":
        return "该部分已撤回，无需再审批或发放"
    return "请自停止日起停止发放，并在下一批发放名单中剔除"


def claim_data(kind: str, facts: ClaimFacts, title: str, department: str | None) -> dict[str, Any]:
    """The `data` of an office notice's webhook body (JSON-ready, no ID number)."""
    return {
        "kind": kind,
        "office": {"key": facts.office, "label": facts.office_label},
        "claim": {
            "id": facts.claim_id, "title": title, "subject": facts.subject,
            "part_id": facts.part_id, "department": department,
        },
        "deadline": {
            "id": facts.deadline_id, "state": facts.state, "state_label": facts.state_label,
            "entered_on": facts.entered_on, "due_on": facts.due_on,
            "days_overdue": facts.days_overdue, "calendar": facts.calendar,
        } if facts.deadline_id is not None else None,
        "ended": {
            "action": facts.action, "reason": facts.reason, "ends_on": facts.ends_on,
            "policies": list(facts.policies), "from": facts.state,
        } if kind == "claim_ended" else None,
        "next_step": next_step(kind, facts),
    }  # fmt: skip
