"""The two kinds of subject, described once; a raw profile of either kind to the facts engines read.

Household and enterprise code paths differ only in what `SubjectKind` says: the natural key
(户编号 / 统一社会信用代码), the fact levels a profile carries, the words an operator reads (户 /
家企业), the template's sheet title, and the functions that validate a raw profile and derive
its facts. Code that would otherwise branch on `subject == "household"` looks the kind up in
`KINDS` (or `kind_of_profile` for a raw profile) instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from matcher.profiles.derive import enterprise_facts, household_facts
from matcher.profiles.facts import Facts
from matcher.profiles.parse import Enterprise, Household, parse_enterprise, parse_household
from rules.facts import FactCatalogue

__all__ = ["KINDS", "SubjectKind", "facts_for", "kind_of_profile"]

Subject = Literal["household", "enterprise"]


@dataclass(frozen=True)
class SubjectKind:
    """What differs between households and enterprises, and nothing else."""

    name: Subject
    label: str  # 家庭 / 企业: what the subject is called
    unit: str  # 户 / 家: the measure word an operator reads in counts
    counted: str  # 户 / 家企业: what a count of them reads as ("3 户", "3 家企业")
    whole: str  # 全户 / 本企业: who a notice addresses as a whole
    key: str  # the natural key field of a profile
    key_label: str  # its column header in a sheet
    levels: tuple[str, ...]  # the fact levels a profile of this kind carries
    sheet_title: str  # the data sheet of its template
    parse: Callable[..., Household | Enterprise]
    derive: Callable[[Any, date], Facts]


KINDS: dict[str, SubjectKind] = {
    "household": SubjectKind(
        name="household",
        label="家庭",
        unit="户",
        counted="户",
        whole="全户",
        key="household_no",
        key_label="户编号",
        levels=("household", "member"),
        sheet_title="户成员",
        parse=parse_household,
        derive=household_facts,
    ),
    "enterprise": SubjectKind(
        name="enterprise",
        label="企业",
        unit="家",
        counted="家企业",
        whole="本企业",
        key="credit_code",
        key_label="统一社会信用代码",
        levels=("enterprise",),
        sheet_title="企业",
        parse=parse_enterprise,
        derive=enterprise_facts,
    ),
}


def kind_of_profile(raw: object) -> SubjectKind:
    """The kind of a raw profile: an enterprise carries a credit code, a household does not."""
    is_enterprise = isinstance(raw, Mapping) and KINDS["enterprise"].key in raw
    return KINDS["enterprise" if is_enterprise else "household"]


def facts_for(
    raw: Mapping[str, Any], subject: str, catalogue: FactCatalogue, on: date, *, source: str
) -> Facts:
    """Validate a flat profile of `subject` kind and derive its facts at `on`.

    Raises:
        ProfileError: every problem in the profile, with JSON paths.
    """
    kind = KINDS[subject]
    return kind.derive(kind.parse(raw, catalogue, source=source, today=on), on)
