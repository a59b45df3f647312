"""`zhida import households FILE` and `zhida import enterprises FILE`: profiles into the database.

A thin shell over `store.ingest.run`: it opens and migrates the database, shows progress on stderr,
prints what was stored and the first refused rows, and writes every refused row to an errors
CSV (beside the input, or `--errors PATH`). An interrupted import is resumed by running the
same command again on the same file.

Exit codes: 0 every row stored; 1 the good rows stored, some refused (see the errors file);
2 nothing stored (the file was refused whole, or another process is importing it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.base import DEFAULT_ROOT, Root, app, err, load, load_reactions, on_date, open_db, out
from cli.base import progress as _bar

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from rules.catalogue import Catalogue
    from sheets.grouping import RowError
    from store.ingest.run import Events, ImportReport

import_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="导入 import：把户或企业信息表存入数据库"
)
app.add_typer(import_app, name="import")

Source = Annotated[Path, typer.Argument(help="信息表 .xlsx、.csv 或 .parquet（模板格式）")]
Errors = Annotated[
    Path | None,
    typer.Option("--errors", help="错误清单 CSV（默认：信息表旁的 <文件名>-errors.csv）"),
]
Show = Annotated[int, typer.Option("--show", help="屏幕上列出的被拒行数（全部见错误清单）")]
Chunk = Annotated[int, typer.Option("--chunk", min=1, help="每个事务的档案数")]
MaxRows = Annotated[int, typer.Option(help="行数上限")]
MaxXlsx = Annotated[int, typer.Option(help="xlsx 解压后大小上限 MB")]
Actor = Annotated[str, typer.Option("--actor", help="导入人（记入审计日志）")]
Run = Callable[["Engine", Callable[[int, int | None], None] | None], "ImportReport"]


@import_app.command("households")
def households(
    source: Source,
    on: Annotated[
        str | None,
        typer.Option(help="评估日期 YYYY-MM-DD（默认：中断的导入所用日期，或今天；不能晚于今天）"),
    ] = None,
    errors: Errors = None,
    show: Show = 20,
    chunk: Chunk = 2000,
    max_rows: MaxRows = 1_100_000,
    max_xlsx_mb: MaxXlsx = 1024,
    actor: Actor = "cli",
    root: Root = DEFAULT_ROOT,
) -> None:
    """导入户信息表 import households：校验通过的行按户编号存入，成员整体替换，变化留痕。

    给出 --on 时，变化的户即时处理（事件、反应、按该日期重新评估、通知），与该批同一事务。
    """
    from sheets.guards import Limits
    from store.ingest.run import import_households

    catalogue, day = load(root), (on_date(on, future=False) if on else None)
    limits = Limits(max_rows=max_rows, max_xlsx_uncompressed=max_xlsx_mb * 1024 * 1024)
    events = _events(catalogue, root, day)
    report = _import(
        source,
        lambda engine, progress: import_households(
            engine=engine, path=source, catalogue=catalogue, on=day, limits=limits,
            chunk=chunk, actor=actor, progress=progress, events=events,
        ),
    )  # fmt: skip
    _finish(report, source, errors, show, "household")


@import_app.command("enterprises")
def enterprises(
    source: Source,
    on: Annotated[
        str | None,
        typer.Option(
            help="事件日期 YYYY-MM-DD（不能晚于今天）：给出时变化的企业即时处理（事件、评估、通知）"
        ),
    ] = None,
    errors: Errors = None,
    show: Show = 20,
    chunk: Chunk = 2000,
    max_rows: MaxRows = 1_100_000,
    max_xlsx_mb: MaxXlsx = 1024,
    actor: Actor = "cli",
    root: Root = DEFAULT_ROOT,
) -> None:
    """导入企业信息表 import enterprises：校验通过的行按统一社会信用代码存入，变化留痕。"""
    from sheets.guards import Limits
    from store.ingest.run import import_enterprises

    catalogue = load(root)
    limits = Limits(max_rows=max_rows, max_xlsx_uncompressed=max_xlsx_mb * 1024 * 1024)
    events = _events(catalogue, root, on_date(on, future=False) if on else None)
    report = _import(
        source,
        lambda engine, progress: import_enterprises(
            engine=engine, path=source, catalogue=catalogue, limits=limits, chunk=chunk,
            actor=actor, progress=progress, events=events,
        ),
    )  # fmt: skip
    _finish(report, source, errors, show, "enterprise")


def _events(catalogue: Catalogue, root: Path, day: date | None) -> Events | None:
    """The event path for an import given a date (`--on`); None without one: profiles are only
    stored, and the next sweep evaluates them."""
    if day is None:
        return None
    from store.ingest.run import Events

    return Events(catalogue, root, load_reactions(root, catalogue), day)


def _import(source: Path, run: Run) -> ImportReport:
    """Run an import on the configured database; a refused file or a conflict exits 2."""
    from rich.markup import escape

    from matcher.profiles.masking import mask_ids_in_text
    from sheets.guards import SheetError
    from store.db import migrate
    from store.events.changes import ProfileChangeError
    from store.ingest.run import ImportConflict

    engine = open_db()
    try:
        migrate(engine)
        with _bar(f"导入 {source.name}") as advance:
            return run(engine, advance)
    except (SheetError, ImportConflict, ProfileChangeError) as exc:
        err.print(f"[red]{escape(mask_ids_in_text(str(exc)))}[/]", highlight=False)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()


def _finish(report: ImportReport, source: Path, errors: Path | None, show: int, kind: str) -> None:
    """Print the outcome, write the errors CSV, exit 1 when rows were refused."""
    from rich.markup import escape

    from matcher.profiles.subjects import KINDS
    from store.ingest.run import default_errors_path, write_errors

    unit = KINDS[kind].unit
    c = report.counts
    for said in report.abandoned:
        out.print(f"已放弃未完成的导入 {escape(said)}", highlight=False)
    if report.resumed_after is not None:
        out.print(
            f"续传导入 {report.run_id}：从第 {report.resumed_after:,} 行之后继续，"
            f"中断前已存入的 {report.skipped:,} 条不再重写"
            + (f"（按 {report.on_date} 校验各行）" if report.on_date else ""),
            highlight=False,
        )
    accepted = c.get("households", c.get("enterprises", 0))
    refused = (
        f"{c['refused_households']:,} 户、{c.get('refused_rows', 0):,} 行被拒"
        if "refused_households" in c
        else f"{c.get('refused_rows', 0):,} 行被拒"
    )
    rows = f"（{c['rows'] - c.get('refused_rows', 0):,} 行）" if unit == "户" else ""
    out.print(
        f"{escape(report.file_name)}：{accepted:,} {unit}通过校验{rows} · {refused} · "
        f"新增 {c['inserted']:,} · 更新 {c['updated']:,} · 未变 {c['unchanged']:,}"
        + (f" · 迁户成员 {c['moved_members']:,}" if c.get("moved_members") else ""),
        highlight=False,
    )
    if report.errors or report.warnings:
        path = write_errors(errors or default_errors_path(source), report.errors, report.warnings)
        _table(report.errors, report.warnings, show)
        out.print(
            f"{len(report.errors):,} 条错误、{len(report.warnings):,} 条警告，全部见 {path}",
            highlight=False,
        )
    if "events" in c:
        out.print(
            f"即时处理：事件 {c['events']:,} · 享受变化 {c.get('entitlement_changes', 0):,} · "
            f"通知入队 {c.get('notices', 0):,}（与各批档案同一事务）",
            highlight=False,
        )
    out.print(
        f"导入批次 {report.run_id} · sha256 {report.file_sha256[:12]}… · 已记入审计日志",
        style="dim",
        highlight=False,
    )
    raise typer.Exit(1 if report.errors else 0)


def _table(errors: list[RowError], warnings: list[RowError], show: int) -> None:
    """The first `show` refused rows and warnings, and how many more the CSV holds."""
    from rich.table import Table
    from rich.text import Text

    from matcher.profiles.masking import mask_ids_in_text

    rows = [("错误", e) for e in errors] + [("警告", w) for w in warnings]
    table = Table(show_lines=False)
    for header in ("行", "列", "值", "原因", "级别"):
        table.add_column(header, overflow="fold")
    for level, e in rows[:show]:
        cells = [str(e.row or ""), e.column, e.value, e.reason]
        style = "red" if level == "错误" else "yellow"
        table.add_row(*(Text(mask_ids_in_text(x)) for x in cells), Text(level, style=style))
    out.print(table)
    if len(rows) > show:
        out.print(f"……另有 {len(rows) - show:,} 条，见错误清单", highlight=False)
