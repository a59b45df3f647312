"""Request and response shapes of the policy writer's endpoints."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec

from matcher.explain.drafts import DRAFT_NAME

__all__ = [
    "CaseResultOut",
    "DiagnosticOut",
    "DraftIn",
    "DraftReportOut",
    "ImpactIn",
    "ImpactOut",
    "ImpactPolicyOut",
    "ImpactRowOut",
    "PublishOut",
]

MAX_DRAFT = 256 * 1024  # characters; the safe loader refuses a file over 256 KB too

DraftText = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_DRAFT)]
DraftName = Annotated[str, msgspec.Meta(pattern=DRAFT_NAME.pattern, max_length=64)]
Region = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,12}$")]


class DraftIn(msgspec.Struct, forbid_unknown_fields=True):
    """A draft policy file: its text (YAML, UTF-8) and its file name (named in every finding;
    `water.yaml`)."""

    text: DraftText
    name: DraftName = "draft.yaml"


class ImpactIn(DraftIn, forbid_unknown_fields=True):
    """A draft, the evaluation date (default today) and a region inside the writer's own (a
    prefix of 1–12 digits; default the writer's whole region)."""

    on: date | None = None
    region: Region | None = None


class DiagnosticOut(msgspec.Struct):
    """One finding: where (`water.yaml:14:9`), what, and a hint."""

    severity: str
    where: str
    file: str
    line: int
    col: int
    message: str
    hint: str | None


class CaseResultOut(msgspec.Struct):
    """One test case run: passed, or each way the result differed from `expect`."""

    policy_id: str
    name: str
    where: str
    passed: bool
    problems: list[str]


class DraftReportOut(msgspec.Struct):
    """A draft linted (and, for `/test`, its cases run: `ran` false when an error blocks them)."""

    name: str
    ok: bool
    errors: int
    warnings: int
    diagnostics: list[DiagnosticOut]
    ran: bool
    passed: int
    failed: int
    cases: list[CaseResultOut]


class ImpactRowOut(msgspec.Struct):
    """One township or village: who gains, loses, is raised or lowered; the amount's change per
    period (a string, to the fen)."""

    region: str
    name: str | None
    gain: int
    loss: int
    raised: int
    lowered: int
    amount_delta: str


class ImpactPolicyOut(msgspec.Struct):
    """One policy whose results change: its totals, by township and by village."""

    policy_id: str
    gain: int
    loss: int
    raised: int
    lowered: int
    amount_delta: str
    townships: list[ImpactRowOut]
    villages: list[ImpactRowOut]


class ImpactOut(msgspec.Struct):
    """`zhida impact` as data: the stored subjects read, and every change."""

    policy_id: str
    replaces: bool
    subject: str
    on: date
    region: str | None
    subjects: int
    policies: list[ImpactPolicyOut]


class PublishOut(msgspec.Struct):
    """A published draft: the file written, the catalogue version now served."""

    policy_id: str
    file: str
    replaced: bool
    version: str
    new_version: bool
    policies: int
    published_by: str
    published_at: datetime
