"""A county department's batch (`zhida claims export DEPT`): its approved claims and grants to pay.

`export_rows` reads every part of one department, in one county (the claim's region starts
with the county's 6 digits), in state `county_approved` (approved claims) or `granted`
(免申即享 grants waiting for payment): one row per section (policy) of the part. This sheet
is what the department's own payment system ingests, so it is **the one place** full ID
numbers appear: the household head's resident ID number is read from the member table (the
claim's form holds it masked), and each held material's value is read from the stored
profile in full (低保证号, bank account …).

`write_export` writes it as an .xlsx (a csv path writes UTF-8 with BOM instead): Chinese
headers, a sheet named after the department, columns sized to their content, IDs and codes
as text cells, amounts as numbers shown to the fen, formula-looking text escaped by
`sheets.workbook.safe_cell`. The last two columns, 发放日期 and 发放凭证号, are left empty:
the department fills them and hands the same file back to `zhida claims paid`
(`store.claims.payments` reads it).

`audit_export` records who exported what (department, county, rows, the file's SHA-256),
never an ID number.
"""

from __future__ import annotations

import csv
import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter
from sqlalchemy import Engine, Table, select
from sqlmodel import Session

from matcher.explain.report import period_label, unit_label
from sheets.workbook import safe_cell, sheet_name
from store.audit.log import AuditEntry, append
from store.db import read_session, write_session
from store.tables.claims import Claim, ClaimPart, ClaimStep
from store.tables.profiles import EnterpriseRow, HouseholdRow, MemberRow

__all__ = [
    "EXPORT_STATES",
    "FULL_COLUMNS",
    "HEADERS",
    "KIND_LABELS",
    "PAYMENT_HEADERS",
    "ExportRow",
    "audit_export",
    "export_batch",
    "export_rows",
    "file_sha256",
    "write_export",
]

_CLAIM: Table = Claim.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_PART: Table = ClaimPart.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_STEP: Table = ClaimStep.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_HOUSEHOLD: Table = HouseholdRow.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_MEMBER: Table = MemberRow.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_ENTERPRISE: Table = EnterpriseRow.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__

EXPORT_STATES = ("county_approved", "granted")
KIND_LABELS = {"grant": "免申即享", "claim": "申领", "bundle": "一件事"}
_FEN = Decimal("0.01")
PAYMENT_HEADERS = ("发放日期", "发放凭证号")
HEADERS = (
    "申领编号", "分项编号", "类型", "户编号/信用代码", "户主姓名/企业名称",
    "身份证号/信用代码", "村（社区）代码", "政策编号", "政策名称", "金额", "单位", "周期",
    "起始日期", "截止日期", "已掌握材料", "审批日期", *PAYMENT_HEADERS,
)  # fmt: skip
# Written in full by design (the PII scan lets them through): IDs, accounts, credit codes.
FULL_COLUMNS = ("户编号/信用代码", "身份证号/信用代码", "已掌握材料")
_TEXT_COLUMNS = frozenset({3, 4, 5, 6, 7, 12, 13, 14, 15, 16, 17})  # 0-based: text (@)


@dataclass(frozen=True)
class ExportRow:
    """One section (policy) of one department's part, as the department pays it."""

    claim_id: int
    part_id: int
    kind: str  # 免申即享 | 申领 | 一件事
    subject_key: str  # 户编号 or credit code
    name: str | None  # the household head's name, or the enterprise's
    id_number: str  # the head's FULL resident ID number, or the credit code
    region: str  # the village code (an enterprise: its region code)
    policy_id: str
    title: str
    amount: Decimal | None  # to the fen; None while 金额待核定
    unit: str | None
    period: str | None
    effective_from: date | None
    ends_on: date | None  # payments stop from this day (the entitlement ended); None: open
    materials: str  # the held materials, `name：value` joined by `；`, values in full
    approved_on: date | None

    def cells(self) -> list[Any]:
        """The row's cells in `HEADERS` order (the two payment columns empty)."""
        return [
            self.claim_id, self.part_id, self.kind, self.subject_key, self.name or "",
            self.id_number, self.region, self.policy_id, self.title, self.amount,
            unit_label(self.unit), period_label(self.period),
            self.effective_from.isoformat() if self.effective_from else "",
            self.ends_on.isoformat() if self.ends_on else "", self.materials,
            self.approved_on.isoformat() if self.approved_on else "", "", "",
        ]  # fmt: skip


