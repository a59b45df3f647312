"""Payments recorded back by a department (`zhida claims paid FILE`), idempotent by claim part.

`read_payments` reads an .xlsx (its first sheet) or a UTF-8 .csv with at least the columns
申领编号, 发放日期 and 发放凭证号, and optionally 分项编号 (needed only to name a part of a
department holding several — a claim has at most one part per department, so it may always be
left out). The department's own export (`store.claims.export`) with those two columns filled
is such a file: it has one row per section, so a part's rows repeat the same payment and are
read as one; a row whose 发放日期 and 发放凭证号 are both empty (not paid yet) is skipped.
Every problem names its row and column, what was found and what was expected, in Chinese.

`record_payments` takes, for each payment, the workflow's `pay` step (`store.claims.steps`,
to `paid`, with the payment reference and day, idempotency key `paid:{part id}`), each in its
own transaction: a part already paid with the same reference is counted as already recorded
(a replayed file changes nothing); an unknown claim, a claim of another county or department,
a part not approved (nor granted), a part paid under another reference: each a problem naming
the row, the claim and why — and the valid rows are recorded all the same.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, exists, select

from matcher.profiles.masking import mask_ids_in_text
from rules.clock import today as shanghai_today
from rules.workflow import Actor
from sheets.guards import Limits, SheetError
from sheets.sources import open_rows
from store.claims.errors import ClaimError
from store.claims.export import EXPORT_STATES
from store.claims.steps import StepDone, StepRequest, advance_many
from store.db import read_session
from store.tables.claims import Claim, ClaimPart

__all__ = [
    "COLUMNS",
    "PaymentProblem",
    "PaymentRow",
    "PaymentsDone",
    "read_payments",
    "record_payments",
]

_CLAIM: Table = Claim.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_PART: Table = ClaimPart.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
CLAIM_COL, PART_COL, DATE_COL, REF_COL = "申领编号", "分项编号", "发放日期", "发放凭证号"
COLUMNS = (CLAIM_COL, PART_COL, DATE_COL, REF_COL)
_REQUIRED = (CLAIM_COL, DATE_COL, REF_COL)
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_FORMULA_START = ("=", "+", "-", "@")
_MAX_ID = 2**31  # ids are 32-bit integers: anything larger is not one (an ID number, a typo)
_STATE_LABELS = {"prepared": "待确认", "confirmed": "已确认", "village_accepted": "村级已受理",
                 "township_checked": "乡镇已审核", "returned": "退回补正",
                 "rejected": "不予批准", "withdrawn": "已撤回"}  # fmt: skip


@dataclass(frozen=True)
class PaymentRow:
    """One payment read from the file: a claim (and part), the day paid and the reference."""

    row: int  # the first row of the file holding it (the header is row 1)
    claim_id: int
    part_id: int | None
    paid_on: date
    payment_ref: str


@dataclass(frozen=True)
class PaymentProblem:
    """A row (or the file) refused: where, and what was found vs. expected, in Chinese."""

    row: int | None
    column: str | None
    message: str
    claim_id: int | None = None

    def __str__(self) -> str:
        where = [
            f"第 {self.row} 行" if self.row else "",
            f"「{self.column}」" if self.column else "",
        ]
        place = "".join(where)
        return mask_ids_in_text(f"{place}：{self.message}" if place else self.message)


@dataclass
class PaymentsDone:
    """What `record_payments` did: parts recorded paid, parts paid already, problems."""

    recorded: list[PaymentRow] = field(default_factory=list)
    already: list[PaymentRow] = field(default_factory=list)
    problems: list[PaymentProblem] = field(default_factory=list)


def _shown(value: Any) -> str:
    """A cell as a problem quotes it: ID numbers masked (an ID typed in the wrong column), short."""
    text = mask_ids_in_text(str(value))
    return text if len(text) <= 40 else text[:40] + "…"


def _whole(value: Any) -> int | None:
    """A positive whole number from a cell (calamine reads numbers as floats), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        text = value.strip().lstrip("'")
        value = int(text) if text.isascii() and text.isdigit() else None
    return value if isinstance(value, int) and 0 < value < _MAX_ID else None


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and (m := _DATE.fullmatch(value.strip())):
        try:
            return date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None
    return None


def _ref(value: Any) -> str | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip() if isinstance(value, int | str) else ""
    if text.startswith("'") and text[1:].startswith(_FORMULA_START):
        text = text[1:]  # the export's formula escape (sheets.workbook.safe_cell), undone
    return text if 0 < len(text) <= 120 else None


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _columns(header: Sequence[Any], name: str) -> tuple[dict[str, int], list[PaymentProblem]]:
    found = {str(h).strip(): i for i, h in reversed(list(enumerate(header))) if h is not None}
    where = {c: found[c] for c in COLUMNS if c in found}
    missing = [c for c in _REQUIRED if c not in where]
    if not missing:
        return where, []
    seen = "、".join(str(h) for h in header if not _blank(h)) or "（空）"
    return where, [PaymentProblem(1, c, f"{name} 缺少此列；表头为：{_shown(seen)}；应含列："
                                        f"{'、'.join(_REQUIRED)}（{PART_COL} 可选）")
                   for c in missing]  # fmt: skip


