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

_HEADERS = ("新增", "减少", "提高", "降低", "金额变化（元）")


@app.command("impact")
def impact(
    policy_file: Annotated[Path, typer.Argument(help="改动后（尚未发布）的政策文件")],
    on: Annotated[str | None, typer.Option(help="评估日期 YYYY-MM-DD（默认今天）")] = None,
    region: Annotated[str | None, typer.Option(help="只看区划代码以此开头的地区")] = None,
    root: Root = DEFAULT_ROOT,
) -> None:
    """影响评估 impact：把改动的政策文件与现行目录在已存档案上比较，不写入任何数据。"""
    from rich.markup import escape
    from rich.text import Text

    from matcher.profiles.subjects import KINDS
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
    what = "替换" if candidate.replaced else "新增"
    kind = KINDS[subject]
    out.print(
        Text(
            f"{policy_file} {what}政策 {candidate.policy_id} · 已存档案 {report.subjects:,} "
            f"{kind.counted}（{day}）· 未写入任何数据"
        )
    )
    _print(report)


def _print(report: ImpactReport) -> None:
    from matcher.explain.impact import by_township
    from matcher.profiles.regions import load_regions

    if not report.villages:
        out.print("无人新增、减少或金额变化", highlight=False)
        return
    towns, names = by_township(report.villages), load_regions()
    for pid, t in sorted(report.totals().items()):
        out.print(
            f"\n{pid}：新增 +{t.gain:,}，减少 −{t.loss:,}，提高 {t.raised:,}，"
            f"降低 {t.lowered:,}，每期金额变化 {t.amount_delta:+,.2f} 元",
            highlight=False,
        )
        _table(f"{pid} 按村（社区）", pid, report.villages, names)
        _table(f"{pid} 按乡镇（街道）", pid, towns, names)


def _table(title: str, policy: str, tallies: dict[Key, ImpactTally], names: RegionTable) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    wide = Console(soft_wrap=True, width=max(out.width, 132))  # a village row fits on one line
    table = Table(title=title, title_justify="left")
    for header in ("区划", "名称", *_HEADERS):
        table.add_column(header, justify="right" if header in _HEADERS else "left")
    for (pid, code), t in sorted(tallies.items()):
        if pid != policy:
            continue
        table.add_row(
            code or "（未知）",
            escape(names.name(code) or ""),
            f"{t.gain:,}",
            f"{t.loss:,}",
            f"{t.raised:,}",
            f"{t.lowered:,}",
            f"{t.amount_delta:+,.2f}",
        )
    wide.print(table)
