"""What the queue shows and takes: its filters read from the address, each row's state and
checkbox value, the actions a role may take in batch and the rows picked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from api.console.pages.review.views import KIND_LABELS, REASON_LABELS, button
from api.problems import Problem, ProblemError
from api.routes.claims.schemas import QueueItem
from rules.workflow import Workflow
from store.claims.steps import CLAIM_LEVEL

__all__ = [
    "BatchPick",
    "QueueFilters",
    "batch_actions",
    "batch_picks",
    "batch_value",
    "queue_states",
]

_OVERDUE = {"": None, "1": True, "0": False}


@dataclass(frozen=True)
class QueueFilters:
    """The queue's filters as read from the query string (empty = not filtered)."""

    state: str | None = None
    kind: str | None = None
    overdue: bool | None = None
    subject: str | None = None
    on: date | None = None
    offset: int = 0
    waiting: bool = True  # False: every claim in the viewer's scope, not only those waiting

    @classmethod
    def read(cls, wf: Workflow, *, state: str, kind: str, overdue: str, subject: str, on: str,
             offset: int, every: str = "") -> QueueFilters:  # fmt: skip
        """The filters, or a 400 naming the parameter that is not one of its values."""
        if every not in ("", "1"):
            _bad("all", every, "空（待我办理）或 1（本辖区全部）")
        if state and state not in wf.spec.states:
            _bad("state", state, "、".join(wf.spec.states))
        if kind and kind not in KIND_LABELS:
            _bad("kind", kind, "、".join(KIND_LABELS))
        if overdue not in _OVERDUE:
            _bad("overdue", overdue, "空、1（已超时）、0（未超时）")
        day = None
        if on:
            try:
                day = date.fromisoformat(on)
            except ValueError:
                _bad("on", on, "YYYY-MM-DD 格式的日期")
        return cls(state or None, kind or None, _OVERDUE[overdue], subject.strip() or None, day,
                   max(offset, 0), waiting=every != "1")  # fmt: skip

    def query(self) -> str:
        """The filters as a query string (for the pager and the address bar)."""
        late = None if self.overdue is None else "1" if self.overdue else "0"
        day = self.on.isoformat() if self.on else None
        pairs = [("all", None if self.waiting else "1"), ("state", self.state),
                 ("kind", self.kind), ("overdue", late), ("subject", self.subject),
                 ("on", day)]  # fmt: skip
        return urlencode([(k, v) for k, v in pairs if v])

    @property
    def any(self) -> bool:
        picked = (self.state, self.kind, self.overdue, self.subject)
        return not self.waiting or any(v is not None for v in picked)


def _bad(name: str, found: str, expected: str) -> None:
    said = f"{found[:40]!r}：应为 {expected}"
    raise ProblemError(400, f"{name}：{said}", [Problem(f"query.{name}", said)])


def queue_states(item: QueueItem) -> list[str]:
    """A queue row's state(s): the claim's while it moves as one, else each part's shown (a
    department is shown its own part only)."""
    if item.state in CLAIM_LEVEL or not item.parts:
        return [item.overall_label]
    if len(item.parts) == 1:
        return [item.parts[0].state_label]
    return [f"{p.department}：{p.state_label}" for p in item.parts]


def batch_actions(wf: Workflow, role: str) -> list[tuple[str, str, str | None]]:
    """The actions `role` may take in batch from a queue: (action, button, reason label).
    Payment is left out: it needs a reference per part (the department uploads its sheet)."""
    out = []
    for action in dict.fromkeys(t.action for t in wf.spec.transitions):
        rows = [t for t in wf.spec.transitions if t.action == action
                and any(b.role == role for b in t.by)]  # fmt: skip
        if rows and action != "pay":
            reason = REASON_LABELS.get(action, "理由") if any(t.reason for t in rows) else None
            out.append((action, button(wf, action, role), reason))
    return out


def batch_value(wf: Workflow, item: QueueItem, role: str) -> str:
    """A queue row's checkbox value, `id:version`: the version the batch compares against —
    the claim's while it moves as one, else the one part the role can act on (no version when
    it could act on several: the step then names none)."""
    if item.state in CLAIM_LEVEL:
        return f"{item.id}:{item.version}"
    mine = [
        p for p in item.parts
        if any(b.role == role for t in wf.next_actions(p.state, "part") for b in t.by)
    ]  # fmt: skip
    return f"{item.id}:{mine[0].version}" if len(mine) == 1 else f"{item.id}:"


@dataclass(frozen=True)
class BatchPick:
    """A claim picked in the queue, with the version seen."""

    id: int
    version: int | None


def batch_picks(values: Sequence[str]) -> list[BatchPick]:
    """The picked rows (`id:version`), or a 422 naming the one that is not."""
    picks = []
    for i, value in enumerate(values):
        head, _, tail = value.partition(":")
        if not head.isdigit() or not 0 < int(head) < 2**31 or (tail and not tail.isdigit()):
            said = f"{value[:40]!r}：应为 申领编号:版本号"
            raise ProblemError(422, f"claims[{i}]：{said}", [Problem(f"claims[{i}]", said)])
        picks.append(BatchPick(int(head), int(tail) if tail else None))
    return picks
