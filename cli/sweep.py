"""`zhida sweep`: every stored profile against the catalogue, resumable (over store.sweep.run)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cli.base import DEFAULT_ROOT, Root, app, err, load, on_date, open_db, out, progress

if TYPE_CHECKING:
    from store.sweep.run import SweepReport

DEFAULT_CHUNK = 20_000  # profiles per transaction: store.sweep.run.DEFAULT_CHUNK (a test checks)

_KINDS = ("newly_eligible", "no_longer_eligible", "amount_changed", "became_undetermined")


@app.command("sweep")
def sweep(
    on: Annotated[
        str | None, typer.Option(help="evaluation date, YYYY-MM-DD (default: today)")
    ] = None,
    region: Annotated[
        str | None, typer.Option(help="only regions whose code starts with these digits")
    ] = None,
    chunk_size: Annotated[int, typer.Option(help="profiles per transaction")] = DEFAULT_CHUNK,
    root: Root = DEFAULT_ROOT,
) -> None:
    """普查 sweep：全部已存档案对照政策目录，存入享受资格、变化与通知；中断后可续跑。"""
    from rich.markup import escape

    from store.db import migrate
    from store.sweep.run import RegionError, SweepConflict, SweepDateError, begin_sweep, run_sweep

    catalogue, day = load(root), on_date(on)
    if chunk_size < 1:
        err.print("[red]--chunk-size: expected a positive number of profiles[/]")
        raise typer.Exit(2)
    engine = open_db()
    try:
        migrate(engine)
        start = begin_sweep(engine=engine, catalogue=catalogue, root=root, on=day, region=region)
        for said in start.abandoned:
            out.print(f"abandoned unfinished sweep {escape(said)}", highlight=False)
        if start.resumed:
            after = f"after household id {start.after_household_id}"
            if start.after_enterprise_id:
                after += f", enterprise id {start.after_enterprise_id}"
            out.print(f"resuming run {start.run_id} {after}", highlight=False)
        with progress("普查") as advance:
            report = run_sweep(
                engine=engine,
                start=start,
                catalogue=catalogue,
                chunk_size=chunk_size,
                progress=advance,
            )
    except (RegionError, SweepDateError, SweepConflict) as exc:
        err.print(f"[red]{escape(str(exc))}[/]", highlight=False)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    _summary(report)


def _summary(report: SweepReport) -> None:
    counts = report.counts
    statuses = counts.get("entitlements", {})
    changes = counts.get("changes", {})
    out.print(
        f"sweep run {report.run_id} done: {counts.get('households', 0):,} households, "
        f"{counts.get('enterprises', 0):,} enterprises · entitlement intervals opened "
        f"{statuses.get('eligible', 0):,} eligible, {statuses.get('undetermined', 0):,} "
        f"undetermined, {statuses.get('ineligible', 0):,} ended (unchanged results write nothing)",
        highlight=False,
    )
    out.print(
        "changes: " + ", ".join(f"{k} {changes.get(k, 0):,}" for k in _KINDS), highlight=False
    )
    here = report.swept_here
    out.print(
        f"this process swept {here.get('household', 0):,} households "
        f"({report.per_second('household'):,.0f} households/s) and "
        f"{here.get('enterprise', 0):,} enterprises",
        highlight=False,
    )
