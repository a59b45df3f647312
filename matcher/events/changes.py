"""Events from a profile change: the stored documents before and after, diffed.

The documents are those `store.ingest.documents` stores and hashes: a household
`{"household_no", "region_code", "facts", "members": [{"id_number", "name", "relation",
"facts"}]}`, an enterprise `{"credit_code", "name", "region_code", "facts"}`.

Decisions (docs/delivery.md, "Events from a profile change"):

- `dibao_status` or `tekun_status` becoming "active" from anything else (absent included) is
  `dibao_granted` / `tekun_granted`; "active" becoming anything else (removed included) is
  `dibao_lapsed` / `tekun_lapsed`.
- A member who appears is `child_born` when the birth date in the ID number lies within the
  365 days up to `on`, else `member_added`.
- A member who disappears is `member_died` when the after document lists the ID number under
  `deceased` (a death record an import may carry), else `member_moved` (what imports record as
  `removed_member`). A member still present whose `deceased` fact turns true is `member_died`
  too. facts.yaml declares no death fact today, so in practice a departure is `member_moved`.
- A member's `has_disability`, `disability_grade` or `disability_type` set or changed (not
  removed) is `disability_assessed`.
- A new enterprise (no before) is `enterprise_registered`. A new household is only
  `profile_changed` with `created: true`: nothing was known of it before, so nothing "changed
  status" (its first evaluation covers every policy).
- Any change at all also gives one `profile_changed`, last, listing the changed paths in the
  shape of `store.ingest.documents.profile_diff` (members by masked ID number).

Attributes are JSON-able and hold no full ID number: members are named by `mask_id`.
Pure: no store.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from matcher.events.reactions import Event
from matcher.profiles.identifiers import IdentifierError, parse_ric
from matcher.profiles.masking import mask_id

__all__ = ["STATUS_EVENTS", "profile_events"]

# fact → (event when it becomes active, event when it stops being active)
STATUS_EVENTS = {
    "dibao_status": ("dibao_granted", "dibao_lapsed"),
    "tekun_status": ("tekun_granted", "tekun_lapsed"),
}
DISABILITY_FACTS = ("has_disability", "disability_grade", "disability_type")
NEWBORN_DAYS = 365
Doc = Mapping[str, Any]


def profile_events(kind: str, before: Doc | None, after: Doc, *, on: date) -> list[Event]:
    """The events a change of one profile gives, specific ones first, `profile_changed` last.

    Args:
        kind: "household" or "enterprise".
        before: the stored document before the change (None: the profile is new).
        after: the document after the change.
        on: the date of the change (a newborn is born within the 365 days up to it).

    Returns:
        No event when nothing changed.

    Raises:
        ValueError: `kind` is neither household nor enterprise.
    """
    if kind not in ("household", "enterprise"):
        raise ValueError(f"unknown profile kind {kind!r}: household or enterprise")
    paths = changed_paths(before or {}, after)
    if before is not None and not paths:
        return []
    events: list[Event] = []
    if before is None and kind == "enterprise":
        events.append(Event("enterprise_registered", kind))
    elif before is not None and kind == "household":
        events += _status_events(before, after)
        events += _member_events(before, after, on)
    changed = {"paths": paths, "created": before is None}
    return [*events, Event("profile_changed", kind, changed)]


def _facts(doc: Doc) -> Mapping[str, Any]:
    facts = doc.get("facts")
    return facts if isinstance(facts, Mapping) else {}


def _status_events(before: Doc, after: Doc) -> list[Event]:
    events = []
    for fact, (granted, lapsed) in STATUS_EVENTS.items():
        old, new = _facts(before).get(fact), _facts(after).get(fact)
        if (old == "active") != (new == "active"):
            name = granted if new == "active" else lapsed
            events.append(Event(name, "household", {"from": old, "to": new}))
    return events


def _members(doc: Doc) -> dict[str, Mapping[str, Any]]:
    members = doc.get("members")
    return {str(m["id_number"]): m for m in members or () if isinstance(m, Mapping)}


def _member_events(before: Doc, after: Doc, on: date) -> list[Event]:
    old, new = _members(before), _members(after)
    deceased = {str(n) for n in after.get("deceased") or ()}
    events = []
    for number in sorted(old.keys() | new.keys()):
        masked = mask_id(number)
        if number not in old:
            events.append(_arrival(number, new[number], on))
        elif number not in new:
            name = "member_died" if number in deceased else "member_moved"
            events.append(Event(name, "household", {"member": masked}))
        else:
            events += _member_change(masked, old[number], new[number])
    return events


def _arrival(number: str, member: Mapping[str, Any], on: date) -> Event:
    attrs: dict[str, Any] = {"member": mask_id(number), "relation": member.get("relation")}
    try:
        born = parse_ric(number, today=on).birth_date
    except IdentifierError:
        return Event("member_added", "household", attrs)
    newborn = 0 <= (on - born).days <= NEWBORN_DAYS
    return Event("child_born" if newborn else "member_added", "household", attrs)


def _member_change(masked: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Event]:
    before, after = _facts(old), _facts(new)
    events = []
    if after.get("deceased") is True and before.get("deceased") is not True:
        events.append(Event("member_died", "household", {"member": masked}))
    assessed = [
        f for f in DISABILITY_FACTS if after.get(f) is not None and after.get(f) != before.get(f)
    ]
    if assessed:
        attrs = {"member": masked, "grade": after.get("disability_grade"), "facts": assessed}
        events.append(Event("disability_assessed", "household", attrs))
    return events


def changed_paths(before: Doc, after: Doc) -> list[str]:
    """The paths that differ, as `store.ingest.documents.profile_diff` names them: `region_code`,
    `facts.<fact>`, `members[<masked id>]` (added or removed), `members[<masked id>].<fact>`."""
    paths = [k for k in ("household_no", "region_code", "name") if before.get(k) != after.get(k)]
    paths += _fact_paths("facts", _facts(before), _facts(after))
    old, new = _members(before), _members(after)
    for number in sorted(old.keys() | new.keys()):
        prefix = f"members[{mask_id(number)}]"
        if number not in old or number not in new:
            paths.append(prefix)
            continue
        paths += [
            f"{prefix}.{k}"
            for k in ("name", "relation")
            if old[number].get(k) != new[number].get(k)
        ]
        paths += _fact_paths(prefix, _facts(old[number]), _facts(new[number]))
    if not paths and list(old) != list(new):
        paths.append("members")  # the same people in another order
    return paths


def _fact_paths(prefix: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    return [
        f"{prefix}.{name}"
        for name in sorted(before.keys() | after.keys())
        if before.get(name) != after.get(name)
    ]
