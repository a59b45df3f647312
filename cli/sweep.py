"""`zhida sweep`: every stored profile against the catalogue, resumable (over store.sweep.run).

`--engine spark [--master local[2]]` evaluates the chunks on Apache Spark (store.sweep.spark,
the optional `spark` extra); the writes stay here, on the same path as the local sweep.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from cli.base import DEFAULT_ROOT, Root, app, err, load, on_date, open_db, out, progress

if TYPE_CHECKING:
    from store.sweep.run import Evaluator, SweepReport

DEFAULT_CHUNK = 20_000  # profiles per transaction: store.sweep.run.DEFAULT_CHUNK (a test checks)

_KINDS = ("newly_eligible", "no_longer_eligible", "amount_changed", "became_undetermined")


@app.command("sweep")
def sweep(
    on: Annotated[
        str | None, typer.Option(help="评估日期 YYYY-MM-DD（默认今天 Asia/Shanghai，不晚于今天）")
    ] = None,
    region: Annotated[str | None, typer.Option(help="只普查区划代码以这些数字开头的地区")] = None,
    chunk_size: Annotated[int, typer.Option(help="每个事务的档案数")] = DEFAULT_CHUNK,
    engine_name: Annotated[
        str, typer.Option("--engine", help="评估引擎：local（本进程）或 spark（需可选组件 spark）")
    ] = "local",
    master: Annotated[
        str | None,
        typer.Option(
            help="Spark master，如 local[2]、yarn（默认 local[2]；spark-submit 下用其设置）"
        ),
    ] = None,
    root: Root = DEFAULT_ROOT,
) -> None:
    """普查 sweep：全部已存档案对照政策目录，存入享受资格、变化与通知；中断后可续跑。"""
    from rich.markup import escape

    from store.db import migrate
    from store.sweep.run import RegionError, SweepConflict, SweepDateError, begin_sweep, run_sweep
    from store.sweep.spark import INSTALL_HINT, SparkUnavailable, master_problem, spark_installed

    catalogue, day = load(root), on_date(on, future=False)
    if chunk_size < 1:
        err.print("[red]--chunk-size：应为正整数（每个事务的档案数）[/]")
        raise typer.Exit(2)
    if engine_name not in ("local", "spark"):
        err.print(f"[red]--engine：不认识 {escape(engine_name)!r}；应为 local 或 spark[/]")
        raise typer.Exit(2)
    if engine_name == "spark" and not spark_installed():  # before any write
        err.print(
            f"[red]--engine spark：未安装可选组件 spark（pyspark）；请运行 {escape(INSTALL_HINT)}；"
            "或改用 --engine local[/]",
            highlight=False,
        )
        raise typer.Exit(2)
    problem = master_problem(master) if engine_name == "spark" else None
    if problem is not None:  # before any write, and before the JVM's launcher
        err.print(f"[red]{escape(problem)}[/]", highlight=False)
        raise typer.Exit(2)
    engine = open_db()
    try:
        migrate(engine)
        start = begin_sweep(engine=engine, catalogue=catalogue, root=root, on=day, region=region)
        for said in start.abandoned:
            out.print(f"已放弃未完成的普查 {escape(said)}", highlight=False)
        if start.resumed:
            after = f"户 id {start.after_household_id} 之后"
            if start.after_enterprise_id:
                after += f"、企业 id {start.after_enterprise_id} 之后"
            out.print(f"续跑普查 {start.run_id}：从{after}继续", highlight=False)
        with _evaluator(engine_name, master) as evaluator, progress("普查") as advance:
            report = run_sweep(
                engine=engine,
                start=start,
                catalogue=catalogue,
                chunk_size=chunk_size,
                progress=advance,
                evaluator=evaluator,
            )
    except (RegionError, SweepDateError, SweepConflict, SparkUnavailable) as exc:
        err.print(f"[red]{escape(str(exc))}[/]", highlight=False)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    _summary(report)


@contextmanager
def _evaluator(name: str, master: str | None) -> Iterator[Evaluator | None]:
    """The sweep's evaluator: None (the local engine), or one on a Spark session."""
    if name != "spark":
        yield None
        return
    from store.sweep.spark import SparkEvaluator, spark_session

    out.print("启动 Spark（JVM 启动约 20 秒）…", highlight=False)
    with spark_session(master) as spark:
        yield SparkEvaluator(spark)


_KIND_LABELS = {
    "newly_eligible": "新增符合",
    "no_longer_eligible": "不再符合",
    "amount_changed": "金额变化",
    "became_undetermined": "转为待补充",
}


def _summary(report: SweepReport) -> None:
    counts = report.counts
    statuses = counts.get("entitlements", {})
    changes = counts.get("changes", {})
    out.print(
        f"普查 {report.run_id} 完成：{counts.get('households', 0):,} 户、"
        f"{counts.get('enterprises', 0):,} 家企业 · 新开享受区间：符合 "
        f"{statuses.get('eligible', 0):,}、待补充 {statuses.get('undetermined', 0):,}、"
        f"结束 {statuses.get('ineligible', 0):,}（结果未变的不写入）",
        highlight=False,
    )
    out.print(
        "变化：" + "、".join(f"{_KIND_LABELS[k]} {changes.get(k, 0):,}" for k in _KINDS),
        highlight=False,
    )
    here = report.swept_here
    out.print(
        f"本进程普查 {here.get('household', 0):,} 户"
        f"（每秒 {report.per_second('household'):,.0f} 户）、"
        f"{here.get('enterprise', 0):,} 家企业",
        highlight=False,
    )
