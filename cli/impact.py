"""`zhida impact POLICY_FILE`: who would gain, lose or see their amount change, by village."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.base import DEFAULT_ROOT, Root, app, err, load, on_date, open_db, out

if TYPE_CHECKING:
    from matcher.explain.impact import ImpactTally, Key
    from matcher.profiles.regions import RegionTable
    from store.sweep.impact import ImpactReport

_HEADERS = ("gain 新增", "loss 减少", "raised 提高", "lowered 降低", "Δ amount 金额变化")


@app.command("impact")
def impact(
    policy_file: Annotated[Path, typer.Argument(help="the edited policy file (not yet published)")],
    on: Annotated[str | None, typer.Option(help="evaluation date, YYYY-MM-DD")] = None,
    region: Annotated[
        str | None, typer.Option(help="only regions whose code starts with these digits")
    ] = None,
    root: Root = DEFAULT_ROOT,
) -> None:
    """影响评估 impact：把改动的政策文件与现行目录在已存档案上比较，不写入任何数据。"""
    from rich.markup import escape

    from rules.candidate import load_candidate
    from rules.errors import RuleError
    from store.db import migrate
    from store.sweep.impact import measure_impact
    from store.sweep.run import RegionError, validate_region

    current, day = load(root), on_date(on)
    try:
        candidate = load_candidate(root, policy_file)
        prefix = validate_region(region)
    except (RuleError, RegionError) as exc:
        err.print(f"[red]{escape(str(exc))}[/]", highlight=False)
        raise typer.Exit(2) from None
    subject = candidate.catalogue.policies[candidate.policy_id].spec.subject
    engine = open_db()
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
    from matcher.explain.impact import by_township
    from matcher.profiles.regions import load_regions

    if not report.villages:
        out.print("no one gains, loses or sees an amount change", highlight=False)
        return
    towns, names = by_township(report.villages), load_regions()
    for pid, t in sorted(report.totals().items()):
        out.print(
            f"\n{pid}: +{t.gain:,} gain, −{t.loss:,} loss, {t.raised:,} raised, "
            f"{t.lowered:,} lowered, Δ {t.amount_delta:+,.2f} per period",
            highlight=False,
        )
        _table(f"{pid} by village 按村（社区）", pid, report.villages, names)
        _table(f"{pid} by township 按乡镇（街道）", pid, towns, names)


def _table(title: str, policy: str, tallies: dict[Key, ImpactTally], names: RegionTable) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    wide = Console(soft_wrap=True, width=max(out.width, 132))  # a village row fits on one line
    table = Table(title=title, title_justify="left")
    for header in ("region 区划", "name 名称", *_HEADERS):
        table.add_column(header, justify="right" if header in _HEADERS else "left")
    for (pid, code), t in sorted(tallies.items()):
        if pid != policy:
            continue
        table.add_row(
            code or "(unknown)",
            escape(names.name(code) or ""),
            f"{t.gain:,}",
            f"{t.loss:,}",
            f"{t.raised:,}",
            f"{t.lowered:,}",
            f"{t.amount_delta:+,.2f}",
        )
    wide.print(table)
