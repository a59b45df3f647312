"""What a sweep's decisions change: the pure diff between the last state and a new result.

The state of (subject, policy) is `EntitlementCurrent` (status and amount); no row means
ineligible. A new decision changes it as follows (amounts compared to the fen; an unknown amount
differs from a known one):

| before            | after        | change                |
|-------------------|--------------|-----------------------|
| not eligible      | eligible     | `newly_eligible`      |
| eligible          | eligible     | `amount_changed` when the amount differs, else none |
| eligible          | ineligible   | `no_longer_eligible`  |
| not undetermined  | undetermined | `became_undetermined` |
| undetermined      | ineligible   | none (nothing was promised; the state is cleared) |

`plan` also says which rows to write: an entitlement row for every eligible or undetermined
decision and for an ineligible one whose state was not ineligible (the record of why it ended);
a current row wherever status, amount, catalogue version or date moved; a current row deleted
when the decision is ineligible. Decisions equal to the state write no change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

__all__ = ["INELIGIBLE", "Change", "Current", "Decision", "Plan", "State", "change_kind", "plan"]

Key = tuple[int, str]  # (subject id, policy id)


@dataclass(frozen=True)
class State:
    """A status with its amount (None: no amount, or an amount not yet known)."""

    status: str
    amount: float | None = None


INELIGIBLE = State("ineligible")


@dataclass(frozen=True)
class Decision:
    """One subject's result for one policy, as a sweep stores it."""

    subject_id: int
    policy_id: str
    status: str
    amount: float | None
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
    """A stored current state and the sweep that set it."""

    state: State
    catalogue_version_id: int
    on_date: date


@dataclass(frozen=True)
class Change:
    """A decision that changes the state, and what the state was."""

    decision: Decision
    kind: str
    before: State


@dataclass
class Plan:
    """The rows one chunk writes."""

    entitlements: list[Decision] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    current: list[Decision] = field(default_factory=list)  # to upsert
    cleared: list[Key] = field(default_factory=list)  # current rows to delete


def _same_amount(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return round(a, 2) == round(b, 2)


def change_kind(before: State, after: State) -> str | None:
    """The change from `before` to `after` (see the module table), or None."""
    if after.status == "eligible":
        if before.status != "eligible":
            return "newly_eligible"
        return None if _same_amount(before.amount, after.amount) else "amount_changed"
    if after.status == "undetermined":
        return None if before.status == "undetermined" else "became_undetermined"
    return "no_longer_eligible" if before.status == "eligible" else None


def plan(
    decisions: Iterable[Decision],
    current: Mapping[Key, Current],
    *,
    catalogue_version_id: int,
    on_date: date,
) -> Plan:
    """The entitlements, changes and current-state writes of a chunk's decisions.

    Args:
        decisions: eligible and undetermined decisions, and ineligible ones for keys in `current`
            (others are ignored: an absent state is already ineligible).
        current: the stored state of the chunk's subjects, by (subject id, policy id).
        catalogue_version_id: the catalogue the decisions were made under.
        on_date: the evaluation date.
    """
    out = Plan()
    for d in decisions:
        stored = current.get(d.key)
        before = stored.state if stored is not None else INELIGIBLE
        if d.status == "ineligible" and before.status == "ineligible":
            continue
        out.entitlements.append(d)
        kind = change_kind(before, d.state)
        if kind is not None:
            out.changes.append(Change(d, kind, before))
        if d.status == "ineligible":
            out.cleared.append(d.key)
        elif stored is None or _moved(stored, d.state, catalogue_version_id, on_date):
            out.current.append(d)
    return out


def _moved(stored: Current, after: State, version_id: int, on_date: date) -> bool:
    return (
        stored.state.status != after.status
        or not _same_amount(stored.state.amount, after.amount)
        or (stored.catalogue_version_id, stored.on_date) != (version_id, on_date)
    )
