"""A profile change as the event path takes it: the stored profile, the facts set, validated.

`changed_profile` reads the stored household (by 户编号) or enterprise (by credit code) in the
caller's transaction, sets or removes the given facts (on the subject, or on one member named
by ID number), and validates the result through `matcher.profiles.parse` against the fact
catalogue at the change's date. Every refusal is a `ProfileChangeError` in Chinese naming the
fact or JSON path, what was found and what was expected; nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from matcher.profiles.errors import ProfileError
from matcher.profiles.masking import mask_id, mask_ids_in_text
from matcher.profiles.parse import Enterprise, Household, parse_enterprise, parse_household
from rules.errors import ZhidaError
from rules.facts import FactCatalogue, FactValue
from store.events.values import unknown_fact
from store.ingest.documents import stored_households
from store.tables.profiles import EnterpriseRow, HouseholdRow

__all__ = ["KINDS", "ProfileChangeError", "changed_profile", "stored_document"]

KINDS = ("household", "enterprise")
_NAMES = {"household": "户编号", "enterprise": "统一社会信用代码"}


class ProfileChangeError(ZhidaError):
    """A change the event path refuses (nothing is written): an unknown household, enterprise
    or member, a fact that cannot be set there, a value the profile cannot hold, or a date
    before the subject's history."""


def stored_document(session: Session, kind: str, key: str) -> tuple[int, dict[str, Any]] | None:
    """The stored (id, document) of a household by 户编号 or an enterprise by credit code."""
    if kind == "household":
        h = HouseholdRow
        row = session.execute(
            select(col(h.id), col(h.household_no), col(h.region_code), col(h.facts)).where(
                col(h.household_no) == key
            )
        ).mappings().first()  # fmt: skip
        if row is None:
            return None
        return row["id"], stored_households(session, [row])[row["id"]]
    e = EnterpriseRow
    found = session.execute(
        select(col(e.id), col(e.name), col(e.region_code), col(e.facts)).where(
            col(e.credit_code) == key
        )
    ).first()
    if found is None:
        return None
    doc = {"credit_code": key, "name": found.name, "region_code": found.region_code,
           "facts": dict(found.facts)}  # fmt: skip
    return found.id, doc


def _set(facts: Mapping[str, Any], changes: Mapping[str, FactValue | None]) -> dict[str, Any]:
    out = {**facts, **{k: v for k, v in changes.items() if v is not None}}
    return {k: v for k, v in out.items() if k not in changes or changes[k] is not None}


def _raw_household(
    doc: Mapping[str, Any], changes: Mapping[str, FactValue | None], member: str | None
) -> dict[str, Any]:
    members = []
    for m in doc["members"]:
        facts = _set(m["facts"], changes) if m["id_number"] == member else m["facts"]
        identity = {k: m[k] for k in ("id_number", "name", "relation") if m[k] is not None}
        members.append({**facts, **identity})
    facts = doc["facts"] if member is not None else _set(doc["facts"], changes)
    head = {"household_id": doc["household_no"], "region_code": doc["region_code"]}
    return {**facts, **{k: v for k, v in head.items() if v is not None}, "members": members}


def _checked_names(
    changes: Mapping[str, FactValue | None], facts: FactCatalogue, level: str
) -> None:
    for name in changes:
        problem = unknown_fact(name, facts, level)  # type: ignore[arg-type]  # a FactLevel
        if problem is not None:
            raise ProfileChangeError(problem)


def changed_profile(
    session: Session,
    *,
    kind: str,
    key: str,
    changes: Mapping[str, FactValue | None],
    facts: FactCatalogue,
    on: date,
    member: str | None = None,
) -> tuple[int, dict[str, Any], Household | Enterprise]:
    """The stored subject's id and document, and the profile with `changes` made, validated.

    Args:
        session: the caller's (write) session.
        kind: "household" or "enterprise".
        key: the 户编号 or the credit code.
        changes: fact → typed value, or None to remove the fact.
        facts: the fact catalogue.
        on: the date of the change (ID numbers born after it are refused).
        member: set the facts on this member (full ID number) instead of the household.

    Raises:
        ProfileChangeError: see the class.
    """
    if kind not in KINDS:
        raise ProfileChangeError(f"对象类型 {kind!r}：应为 household（户）或 enterprise（企业）")
    found = stored_document(session, kind, key)
    if found is None:
        raise ProfileChangeError(
            f"{_NAMES[kind]} {mask_ids_in_text(key)!r} 未找到（not found）：应为已导入的"
            f"{'户' if kind == 'household' else '企业'}（先用 zhida import 导入）"
        )
    subject_id, doc = found
    if member is not None and kind != "household":
        raise ProfileChangeError("--member 只用于户（household）的成员；企业没有成员")
    if member is not None and member not in {m["id_number"] for m in doc["members"]}:
        raise ProfileChangeError(
            f"--member {mask_id(member)}：户 {key} 中没有这位成员；应为该户成员的身份证号"
        )
    _checked_names(changes, facts, "member" if member is not None else kind)
    source = f"{_NAMES[kind]} {mask_ids_in_text(key)}"
    try:
        if kind == "household":
            return (
                subject_id,
                doc,
                parse_household(
                    _raw_household(doc, changes, member), facts, source=source, today=on
                ),
            )
        raw = {**_set(doc["facts"], changes), "credit_code": key}
        raw |= {k: doc[k] for k in ("name", "region_code") if doc[k] is not None}
        return subject_id, doc, parse_enterprise(raw, facts, source=source, today=on)
    except ProfileError as exc:
        raise ProfileChangeError(f"修改后的档案未通过校验（nothing stored）：{exc}") from None
