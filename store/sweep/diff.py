"""What a sweep's decisions change: the pure diff between the open intervals and a new result.

The state of (subject, policy) is its open entitlement interval (`Current`); none, or an open
ineligible one, means ineligible. A new decision changes the state as follows (amounts are
exact `Decimal`s to the fen; an unknown amount differs from a known one):

| before            | after        | change                |
|-------------------|--------------|-----------------------|
| not eligible      | eligible     | `newly_eligible`      |
| eligible          | eligible     | `amount_changed` when the amount differs, else none |
| eligible          | ineligible   | `no_longer_eligible`  |
| not undetermined  | undetermined | `became_undetermined` |
| undetermined      | ineligible   | none (nothing was promised) |
| not ineligible    | policy removed from the catalogue | `no_longer_eligible` |

`plan` also says which intervals to close and open. A decision *is the same result* as the open
interval when status, amount, verdicts (T/F/U per condition), missing facts, the policy kept
instead (`dropped_for`) and the policy's rule hash are all equal; an ineligible decision is the
same as an open ineligible interval whatever its verdicts (ineligible results are not tracked:
that interval records why an entitlement ended). The same result writes nothing. Any other
decision closes the open interval at the sweep's date and opens one from it, with or without a
change (verdicts or rules that moved without moving status or amount are history, not notices).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

__all__ = [
    "INELIGIBLE",
    "Change",
    "Current",
    "Decision",
    "Key",
    "Plan",
    "State",
    "change_kind",
    "plan",
]

Key = tuple[int, str]  # (subject id, policy id)


@dataclass(frozen=True)
class State:
    """A status with its amount (None: no amount, or an amount not yet known)."""

    status: str
    amount: Decimal | None = None


INELIGIBLE = State("ineligible")


@dataclass(frozen=True)
class Decision:
    """One subject's result for one policy, as a sweep stores it."""

    subject_id: int
    policy_id: str
    status: str
    amount: Decimal | None
    conditions: str  # T/F/U per condition, in order ("" when decided before any condition)
    missing: tuple[str, ...]
    dropped_for: str | None
    inputs_hash: str  # the profile_hash the decision was computed from

    @property
    def key(self) -> Key:
        """(subject id, policy id)."""
        return (self.subject_id, self.policy_id)

    @property
    def state(self) -> State:
        """The decision's status and amount."""
        return State(self.status, self.amount)


@dataclass(frozen=True)
class Current:
    """An open entitlement interval: the stored state of (subject, policy)."""

    interval_id: int
    state: State
    conditions: str
    missing: tuple[str, ...]
    dropped_for: str | None
    rule_hash: str | None
    valid_from: date

    def same(self, d: Decision, rule_hash: str | None) -> bool:
        """Whether `d`, decided under `rule_hash`, is this interval's result (module docstring)."""
        if d.status == "ineligible" and self.state.status == "ineligible":
            return True
        return self.state == d.state and (
            self.conditions,
            self.missing,
            self.dropped_for,
            self.rule_hash,
        ) == (d.conditions, d.missing, d.dropped_for, rule_hash)


@dataclass(frozen=True)
class Change:
    """A decision that changes the state, and what the state was."""

    decision: Decision
    kind: str
    before: State


@dataclass
class Plan:
    """The rows one chunk writes: intervals to close, intervals to open, changes."""

    closed: list[int] = field(default_factory=list)  # ids of open intervals ending on the date
    opened: list[Decision] = field(default_factory=list)  # new open intervals from the date
    changes: list[Change] = field(default_factory=list)
    # subject → the bundles whose gate holds, for subjects with a newly eligible bundle member
    gates: dict[int, frozenset[str]] = field(default_factory=dict)


def change_kind(before: State, after: State) -> str | None:
    """The change from `before` to `after` (see the module table), or None."""
    if after.status == "eligible":
        if before.status != "eligible":
            return "newly_eligible"
        return None if before.amount == after.amount else "amount_changed"
    if after.status == "undetermined":
        return None if before.status == "undetermined" else "became_undetermined"
    return "no_longer_eligible" if before.status == "eligible" else None


def plan(
    decisions: Iterable[Decision],
    current: Mapping[Key, Current],
    *,
    rule_hashes: Mapping[str, str],
    removed: Collection[str] = (),
) -> Plan:
    """The intervals to close and open, and the changes, of a chunk's decisions.

    Args:
        decisions: eligible and undetermined decisions, and ineligible ones for keys whose open
            interval is not ineligible (others are the same result and write nothing).
        current: the open intervals of the chunk's subjects, by (subject id, policy id).
        rule_hashes: the rule hash of every policy in the sweep's catalogue.
        removed: policies no longer in the catalogue: a non-ineligible interval of one ends
            with `no_longer_eligible`, undetermined included (its notice says so).
    """
    out = Plan()
    for d in decisions:
        stored = current.get(d.key)
        if stored is not None and stored.same(d, rule_hashes.get(d.policy_id)):
            continue
        before = stored.state if stored is not None else INELIGIBLE
        if before.status == "ineligible" and d.status == "ineligible":
            continue
        out.opened.append(d)
        if stored is not None:
            out.closed.append(stored.interval_id)
        kind = change_kind(before, d.state)
        if d.policy_id in removed and before.status != "ineligible":
            kind = "no_longer_eligible"
        if kind is not None:
            out.changes.append(Change(d, kind, before))
    return out
