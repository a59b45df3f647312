"""The village centre's spreadsheet commands: demo-data, template, batch (over store/)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.base import (
    DEFAULT_ROOT,
    Root,
    app,
    count,
    err,
    folder_to_make,
    in_folder,
    load,
    on_date,
    out,
    progress,
)

if TYPE_CHECKING:
    from sheets.batch import BatchReport


@app.command("demo-data")
def demo_data(
    out_dir: Annotated[Path, typer.Option("--out", help="写入的文件夹")],
    households: Annotated[int, typer.Option(help="生成的户数")] = 1000,
    enterprises: Annotated[int, typer.Option(help="生成的企业数")] = 100,
    seed: Annotated[int, typer.Option(help="随机种子：同一种子生成同样的文件")] = 1,
    as_of: Annotated[str, typer.Option(help="计算年龄的日期 YYYY-MM-DD")] = "2025-03-01",
    root: Root = DEFAULT_ROOT,
) -> None:
    """生成演示数据 demo-data：合成人口写成 households.* 与 enterprises.*（xlsx、csv、parquet）。"""
    from synth.enterprises import Enterprises
    from synth.files import write_demo_data
    from synth.households import Population

    day = on_date(as_of, "--as-of")
    households, enterprises = count(households, "--households"), count(enterprises, "--enterprises")
    catalogue, out_dir = load(root), folder_to_make(out_dir, "--out")
    pop = Population(households=households, seed=seed, as_of=day)
    firms = Enterprises(enterprises, seed=seed, as_of=day)
    with progress("生成演示数据") as advance:
        files = write_demo_data(out_dir, catalogue.facts, pop, firms, progress=advance)
    out.print(f"{files.households:,} 户 / {files.members:,} 人 · {files.enterprises:,} 家企业")
    for path in files.written:
        out.print(f"  已写出 {path}", highlight=False)
    for note in files.skipped:
        out.print(f"  未写出 {note}", style="yellow", highlight=False)


@app.command("template")
def template(
    path: Annotated[Path, typer.Argument(help="要写出的 .xlsx 模板")],
    subject: Annotated[
        str | None, typer.Option(help="household 或 enterprise（默认按文件名判断）")
    ] = None,
    root: Root = DEFAULT_ROOT,
) -> None:
    """生成空白模板 template：户（或企业）信息表，附填写说明页 说明，枚举列有下拉列表。"""
    from matcher.profiles.subjects import KINDS
    from sheets.template import write_template

    kind = subject or ("enterprise" if "enterprise" in path.name.lower() else "household")
    if kind not in ("household", "enterprise") or path.suffix.lower() != ".xlsx":
        err.print("应给出 .xlsx 文件路径，--subject 为 household 或 enterprise", style="red")
        raise typer.Exit(2)
    path = in_folder(path, "模板路径 PATH")
    write_template(path, load(root).facts, KINDS[kind].name)
    what = "企业" if kind == "enterprise" else "户"
    out.print(f"已写出 {path}（{what}信息表模板，含填写说明页 说明、下拉选项）", highlight=False)


@app.command("batch")
def batch(
    source: Annotated[Path, typer.Argument(help="户或企业信息表 .xlsx、.csv 或 .parquet")],
    result: Annotated[Path, typer.Option("--out", help="结果文件 .xlsx 或 .csv")],
    on: Annotated[str | None, typer.Option(help="评估日期 YYYY-MM-DD（默认今天）")] = None,
    subject: Annotated[
        str | None, typer.Option(help="household 或 enterprise（默认按表头判断）")
    ] = None,
    max_rows: Annotated[int, typer.Option(help="行数上限")] = 1_100_000,
    max_xlsx_mb: Annotated[int, typer.Option(help="xlsx 解压后大小上限 MB（上传为 50）")] = 1024,
    root: Root = DEFAULT_ROOT,
) -> None:
    """批量匹配 batch：逐户（或逐家企业）匹配信息表，写出汇总、各部门、待补充和错误。"""
    from rich.markup import escape

    from sheets.batch import run_batch
    from sheets.guards import Limits, SheetError

    if subject not in (None, "household", "enterprise"):
        err.print(f"--subject {escape(subject)!r}：应为 household 或 enterprise", style="red")
        raise typer.Exit(2)
    catalogue, day, result = load(root), on_date(on), in_folder(result, "--out")
    count(max_rows, "--max-rows", least=1), count(max_xlsx_mb, "--max-xlsx-mb", least=1)
    limits = Limits(max_rows=max_rows, max_xlsx_uncompressed=max_xlsx_mb * 1024 * 1024)
    try:
        with progress("读取并匹配") as advance:
            report = run_batch(
                source, result, catalogue, on=day, limits=limits, progress=advance,
                subject=subject,  # type: ignore[arg-type]
            )  # fmt: skip
    except SheetError as exc:
        err.print(escape(str(exc)), style="red", highlight=False)
        raise typer.Exit(2) from None
    for line in batch_lines(report):
        out.print(line, highlight=False)


def batch_lines(report: BatchReport) -> list[str]:
    """What `zhida batch` prints: the counts of the summary sheet, the time, the files."""
    from matcher.profiles.subjects import KINDS

    counts = dict(report.counts())
    unit = KINDS[report.subject].counted
    matched = counts.get("已匹配企业数", counts.get("已匹配户数", 0))
    refused = (
        f"{counts['被拒户数']:,} 户、{counts['被拒行数']:,} 行被拒"
        if "被拒户数" in counts
        else f"{counts['被拒行数']:,} 行被拒"
    )
    rows = f"（{counts['已匹配行数']:,} 行）" if "已匹配行数" in counts else ""
    pending = f"（其中 {report.pending:,} 项金额待核定）" if report.pending else ""
    t = report.timings
    lines = [
        f"{matched:,} {unit}已匹配{rows} · {refused}（见 错误 表）· "
        f"{report.eligible:,} 项符合{pending} · {report.undetermined:,} 项待补充",
        f"待补充表 {report.result.missing_rows:,} 行 · "
        f"{len(report.errors):,} 条错误、{len(report.warnings):,} 条警告",
        f"用时 {t.total:.1f} 秒：读取与校验 {t.read:.1f} 秒 · 匹配 {t.match:.1f} 秒 · "
        f"写出 {t.write:.1f} 秒",
    ]
    return lines + [f"  已写出 {path}" for path in report.result.paths]
