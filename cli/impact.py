"""`zhida impact POLICY_FILE`: who would gain, lose or see their amount change, by village."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cli import DEFAULT_ROOT, Root, _catalogue, _date, app, err, out
from matcher.impact import ImpactTally, Key, by_township
from matcher.regions import load_regions
from rules.candidate import load_candidate
from rules.errors import RuleError
from store.db import migrate, open_engine
from store.impact import ImpactReport, measure_impact
from store.sweep import RegionError, validate_region

_HEADERS = ("新增符合 gain", "不再符合 loss", "金额提高", "金额降低", "金额变化 Δ")


@app.command("impact")
def impact(
    policy_file: Annotated[Path, typer.Argument(help="the edited policy file (not yet published)")],
    on: Annotated[str | None, typer.Option(help="evaluation date, YYYY-MM-DD")] = None,
    region: Annotated[
        str | None, typer.Option(help="only regions whose code starts with these digits")
    ] = None,
    root: Root = DEFAULT_ROOT,
) -> None:
    """Compare a policy file with the catalogue over the stored caseload; writes nothing."""
    current, day = _catalogue(root), _date(on)
    try:
        candidate = load_candidate(root, policy_file)
        prefix = validate_region(region)
    except (RuleError, RegionError) as exc:
        err.print(f"[red]{escape(str(exc))}[/]", highlight=False)
        raise typer.Exit(2) from None
    subject = candidate.catalogue.policies[candidate.policy_id].spec.subject
    engine = open_engine()
    try:
        migrate(engine)
        report = measure_impact(
            engine=engine,
            current=current,
            candidate=candidate.catalogue,
            subject=subject,
            on=day,
            region=prefix,
        )
    finally:
        engine.dispose()
    what = "replaces" if candidate.replaced else "adds"
    out.print(
        f"{policy_file} {what} {candidate.policy_id} · {report.subjects:,} stored "
        f"{subject}s on {day} · nothing was written",
        highlight=False,
    )
    _print(report)


def _print(report: ImpactReport) -> None:
    if not report.villages:
        out.print("no one gains, loses or sees an amount change", highlight=False)
        return
    _table("按村（社区）by village", report.villages)
    _table("按乡镇（街道）by township", by_township(report.villages))
    for pid, t in sorted(report.totals().items()):
        out.print(
            f"{pid}: +{t.gain:,} gain, −{t.loss:,} loss, {t.raised:,} raised, "
            f"{t.lowered:,} lowered, Δ {t.amount_delta:+,.2f} per period",
            highlight=False,
        )


def _table(title: str, tallies: dict[Key, ImpactTally]) -> None:
    names = load_regions()
    table = Table(title=title, title_justify="left")
    for header in ("policy", "region", "名称", *_HEADERS):
        table.add_column(header, justify="right" if header in _HEADERS else "left")
    for (pid, code), t in sorted(tallies.items()):
        table.add_row(
            pid,
            code or "(unknown)",
            escape(names.name(code) or ""),
            f"{t.gain:,}",
            f"{t.loss:,}",
            f"{t.raised:,}",
            f"{t.lowered:,}",
            f"{t.amount_delta:+,.2f}",
        )
    out.print(table)