def _row(
    n: int, cells: list[Any], where: dict[str, int], today: date
) -> PaymentRow | PaymentProblem | None:
    def cell(column: str) -> Any:
        i = where.get(column)
        return cells[i] if i is not None and i < len(cells) else None

    if _blank(cell(DATE_COL)) and _blank(cell(REF_COL)):
        return None  # a blank row, or not paid yet: the export's row left empty
    claim = _whole(cell(CLAIM_COL))
    if claim is None:
        return PaymentProblem(
            n, CLAIM_COL, f"值为 {_shown(cell(CLAIM_COL))!r}；应为申领编号（正整数）"
        )
    part = None
    if not _blank(cell(PART_COL)):
        part = _whole(cell(PART_COL))
        if part is None:
            return PaymentProblem(n, PART_COL, f"值为 {_shown(cell(PART_COL))!r}；"
                                  "应为分项编号（正整数），或留空", claim)  # fmt: skip
    paid_on = _date(cell(DATE_COL))
    if paid_on is None:
        found = "空" if _blank(cell(DATE_COL)) else repr(_shown(cell(DATE_COL)))
        return PaymentProblem(n, DATE_COL, f"值为 {found}；应为发放日期 YYYY-MM-DD", claim)
    if paid_on > today:
        return PaymentProblem(n, DATE_COL, f"{paid_on.isoformat()} 晚于今天 "
                              f"{today.isoformat()}；应为已发放的日期", claim)  # fmt: skip
    ref = _ref(cell(REF_COL))
    if ref is None:
        found = "空" if _blank(cell(REF_COL)) else repr(_shown(cell(REF_COL)))
        return PaymentProblem(n, REF_COL, f"值为 {found}；应为发放凭证号（1–120 个字符）", claim)
    return PaymentRow(n, claim, part, paid_on, ref)


def read_payments(
    path: Path, *, today: date | None = None
) -> tuple[list[PaymentRow], list[PaymentProblem]]:
    """Read a payment file (module docstring).

    Args:
        path: an .xlsx or .csv file.
        today: a 发放日期 after this day is refused (default: today in Asia/Shanghai).

    Returns:
        The payments (one per claim part: a part's repeated rows read as one) and the problems,
        each naming its row and column.
    """
    if path.suffix.lower() not in (".xlsx", ".csv"):
        found = path.suffix or "无扩展名"
        return [], [
            PaymentProblem(None, None, f"{path.name}：文件类型为 {found}；应为 .xlsx 或 .csv")
        ]
    try:
        source = open_rows(path, Limits())
    except SheetError as exc:
        return [], [PaymentProblem(None, None, str(exc))]
    where, problems = _columns(source.header, path.name)
    if problems:
        return [], problems
    day = today or shanghai_today()
    rows: dict[tuple[int, int | None], PaymentRow] = {}
    try:
        for n, cells in source.rows:
            got = _row(n, cells, where, day)
            if isinstance(got, PaymentProblem):
                problems.append(got)
            elif got is not None:
                _merge(rows, got, problems)
    except SheetError as exc:
        problems.append(PaymentProblem(None, None, str(exc)))
    return list(rows.values()), problems


def _merge(rows: dict[tuple[int, int | None], PaymentRow], got: PaymentRow,
           problems: list[PaymentProblem]) -> None:  # fmt: skip
    first = rows.setdefault((got.claim_id, got.part_id), got)
    if first is got or (first.paid_on, first.payment_ref) == (got.paid_on, got.payment_ref):
        return
    problems.append(PaymentProblem(
        got.row, REF_COL, f"申领 {got.claim_id} 在第 {first.row} 行已登记为 "
        f"{first.paid_on.isoformat()}、凭证号 {first.payment_ref}，本行为 {got.paid_on.isoformat()}"
        f"、凭证号 {got.payment_ref}；同一分项应只有一次发放", got.claim_id,
    ))  # fmt: skip


