"""The village centre's spreadsheet commands: demo-data, template, batch (over store/)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
    files = write_demo_data(
        out_dir, catalogue.facts, pop, Enterprises(enterprises, seed=seed, as_of=day)
    )
    out.print(f"{files.households:,} 户 / {files.members:,} 人 · {files.enterprises:,} 家企业")
    for path in files.written:
        out.print(f"  wrote {path}", highlight=False)
    for note in files.skipped:
        out.print(f"  [yellow]skipped {note}[/]", highlight=False)


@app.command("template")
def template(
    path: Annotated[Path, typer.Argument(help="要写出的 .xlsx 模板")],
    subject: Annotated[
        str | None, typer.Option(help="household 或 enterprise（默认按文件名判断）")
    ] = None,
    root: Root = DEFAULT_ROOT,
) -> None:
    """生成空白模板 template：户（或企业）信息表，附填写说明页 说明。"""
    from sheets.template import write_template

    kind = subject or ("enterprise" if "enterprise" in path.name.lower() else "household")
    if kind not in ("household", "enterprise") or path.suffix.lower() != ".xlsx":
        err.print("[red]expected an .xlsx path and --subject household|enterprise[/]")
        raise typer.Exit(2)
    path = in_folder(path, "模板路径 PATH")
    write_template(path, load(root).facts, "enterprise" if kind == "enterprise" else "household")
    out.print(f"wrote {path} ({kind} template with a 说明 sheet)", highlight=False)


@app.command("batch")
def batch(
    source: Annotated[Path, typer.Argument(help="户信息表 .xlsx、.csv 或 .parquet")],
    result: Annotated[Path, typer.Option("--out", help="结果文件 .xlsx 或 .csv")],
    on: Annotated[str | None, typer.Option(help="评估日期 YYYY-MM-DD（默认今天）")] = None,
    max_rows: Annotated[int, typer.Option(help="行数上限")] = 1_100_000,
    max_xlsx_mb: Annotated[int, typer.Option(help="xlsx 解压后大小上限 MB（上传为 50）")] = 1024,
    root: Root = DEFAULT_ROOT,
) -> None:
    """批量匹配 batch：逐户匹配村里的信息表，写出汇总、各部门、待补充和错误。"""
    from rich.markup import escape

    from sheets.batch import run_batch
    from sheets.guards import Limits, SheetError

    catalogue, day, result = load(root), on_date(on), in_folder(result, "--out")
    count(max_rows, "--max-rows", least=1), count(max_xlsx_mb, "--max-xlsx-mb", least=1)
    limits = Limits(max_rows=max_rows, max_xlsx_uncompressed=max_xlsx_mb * 1024 * 1024)
    try:
        with progress("读取并匹配") as advance:
            report = run_batch(source, result, catalogue, on=day, limits=limits, progress=advance)
    except SheetError as exc:
        err.print(f"[red]{escape(str(exc))}[/]", highlight=False)
        raise typer.Exit(2) from None
    s = report.stats
    out.print(
        f"{s.households:,} 户已匹配（{s.rows:,} 行）· {s.refused_households:,} 户、"
        f"{s.refused_rows:,} 行被拒（见 errors）· {report.eligible:,} 项符合 · "
        f"{sum(report.result.undetermined.values()):,} 项待补充",
        highlight=False,
    )
    t = report.timings
    out.print(
        f"用时 {t.total:.1f} s：读取与校验 {t.read:.1f} s · 匹配 {t.match:.1f} s · "
        f"写出 {t.write:.1f} s",
        highlight=False,
    )
    for path in report.result.paths:
        out.print(f"  wrote {path}", highlight=False)