def _amount(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text).quantize(_FEN, rounding=ROUND_HALF_UP)


def _people(session: Session, kind: str, ids: set[int]) -> dict[int, tuple[str | None, str]]:
    """(name, full ID number or credit code) of each subject: the head of a household."""
    if not ids:
        return {}
    conn = session.connection()
    if kind == "enterprise":
        e = _ENTERPRISE.c
        found = select(e.id, e.name, e.credit_code).where(e.id.in_(sorted(ids)))
        return {r.id: (r.name, r.credit_code) for r in conn.execute(found)}
    m = _MEMBER.c
    query = select(m.household_id, m.name, m.id_number, m.relation, m.position)
    query = query.where(m.household_id.in_(sorted(ids))).order_by(m.household_id, m.position)
    out: dict[int, tuple[str | None, str]] = {}
    for r in conn.execute(query):
        if r.relation == "head" or r.household_id not in out:  # the head, else the first member
            out[r.household_id] = (r.name, r.id_number)
    return out


def _facts(session: Session, kind: str, ids: set[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    table = _ENTERPRISE if kind == "enterprise" else _HOUSEHOLD
    query = select(table.c.id, table.c.facts).where(table.c.id.in_(sorted(ids)))
    return {r.id: dict(r.facts or {}) for r in session.connection().execute(query)}


def _held_text(materials: Sequence[dict[str, Any]], facts: dict[str, Any]) -> str:
    held = []
    for m in materials:
        if m.get("status") == "held" and m.get("from"):
            value = facts.get(m["from"])
            if value not in (None, ""):
                held.append(f"{m['name']}：{value}")
    return "；".join(held)


def _approved_on(
    session: Session, part_ids: list[int], claim_ids: list[int]
) -> tuple[dict[int, date], dict[int, date]]:
    """Each part's `approve` day (by part id) and each grant's `grant` day (by claim id)."""
    s = _STEP.c
    conn = session.connection()
    by_part: dict[int, date] = {}
    query = select(s.part_id, s.on_date).where(s.part_id.in_(part_ids), s.action == "approve")
    for r in conn.execute(query.order_by(s.id)):
        by_part[r.part_id] = r.on_date
    granted: dict[int, date] = {}
    query = select(s.claim_id, s.on_date).where(s.claim_id.in_(claim_ids), s.action == "grant")
    for r in conn.execute(query.order_by(s.id)):
        granted[r.claim_id] = r.on_date
    return by_part, granted


def export_rows(session: Session, *, department: str, county: str) -> list[ExportRow]:
    """Every section of `department`'s parts waiting for payment in `county` (module docstring).

    Args:
        session: a session.
        department: the department's name, exactly as the policies name it.
        county: the county's 6-digit code; a claim's region must start with it.

    Returns:
        One row per section, by claim id, part id and policy id.
    """
    c, p = _CLAIM.c, _PART.c
    query = (
        select(p.id, p.claim_id, p.sections, p.ends_on, c.kind, c.subject_kind, c.subject_id,
               c.subject_key, c.region, c.materials)
        .join(_CLAIM, c.id == p.claim_id)
        .where(p.department == department, p.state.in_(EXPORT_STATES),
               c.region.startswith(county, autoescape=True))
        .order_by(p.claim_id, p.id)
    )  # fmt: skip
    parts = session.connection().execute(query).all()
    if not parts:
        return []
    ids: dict[str, set[int]] = defaultdict(set)
    for r in parts:
        ids[r.subject_kind].add(r.subject_id)
    people = {k: _people(session, k, v) for k, v in ids.items()}
    facts = {k: _facts(session, k, v) for k, v in ids.items()}
    approved, granted = _approved_on(session, [r.id for r in parts], [r.claim_id for r in parts])
    rows = []
    for r in parts:
        name, id_number = people[r.subject_kind].get(r.subject_id, (None, ""))
        mine = [m for m in r.materials or [] if department in m.get("departments", [department])]
        held = _held_text(mine, facts[r.subject_kind].get(r.subject_id, {}))
        on = approved.get(r.id) or granted.get(r.claim_id)
        for s in sorted(r.sections, key=lambda x: x["policy_id"]):
            if s.get("department", department) != department:
                continue
            rows.append(ExportRow(
                claim_id=r.claim_id, part_id=r.id, kind=KIND_LABELS.get(r.kind, r.kind),
                subject_key=r.subject_key, name=name, id_number=id_number, region=r.region,
                policy_id=s["policy_id"], title=s["title"], amount=_amount(s.get("amount")),
                unit=s.get("unit"), period=s.get("period"),
                effective_from=date.fromisoformat(s["from"]) if s.get("from") else None,
                ends_on=date.fromisoformat(s["ends_on"]) if s.get("ends_on") else r.ends_on,
                materials=held, approved_on=on,
            ))  # fmt: skip
    return rows


def _widths(rows: Sequence[ExportRow]) -> list[int]:
    widths = [max(8, 2 * len(h) + 2) for h in HEADERS]
    for row in rows[:2000]:  # enough rows to size by; a long tail changes nothing visible
        for i, v in enumerate(row.cells()):
            text = str(v) if v is not None else ""
            wide = sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)
            widths[i] = min(60, max(widths[i], wide + 2))
    return widths


def write_export(rows: Sequence[ExportRow], path: Path, *, department: str = "发放清单") -> str:
    """Write the batch to `path` (.xlsx; a .csv path writes UTF-8 with BOM).

    Args:
        rows: the rows of `export_rows`.
        path: the file to write (replaced).
        department: the sheet's name (made valid: at most 31 characters, no `[]:*?/\\`).

    Returns:
        The SHA-256 (hex) of the file written.
    """
    if path.suffix.lower() == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            out = csv.writer(handle)
            out.writerow(HEADERS)
            for row in rows:
                cells = [safe_cell(v) for v in row.cells()]
                out.writerow(["" if v is None else v for v in cells])
        return file_sha256(path)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(sheet_name(department, set()))
    sheet.freeze_panes = "A2"
    for i, width in enumerate(_widths(rows), start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    sheet.append(list(HEADERS))
    for row in rows:
        sheet.append([_cell(sheet, i, safe_cell(v)) for i, v in enumerate(row.cells())])
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(HEADERS))}{len(rows) + 1}"
    book.save(path)
    return file_sha256(path)


