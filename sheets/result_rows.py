"""The rows of a result workbook, per kind of subject: who, what they get, what they must bring.

A household's entitlement names the head (with the FULL ID number: the department pays that
person); its 待补充 rows name the member each fact is asked of (一次性告知: one row per
household or member and fact, the fact's Chinese label first, ID numbers masked). An
enterprise's rows name it by credit code, name and region. Units, periods and delivery kinds
are written in Chinese (`CNY` → 元, `month` → 月, `confirm` → 确认申领); an eligible result
whose amount is not yet known says 金额待核定.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from matcher.explain.asks import asks_for, fact_label
from matcher.explain.report import AMOUNT_PENDING, delivery_label, period_label, unit_label
from matcher.interpreter.match import PolicyResult
from matcher.profiles.derive import enterprise_facts, household_facts
from matcher.profiles.masking import mask_id
from matcher.profiles.parse import Enterprise, Household, Member
from rules.catalogue import Catalogue
from sheets.template import RELATION_LABELS, Subject

__all__ = ["DEPARTMENT_HEADERS", "MISSING_HEADERS", "Layout", "layout_for"]

_HOUSEHOLD_WHO = ["户编号", "村（居）代码", "户主姓名", "户主身份证号"]
_ENTERPRISE_WHO = ["统一社会信用代码", "企业名称", "所在地区代码"]
_WHAT = ["政策编号", "政策名称", "金额", "单位", "周期", "办理方式", "一件事"]
_ASK = ["待补充信息", "字段名", "含义", "来源部门", "涉及政策"]
_MEMBER = ["成员姓名", "成员身份证号", "与户主关系"]
WHOLE_HOUSEHOLD = "（全户）"
DEPARTMENT_HEADERS: dict[Subject, list[str]] = {
    "household": [*_HOUSEHOLD_WHO, *_WHAT],
    "enterprise": [*_ENTERPRISE_WHO, *_WHAT],
}
MISSING_HEADERS: dict[Subject, list[str]] = {
    "household": ["户编号", "村（居）代码", "户主姓名", *_MEMBER, *_ASK],
    "enterprise": [*_ENTERPRISE_WHO, *_ASK],
}


@dataclass(frozen=True)
class Layout:
    """How one kind of subject is written: its headers and its rows."""

    subject: Subject
    catalogue: Catalogue
    on: date

    @property
    def department(self) -> list[str]:
        return DEPARTMENT_HEADERS[self.subject]

    @property
    def missing(self) -> list[str]:
        return MISSING_HEADERS[self.subject]

    def entitlement(self, subject: Any, r: PolicyResult) -> list[Any]:
        """A department sheet's row: who, the policy, the amount (or 金额待核定)."""
        amount: Any = r.amount if r.amount is not None else (AMOUNT_PENDING if r.unit else None)
        what = [r.policy_id, r.title, amount, unit_label(r.unit), period_label(r.period),
                delivery_label(r.delivery), r.bundle]  # fmt: skip
        return [*self._who(subject, full_id=True), *what]

    def asks(self, subject: Any, results: Sequence[PolicyResult]) -> list[list[Any]]:
        """The 待补充 rows: one per (household or member, fact) that could change a result."""
        if not any(r.missing for r in results):
            return []
        if isinstance(subject, Household):
            facts = household_facts(subject, self.on)
        else:
            facts = enterprise_facts(subject, self.on)
        rows = []
        for ask in asks_for(self.catalogue, facts, self.on, results):
            fact = self.catalogue.facts.get(ask.fact)
            meaning, source = (fact.meaning, fact.source) if fact else ("", "")
            what = [fact_label(ask.fact, self.catalogue), ask.fact, meaning, source,
                    "；".join(ask.policies)]  # fmt: skip
            rows.append([*self._asked(subject, ask.member), *what])
        return rows

    def _who(self, subject: Any, *, full_id: bool) -> list[Any]:
        if isinstance(subject, Enterprise):
            return [subject.credit_code, subject.name, subject.region_code]
        head = _head(subject)
        number = head.id_number if full_id else mask_id(head.id_number)
        return [subject.household_id, subject.region_code, head.name, number]

    def _asked(self, subject: Any, member: int | None) -> list[Any]:
        if isinstance(subject, Enterprise):
            return self._who(subject, full_id=False)
        where = self._who(subject, full_id=False)[:3]
        if member is None:
            return [*where, WHOLE_HOUSEHOLD, "", ""]
        m = subject.members[member]
        return [*where, m.name, mask_id(m.id_number), RELATION_LABELS.get(m.relation, m.relation)]


def _head(household: Household) -> Member:
    return next(m for m in household.members if m.relation == "head")


def layout_for(subject: Subject, catalogue: Catalogue, on: date) -> Layout:
    """The layout of a result workbook for households or enterprises."""
    return Layout(subject, catalogue, on)
