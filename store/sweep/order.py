"""Which sweep may start: the history only moves forward, and a new run supersedes the others.

- Entitlement intervals are appended in date order (a sweep closes open intervals at its date),
  so a sweep dated before the latest run of an overlapping region is refused
  (`SweepDateError`). Regions overlap when one prefix begins the other ("" is every region).
- Starting a run under another catalogue version, date or region marks every other unfinished
  run `abandoned`, with what differs as its reason (in Chinese: `被普查 9 取代（日期 2025-03-01 →
  2025-03-02）`), audited. What it stored stays; a process
  still sweeping it stops at its next checkpoint (`store.sweep.runs.SweepConflict`).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlmodel import Session, col

from store.audit.log import AuditEntry, append
from store.tables.runs import SweepRun
from store.tables.types import utcnow

__all__ = ["SweepDateError", "abandon_others", "refuse_the_past"]


class SweepDateError(ValueError):
    """A sweep dated before the latest sweep of an overlapping region (history moves forward)."""


def _overlaps(a: str, b: str) -> bool:
    """Whether two region prefixes share a region ("" is every region)."""
    return a.startswith(b) or b.startswith(a)


def refuse_the_past(*, session: Session, on: date, prefix: str) -> None:
    """Refuse a date before the latest run (of any state) of a region overlapping `prefix`.

    Intervals are appended in date order; a run that stopped half way may have opened some at
    its date, so abandoned and unfinished runs count too.
    """
    latest = session.execute(
        select(col(SweepRun.region_prefix), func.max(col(SweepRun.on_date))).group_by(
            col(SweepRun.region_prefix)
        )
    )
    later = [(day, region) for region, day in latest if _overlaps(region, prefix) and day > on]
    if later:
        day, region = max(later)
        raise SweepDateError(
            f"--on {on}：{_region(region)}的享受记录已于 {day} 普查，历史只能向前（history only "
            f"moves forward：普查在其日期关闭区间）；应为 {day} 或之后的日期。要看过去某日的结果，"
            "请查阅已存的历史，或只评估不存储（zhida batch、zhida impact）"
        )


def _region(prefix: str) -> str:
    return f"地区 {prefix} " if prefix else "全部地区"


def _why(old: SweepRun, new: SweepRun) -> str:
    """What differs between an unfinished run and the run that supersedes it."""
    moved = []
    if old.catalogue_version_id != new.catalogue_version_id:
        moved.append(f"政策目录版本 {old.catalogue_version_id} → {new.catalogue_version_id}")
    if old.on_date != new.on_date:
        moved.append(f"日期 {old.on_date} → {new.on_date}")
    if old.region_prefix != new.region_prefix:
        moved.append(f"{_region(old.region_prefix).strip()} → {_region(new.region_prefix).strip()}")
    return f"被普查 {new.id} 取代（{'；'.join(moved) or '键相同'}）"


def abandon_others(
    *, session: Session, keep: SweepRun, catalogue_hash: str, actor: str
) -> tuple[str, ...]:
    """Mark every other unfinished run abandoned, with its reason (audited); what it stored
    stays, and a process still sweeping it stops at its next checkpoint (`SweepConflict`)."""
    others = (
        session.execute(
            select(SweepRun).where(col(SweepRun.state) == "running", col(SweepRun.id) != keep.id)
        )
        .scalars()
        .all()
    )
    said = []
    for run in others:
        run.state, run.finished_at = "abandoned", utcnow()
        run.reason = _why(run, keep)[:300]
        said.append(f"{run.id}：{run.reason}")
        entry = AuditEntry(
            actor=actor,
            action="sweep.abandoned",
            subject=f"sweep:{run.id}",
            catalogue_hash=catalogue_hash,
            details={"reason": run.reason, "by": keep.id},
        )
        append(session=session, entry=entry)
    session.flush()
    return tuple(said)