def _cell(sheet: Any, index: int, value: Any) -> Any:
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, Decimal):
        cell.number_format = "0.00"
    elif index in _TEXT_COLUMNS:
        cell.number_format = "@"  # a text cell: Excel keeps every digit of an ID number
    return cell


def file_sha256(path: Path) -> str:
    """The SHA-256 (hex) of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def audit_export(
    session: Session, *, who: str, department: str, county: str, count: int, sha256: str
) -> None:
    """Record an export in the audit log: who, the department, the county, rows, the file hash."""
    append(
        session=session,
        entry=AuditEntry(
            actor=who, action="claims.export", subject=f"department:{county}/{department}",
            inputs_hash=sha256,
            details={"department": department, "county": county, "count": count,
                     "sha256": sha256},
        ),
    )  # fmt: skip


def export_batch(
    engine: Engine, *, who: str, department: str, county: str, path: Path
) -> tuple[list[ExportRow], str]:
    """Read `department`'s batch in `county`, write it to `path` and audit the export (the
    CLI's `zhida claims export` and the API's `GET /api/claims/export`).

    Args:
        engine: the database.
        who: the user exporting (audited).
        department: the department.
        county: its county's 6-digit code.
        path: the file to write (.xlsx, or .csv).

    Returns:
        The rows written and the file's SHA-256.

    Raises:
        OSError: the file could not be written (nothing is audited).
    """
    with read_session(engine) as session:
        rows = export_rows(session, department=department, county=county)
    digest = write_export(rows, path, department=department)
    with write_session(engine) as session:
        audit_export(session, who=who, department=department, county=county, count=len(rows),
                     sha256=digest)  # fmt: skip
    return rows, digest
