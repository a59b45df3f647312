"""What an import reports: its counts, the refused rows, the warnings, and the errors file.

Refused rows and warnings are `RowError`s (row as the user sees it, column header, value with
ID numbers masked, reason), like the batch's errors sheet. The errors file is a CSV beside
the input (`households-errors.csv`) or where `--errors` says, with ID numbers masked and text
a spreadsheet would run as a formula escaped (RELIABILITY P1, X1).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from matcher.profiles.masking import mask_id, mask_ids_in_text
from sheets.grouping import RowError
from sheets.households import ValidHousehold
from sheets.workbook import safe_cell
from store.ingest.profiles import MovedMember

__all__ = ["ImportReport", "default_errors_path", "move_warnings", "write_errors"]

_ERRORS_HEADER = ["行", "列", "值", "原因", "级别"]  # batch's errors sheet, plus error/warning


@dataclass
class ImportReport:
    """What an import stored, refused and warned about, and whether it resumed a run."""

    run_id: int
    kind: str
    file_name: str
    file_sha256: str
    counts: dict[str, int]
    resumed_after: int | None = None  # the checkpoint row continued from, None: a new run
    skipped: int = 0  # profiles at or before that row, stored by the interrupted run
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    on_date: date | None = None  # the date rows were validated against (None: enterprises)
    abandoned: list[str] = field(default_factory=list)  # "run N: reason", runs this one ended


def move_warnings(moved: Iterable[MovedMember], chunk: list[ValidHousehold]) -> list[RowError]:
    """A warning on the row of each person whose old household is left empty or headless."""
    by_number = {v.household_id: v for v in chunk}
    warnings = []
    for m in moved:
        if not (m.left_empty or m.left_without_head):
            continue
        valid = by_number[m.to_household]
        number = mask_id(valid.household.members[m.position].id_number)
        if m.left_empty:
            state = "已没有成员：请注销该户，或（若仍有人居住）导入该户的各行"
        else:
            state = "已没有户主：请连同新户主导入该户的各行"
        reason = (
            f"此人原在户 {m.from_household}，现已迁入户 {m.to_household}："
            f"户 {m.from_household} {state}"
        )
        warnings.append(RowError(valid.rows[m.position], "身份证号", number, reason))
    return warnings


def default_errors_path(source: Path) -> Path:
    """Where the errors of an import go by default: `<stem>-errors.csv` beside the input."""
    return source.with_name(f"{source.stem}-errors.csv")


def write_errors(path: Path, errors: Sequence[RowError], warnings: Sequence[RowError]) -> Path:
    """Write every refused row, then every warning, as CSV (UTF-8 with BOM, so Excel reads it).

    ID numbers are masked and text a spreadsheet would run as a formula gets a leading `'`
    (RELIABILITY P1, X1), as in the batch result's errors sheet.
    """
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(_ERRORS_HEADER)
        for level, found in (("错误", errors), ("警告", warnings)):
            for e in found:
                cells = [e.row, e.column, e.value, e.reason]
                cells = [mask_ids_in_text(c) if isinstance(c, str) else c for c in cells]
                writer.writerow([safe_cell(c) for c in (*cells, level)])
    return path