def _parts(
    engine: Engine, claim_ids: list[int], actor: Actor
) -> tuple[dict[int, str], dict[int, list[Any]]]:
    """The claims of `claim_ids` the department can see — in its county, with a part of its
    own — and only its own parts of them, filtered in SQL: what lies outside its scope is
    not found, and no message names another department's part."""
    c, p = _CLAIM.c, _PART.c
    regions: dict[int, str] = {}
    parts: dict[int, list[Any]] = {}
    mine = p.department == actor.department
    with read_session(engine) as session:
        conn = session.connection()
        for i in range(0, len(claim_ids), 1000):
            chunk = claim_ids[i : i + 1000]
            heads = select(c.id, c.region).where(
                c.id.in_(chunk),
                c.region.like(actor.region[:6] + "%"),
                exists().where(p.claim_id == c.id, mine),
            )
            for head in conn.execute(heads):
                regions[head.id] = head.region
                parts[head.id] = []
            query = select(p.id, p.claim_id, p.department, p.state, p.payment_ref, p.paid_on)
            found = list(regions)
            for part in conn.execute(query.where(p.claim_id.in_(found), mine).order_by(p.id)):
                parts[part.claim_id].append(part)
    return regions, parts


def _check(row: PaymentRow, actor: Actor, region: str | None, parts: list[Any]) -> Any:
    """The part a payment row pays, or the problem with it (already paid: the string "already")."""

    def bad(column: str, text: str) -> PaymentProblem:
        return PaymentProblem(row.row, column, text, row.claim_id)

    county = actor.region[:6]
    if region is None or not region.startswith(county) or not parts:
        return bad(CLAIM_COL, f"申领 {row.claim_id} 不存在，或不在本县（{county}），或没有"
                              f"「{actor.department}」的分项：只能登记本部门的发放")  # fmt: skip
    mine = [p for p in parts if p.id == row.part_id] if row.part_id else parts
    if not mine:
        return bad(PART_COL, f"分项 {row.part_id} 不是申领 {row.claim_id} 中「{actor.department}」"
                             "的分项：只能登记本部门的发放")  # fmt: skip
    part = mine[0]
    if part.state == "paid":
        if part.payment_ref == row.payment_ref:
            return "already"
        return bad(REF_COL, f"申领 {row.claim_id} 的分项 {part.id} 已于 {part.paid_on} "
                            f"以凭证号 {part.payment_ref} 登记发放，本行凭证号为 "
                            f"{row.payment_ref}")  # fmt: skip
    if part.state not in EXPORT_STATES:
        label = _STATE_LABELS.get(part.state, part.state)
        return bad(CLAIM_COL, f"申领 {row.claim_id} 的「{part.department}」分项处于「{label}」，"
                              "尚未经县级部门审批（也不是免申即享）：不能登记发放")  # fmt: skip
    return part


def _paid_meanwhile(parts: dict[int, list[Any]], row: PaymentRow, req: StepRequest) -> bool:
    return any(
        p.department == req.department and p.state == "paid" and p.payment_ref == row.payment_ref
        for p in parts.get(row.claim_id, [])
    )


def record_payments(
    engine: Engine, rows: Sequence[PaymentRow], actor: Actor, person: str, root: Path
) -> PaymentsDone:
    """Record the payments of `rows` as `pay` steps (module docstring).

    Args:
        engine: the database.
        rows: the payments of `read_payments`.
        actor: the department user acting (`store.users.actor_of`, role department).
        person: the user's name (audited).
        root: the policies folder (the workflow).

    Returns:
        The rows recorded, the rows already recorded (same part, same reference) and the
        problems, each naming its row, the claim and why.
    """
    done = PaymentsDone()
    regions, parts = _parts(engine, sorted({r.claim_id for r in rows}), actor)
    asked: list[tuple[PaymentRow, StepRequest]] = []
    for row in rows:
        found = _check(row, actor, regions.get(row.claim_id), parts.get(row.claim_id, []))
        if isinstance(found, PaymentProblem):
            done.problems.append(found)
        elif found == "already":
            done.already.append(row)
        else:
            asked.append((row, StepRequest(
                claim_id=row.claim_id, actor=actor, person=person, on=row.paid_on,
                to_state="paid", department=found.department, key=f"paid:{found.id}",
                payment_ref=row.payment_ref, paid_on=row.paid_on,
            )))  # fmt: skip
    results = advance_many(engine, [req for _, req in asked], root=root)
    # a refusal may be a concurrent run of the same file having paid the part first: seen as a
    # version conflict, or — when that run committed before this one read — as a part already
    # `paid`; either way the part's stored state says which
    raced = sorted({row.claim_id for (row, _), r in zip(asked, results, strict=True)
                    if isinstance(r, ClaimError)})  # fmt: skip
    now = _parts(engine, raced, actor)[1] if raced else {}
    for (row, req), result in zip(asked, results, strict=True):
        if isinstance(result, ClaimError) and _paid_meanwhile(now, row, req):
            done.already.append(row)  # another run of the same file paid it meanwhile
        elif isinstance(result, ClaimError):
            done.problems.append(PaymentProblem(row.row, CLAIM_COL, str(result), row.claim_id))
        elif isinstance(result, StepDone) and result.replayed:
            done.already.append(row)
        else:
            done.recorded.append(row)
    return done
