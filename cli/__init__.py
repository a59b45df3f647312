"""The `zhida` command: a thin shell over rules/ and matcher/ (no eligibility logic here)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from matcher.cases import run_all, threshold_warnings
from matcher.demo import demo_village
from matcher.errors import ProfileError
from matcher.identifiers import mask_ids_in_text
from matcher.interpreter import MatchResult, PolicyResult, match
from matcher.logs import configure_logging
from matcher.report import all_missing, describe_fact, match_dict
from matcher.subjects import facts_for
from rules.catalogue import Catalogue, load_catalogue
from rules.errors import RuleError
from rules.lint import lint_tree
from rules.numbers import fen_text

app = typer.Typer(no_args_is_help=True, add_completion=False, help="直达 zhida: 政策规则与匹配")
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
DEFAULT_ROOT = Path(os.environ.get("ZHIDA_POLICIES", Path(__file__).parent.parent / "policies"))
STATUS = {
    "eligible": "[green]✔ 符合[/]",
    "ineligible": "[red]✘ 不符合[/]",
    "undetermined": "[yellow]? 待补充[/]",
}
Root = Annotated[Path, typer.Option("--root", help="the policies folder")]


@app.callback()
def _main(
    log_level: Annotated[
        str, typer.Option("--log-level", envvar="ZHIDA_LOG_LEVEL", help="DEBUG, INFO, WARNING…")
    ] = "WARNING",
) -> None:
    """直达 zhida: 政策规则与匹配 (ID numbers are masked in every log line)."""
    configure_logging(log_level)


def _catalogue(root: Path) -> Catalogue:
    try:
        return load_catalogue(root)
    except RuleError as exc:
        err.print(f"[red]{exc}[/]\n(run `zhida lint {root}` to see every problem)")
        raise typer.Exit(2) from None


@app.command()
def lint(path: Annotated[Path, typer.Argument()] = DEFAULT_ROOT) -> None:
    """Check rule files: schema, expressions, names, parameters, bundles, tests on both sides."""
    try:
        found, catalogue = lint_tree(path)
    except RuleError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    if catalogue is not None and path.is_dir():
        found += threshold_warnings(catalogue)
    for d in found:
        colour = "red" if d.severity == "error" else "yellow"
        out.print(f"[{colour}]{d}[/]", highlight=False)
    errors = sum(d.severity == "error" for d in found)
    out.print(f"{errors} error(s), {len(found) - errors} warning(s)")
    raise typer.Exit(1 if errors else 0)


@app.command("test")
def run_tests(path: Annotated[Path, typer.Argument()] = DEFAULT_ROOT) -> None:
    """Run every `tests:` case of every policy file."""
    outcomes = run_all(_catalogue(path))
    failed = [o for o in outcomes if not o.passed]
    for o in failed:
        out.print(f"[red]FAIL[/] {o.location} {o.policy_id}: {o.name}", highlight=False)
        for problem in o.problems:
            out.print(f"     {problem}", highlight=False)
    out.print(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    raise typer.Exit(1 if failed else 0)


@app.command()
def policies(root: Root = DEFAULT_ROOT) -> None:
    """List the catalogue."""
    catalogue = _catalogue(root)
    out.print(
        f"政策目录 catalogue {catalogue.version}：{len(catalogue.policies)} 项", highlight=False
    )
    for pid, p in sorted(catalogue.policies.items()):
        s = p.spec
        bundle = f" · 一件事 {s.bundle}" if s.bundle else ""
        out.print(f"[bold]{pid}[/] {escape(s.title)}", highlight=False)
        out.print(
            f"    {s.department} · {s.subject} · {s.delivery}{bundle} · 依据 {escape(s.basis)}",
            highlight=False,
            style="dim",
        )


@app.command("match")
def match_file(
    file: Path,
    on: Annotated[str | None, typer.Option(help="evaluation date, YYYY-MM-DD")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="show every condition")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    root: Root = DEFAULT_ROOT,
) -> None:
    """Match one household or enterprise profile (JSON) against the catalogue."""
    catalogue = _catalogue(root)
    day = _date(on)
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        err.print(f"[red]{mask_ids_in_text(f'{file}: cannot read JSON: {exc}')}[/]")
        raise typer.Exit(2) from None
    subject = "enterprise" if isinstance(raw, dict) and "credit_code" in raw else "household"
    try:
        facts = facts_for(raw, subject, catalogue.facts, day, source=str(file))
    except ProfileError as exc:
        err.print(f"[red]{exc}[/]", highlight=False)
        raise typer.Exit(2) from None
    result = match(catalogue, facts, day, subject)
    if as_json:
        sys.stdout.write(json.dumps(match_dict(result), ensure_ascii=False, indent=2) + "\n")
        return
    show_match(result, catalogue, explain=explain)


def _date(text: str | None) -> date:
    try:
        return date.fromisoformat(text) if text else date.today()
    except ValueError:
        err.print(f"[red]--on {text!r}: expected a date as YYYY-MM-DD[/]")
        raise typer.Exit(2) from None


def show_match(result: MatchResult, catalogue: Catalogue, *, explain: bool) -> None:
    """Print a match: each bundle with its members, the other policies, what is missing."""
    in_bundle = {m.policy_id for b in result.bundles for m in b.members}
    for b in result.bundles:
        gate = {True: "[green]已开启[/]", False: "[red]未开启[/]", None: "[yellow]待确认[/]"}
        out.print(f"\n[bold]一件事：{b.title}[/] [dim]{b.bundle_id}[/]", highlight=False)
        out.print(f"  {b.gate.says}：{gate[b.gate.verdict]}", highlight=False)
        for member in b.members:
            _show_policy(member, explain, indent="  ")
    out.print("\n[bold]其他政策[/]")
    for r in result.results:
        if r.policy_id not in in_bundle and (explain or r.status != "ineligible"):
            _show_policy(r, explain, indent="")
    hidden = sum(r.status == "ineligible" and r.policy_id not in in_bundle for r in result.results)
    if hidden and not explain:
        out.print(f"  [dim]另有 {hidden} 项不符合（--explain 查看理由）[/]")
    missing = all_missing(result)
    if missing:
        out.print("\n[bold yellow]一次性告知：请一次补齐以下信息[/]")
        for name in missing:
            out.print(f"  • {describe_fact(name, catalogue.facts)}", highlight=False)
    out.print(f"\n评估日期 {result.on} · 规则版本 {result.catalogue_version}", style="dim")


def _show_policy(r: PolicyResult, explain: bool, indent: str) -> None:
    amount = f" [cyan]{_amount(r)}[/]" if r.amount is not None else ""
    out.print(
        f"{indent}  {STATUS[r.status]} {r.title}{amount} [dim]{r.department} · {r.policy_id}[/]",
        highlight=False,
    )
    if r.note:
        out.print(f"{indent}      {r.note}", highlight=False)
    for c in r.conditions:
        if not explain and (c.verdict is True) != (r.status == "eligible"):
            continue
        mark = {True: "[green]✔[/]", False: "[red]✘[/]", None: "[yellow]?[/]"}[c.verdict]
        out.print(f"{indent}      {mark} {c.says}", highlight=False)
        if explain:
            seen = "，".join(f"{k} = {v}" for k, v in c.seen)
            threshold = f"；阈值 {c.threshold}" if c.threshold else ""
            detail = escape(f"{c.text}；所见 {seen}{threshold}")
            out.print(f"{indent}        [dim]{detail}[/]", highlight=False)
    if r.missing:
        out.print(f"{indent}      [yellow]待补充：{'，'.join(r.missing)}[/]", highlight=False)


def _amount(r: PolicyResult) -> str:
    if r.amount is None:
        return ""
    per = {"month": "/月", "year": "/年", "once": ""}.get(r.period or "", "")
    unit = "元" if r.unit in (None, "CNY") else r.unit
    return f"{fen_text(r.amount)} {unit}{per}"


@app.command()
def demo(
    households: Annotated[int, typer.Option(help="households in the synthetic village")] = 12,
    on: Annotated[str | None, typer.Option(help="evaluation date")] = None,
    root: Root = DEFAULT_ROOT,
) -> None:
    """Load the catalogue, build a small synthetic village, match every household."""
    catalogue = _catalogue(root)
    day = _date(on)
    out.print(
        f"政策目录 {len(catalogue.policies)} 项，{len(catalogue.bundles)} 个一件事 "
        f"(version {catalogue.version})"
    )
    out.print(f"示范村 {households} 户 · 评估日期 {day}\n")
    for label, raw in demo_village(households, day):
        facts = facts_for(raw, "household", catalogue.facts, day, source=label)
        _demo_household(label, len(raw["members"]), match(catalogue, facts, day, "household"))


def _demo_household(label: str, size: int, result: MatchResult) -> None:
    got = [r for r in result.results if r.status == "eligible"]
    monthly = sum(r.amount or 0 for r in got if r.period == "month")
    total = f" · 每月合计 {monthly:.2f} 元" if monthly else ""
    out.print(f"[bold]{label}[/] · {size} 人{total}", highlight=False)
    for r in got:
        amount = f" [cyan]{_amount(r)}[/]" if r.amount is not None else ""
        says = "；".join(c.says for c in r.conditions)
        out.print(f"  [green]✔[/] {r.title}{amount} [dim]— {says}[/]", highlight=False)
    for r in result.results:
        if r.status == "undetermined":
            out.print(
                f"  [yellow]?[/] {r.title} [yellow]— 待补充: {', '.join(r.missing)}[/]",
                highlight=False,
            )
    if not got and not any(r.status == "undetermined" for r in result.results):
        out.print("  [dim]— 暂无符合的政策[/]")
    out.print()


# --- batch: synthetic data, templates, village sheets (thin shells over store/) -----------


@app.command("demo-data")
def demo_data(
    out_dir: Annotated[Path, typer.Option("--out", help="the folder to write into")],
    households: Annotated[int, typer.Option(help="households to generate")] = 1000,
    enterprises: Annotated[int, typer.Option(help="enterprises to generate")] = 100,
    seed: Annotated[int, typer.Option(help="the same seed gives the same files")] = 1,
    as_of: Annotated[str, typer.Option(help="the date ages are counted at")] = "2025-03-01",
    root: Root = DEFAULT_ROOT,
) -> None:
    """Write a synthetic population as households.* and enterprises.* (xlsx, csv, parquet)."""
    from matcher.population import Population
    from matcher.population_enterprises import Enterprises
    from store.demo_files import write_demo_data

    day = _date(as_of)
    catalogue = _catalogue(root)
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
    path: Path,
    subject: Annotated[
        str | None, typer.Option(help="household or enterprise (default: from the file name)")
    ] = None,
    root: Root = DEFAULT_ROOT,
) -> None:
    """Write an empty household (or enterprise) template with its guide sheet 说明."""
    from store.template import write_template

    kind = subject or ("enterprise" if "enterprise" in path.name.lower() else "household")
    if kind not in ("household", "enterprise") or path.suffix.lower() != ".xlsx":
        err.print("[red]expected an .xlsx path and --subject household|enterprise[/]")
        raise typer.Exit(2)
    write_template(
        path, _catalogue(root).facts, "enterprise" if kind == "enterprise" else "household"
    )
    out.print(f"wrote {path} ({kind} template with a 说明 sheet)", highlight=False)


@app.command("batch")
def batch(
    source: Annotated[Path, typer.Argument(help="households .xlsx, .csv or .parquet")],
    result: Annotated[Path, typer.Option("--out", help="result .xlsx or .csv")],
    on: Annotated[str | None, typer.Option(help="evaluation date, YYYY-MM-DD")] = None,
    max_rows: Annotated[int, typer.Option(help="row cap")] = 1_100_000,
    max_xlsx_mb: Annotated[
        int, typer.Option(help="cap on an xlsx's uncompressed size (uploads: 50)")
    ] = 1024,
    root: Root = DEFAULT_ROOT,
) -> None:
    """Match every household of a village sheet; write summary, department, 待补充, errors."""
    from store.batch import run_batch
    from store.guards import Limits, SheetError

    catalogue, day = _catalogue(root), _date(on)
    limits = Limits(max_rows=max_rows, max_xlsx_uncompressed=max_xlsx_mb * 1024 * 1024)
    try:
        with _progress() as advance:
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


@contextmanager
def _progress() -> Iterator[Callable[[int, int | None], None] | None]:
    """A rich progress bar on a terminal; nothing otherwise."""
    if not err.is_terminal:
        yield None
        return
    from rich.progress import Progress

    with Progress(console=err, transient=True) as bar:
        task = bar.add_task("读取并匹配", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


from cli import audit as _audit  # noqa: E402,F401  (registers audit)
from cli import impact as _impact  # noqa: E402,F401  (registers impact)
from cli import imports as _imports  # noqa: E402,F401  (registers the import commands)
from cli import sweep as _sweep  # noqa: E402,F401  (registers sweep)
