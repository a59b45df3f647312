"""How the village pages show what the store gives: entitlements with their reasons, the
filters' choices, a batch's answers. Shapes only (labels from the catalogue and the workflow);
what holds and what is missing is the store's and the matcher's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from api.routes.claims.schemas import ClaimOut, QueueItem
from matcher.profiles.masking import mask_ids_in_text
from rules.catalogue import Catalogue
from rules.workflow import Workflow
from store.claims.errors import ClaimError
from store.claims.steps import StepDone
from store.subjects.roster import RosterHousehold
from store.sweep.notes import missing_labels, policy_notes
from store.tables.entitlements import EntitlementPublic

__all__ = [
    "DELIVERY",
    "JOB_STATES",
    "LACKING",
    "NOTICE_STATES",
    "STATUS",
    "Answer",
    "ClaimRow",
    "answers",
    "claim_row",
    "entitlement_rows",
    "policy_choices",
    "roster_rows",
]

_PER = {"month": "/月", "year": "/年", "once": "（一次性）"}
NOTICE_STATES = {"pending": "待发", "sent": "已送达", "dead": "发送失败",
                 "undeliverable": "无人订阅（请村里转告）"}  # fmt: skip
JOB_STATES = {"queued": "排队中", "running": "导入中", "done": "已完成", "failed": "失败"}
DELIVERY = {"auto": "免申即享（自动发放）", "confirm": "确认后申领", "notify": "告知"}
STATUS = {"eligible": "符合", "undetermined": "待补充信息", "ineligible": "不符合"}
LACKING = {"any": "缺信息或缺材料", "facts": "缺信息（待补充的事实）",
           "materials": "缺材料（申领待交的材料）"}  # fmt: skip


def entitlement_rows(
    held: Sequence[EntitlementPublic], catalogue: Catalogue
) -> list[dict[str, Any]]:
    """Each interval as a row: the policy's title, status, amount (yuan, to the fen, with its
    period; `pending`: eligible, amount not yet known — 金额待核定), the conditions that held
    (`says`), those still unknown (`unknown`), the facts missing by their labels, and since
    when."""
    notes = policy_notes(catalogue)
    rows = []
    for e in held:
        note = notes.get(e.policy_id)
        says = note.says if note is not None else ()
        policy = catalogue.policies.get(e.policy_id)
        benefit = policy.spec.benefit if policy is not None else None
        pending = e.status == "eligible" and e.amount is None and benefit is not None
        rows.append({
            "policy_id": e.policy_id,
            "title": policy.spec.title if policy is not None else e.policy_id,
            "department": policy.spec.department if policy is not None else "",
            "status": e.status, "status_label": STATUS.get(e.status, e.status),
            "amount": e.amount, "per": _PER.get(benefit.period if benefit else "", ""),
            "pending": pending,
            "says": [s for s, v in zip(says, e.conditions, strict=False) if v == "T"],
            "unknown": [s for s, v in zip(says, e.conditions, strict=False) if v == "U"],
            "missing": [m["label"] for m in missing_labels(e.missing, catalogue.facts)],
            "since": e.valid_from, "until": e.valid_to,
        })  # fmt: skip
    return rows


def roster_rows(items: Sequence[RosterHousehold], catalogue: Catalogue) -> list[dict[str, Any]]:
    """Each household of a roster page with its entitlement rows and, at once, every fact its
    entitlements still miss (by label) and every material its claims at the village ask."""
    out = []
    for h in items:
        held = entitlement_rows(h.held, catalogue)
        missing = list(dict.fromkeys(label for e in held for label in e["missing"]))
        out.append({"house": h, "held": held, "missing": missing,
                    "asked": [m["name"] for m in h.asked]})  # fmt: skip
    return out


def policy_choices(catalogue: Catalogue) -> list[tuple[str, str]]:
    """The household policies a filter may pick: (id, title), by title."""
    found = [(p.spec.id, p.spec.title) for p in catalogue.for_subject("household")]
    return sorted(found, key=lambda c: c[1])


@dataclass(frozen=True)
class Answer:
    """What a batch did to one claim: done (with the state it is now in) or why not."""

    ok: bool
    state_label: str
    message: str


@dataclass(frozen=True)
class ClaimRow:
    """A claim as the village's table shows it: the claim (the API's shape), the materials
    the household still brings (`asked`) or may bring later (`waived`, 容缺), the batch's answer
    about it, and whether it can be picked (it is waiting for the village)."""

    claim: ClaimOut | QueueItem
    asked: list[str]
    waived: list[str]
    due_on: date | None  # the earliest open deadline (承诺时限)
    answer: Answer | None = None
    pickable: bool = True


def claim_row(
    claim: ClaimOut | QueueItem, materials: Sequence[dict[str, Any]], answer: Answer | None = None
) -> ClaimRow:
    """The row of `claim`: pickable while it waits in the village's queue (a `QueueItem`)."""
    asked = [m["name"] for m in materials if m.get("status") == "asked"]
    waived = [m["name"] for m in materials if m.get("status") == "waived"]
    if isinstance(claim, QueueItem):
        return ClaimRow(claim, asked, waived, claim.due_on, answer, True)
    due = [date.fromisoformat(str(d["due_on"])) for d in claim.deadlines if d.get("due_on")]
    return ClaimRow(claim, asked, waived, min(due, default=None), answer, False)


def answers(
    ids: Sequence[int], results: Sequence[StepDone | ClaimError], workflow: Workflow
) -> dict[int, Answer]:
    """The batch's answers by claim id (a refusal's message is the store's, ID numbers masked)."""
    out = {}
    for claim_id, r in zip(ids, results, strict=True):
        if isinstance(r, StepDone):
            out[claim_id] = Answer(True, workflow.state_label(r.to_state), "")
        else:
            out[claim_id] = Answer(False, "", mask_ids_in_text(str(r)))
    return out
