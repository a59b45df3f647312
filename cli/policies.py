"""The policy writer's and the caseworker's commands: lint, test, policies, match, demo."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.app import DEFAULT_ROOT, Root, app, err, load, on_date, out

if TYPE_CHECKING:
    from collections.abc import Sequence

    from matcher.asks import Ask
    from matcher.interpreter import MatchResult, PolicyResult
    from matcher.report import Person
    from rules.catalogue import Catalogue

STATUS = {
    "eligible": "[green]✔ 符合[/]",
    "ineligible": "[red]✘ 不符合[/]",
    "undetermined": "[yellow]? 待补充[/]",
}


@app.command()
def lint(path: Annotated[Path, typer.Argument(help="规则文件或文件夹")] = DEFAULT_ROOT) -> None:
    """检查规则文件 lint：格式、表达式、名称、参数、一件事、两侧测试。"""
    from matcher.cases import threshold_warnings
    from rules.errors import RuleError
    from rules.lint import lint_tree

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
def run_tests(path: Annotated[Path, typer.Argument(help="政策目录")] = DEFAULT_ROOT) -> None:
    """运行规则测试 test：每个政策文件 tests: 下的每个用例。"""
    from matcher.cases import run_all

    outcomes = run_all(load(path))
    failed = [o for o in outcomes if not o.passed]
    for o in failed:
        out.print(f"[red]FAIL[/] {o.location} {o.policy_id}: {o.name}", highlight=False)
        for problem in o.problems:
            out.print(f"     {problem}", highlight=False)
    out.print(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    raise typer.Exit(1 if failed else 0)


@app.command()
def policies(root: Root = DEFAULT_ROOT) -> None:
    """列出政策目录 policies。"""
    from rich.markup import escape

    from matcher.report import delivery_label

    catalogue = load(root)
    kinds = {"household": "户", "enterprise": "企业"}
    out.print(
        f"政策目录 catalogue {catalogue.version}：{len(catalogue.policies)} 项", highlight=False
    )
    for pid, p in sorted(catalogue.policies.items()):
        s = p.spec
        bundle = f" · 一件事 {s.bundle}" if s.bundle else ""
        out.print(f"[bold]{pid}[/] {escape(s.title)}", highlight=False)
        out.print(
            f"    {s.department} · {kinds.get(s.subject, s.subject)} · {delivery_label(s.delivery)}"
            f"{bundle} · 依据 {escape(s.basis)}",
            highlight=False,
            style="dim",
        )


@app.command("match")
def match_file(
    file: Annotated[Path, typer.Argument(help="一户或一家企业的档案 (JSON)")],
    on: Annotated[str | None, typer.Option(help="评估日期 YYYY-MM-DD（默认今天）")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="列出每个条件")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="机器可读的 JSON 输出")] = False,
    root: Root = DEFAULT_ROOT,
) -> None:
    """匹配一份档案 match：一户家庭或一家企业的 JSON，对照政策目录。"""
    from matcher.asks import asks_for
    from matcher.errors import ProfileError
    from matcher.identifiers import mask_ids_in_text
    from matcher.interpreter import match
    from matcher.report import match_dict
    from matcher.subjects import facts_for

    catalogue = load(root)
    day = on_date(on)
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
    asks = asks_for(catalogue, facts, day, result.results)
    if as_json:
        data = match_dict(result, asks, catalogue)
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        return
    members = raw.get("members") if subject == "household" else None
    people = [
        (m.get("name"), m.get("relation"), m.get("id_number"))
        for m in (members if isinstance(members, list) else [])
        if isinstance(m, dict)
    ]
    whole = "本企业" if subject == "enterprise" else "全户"
    show_match(result, catalogue, explain=explain, asks=asks, people=people, whole=whole)


def show_match(
    result: MatchResult,
    catalogue: Catalogue,
    *,
    explain: bool,
    asks: Sequence[Ask] = (),
    people: Sequence[Person] = (),
    whole: str = "全户",
) -> None:
    """Print a match: each bundle with its members, the other policies, and 一次性告知 — every
    fact still needed, by its Chinese label, grouped by the member (or household) asked."""
    from rich.markup import escape

    from matcher.report import ask_groups

    in_bundle = {m.policy_id for b in result.bundles for m in b.members}
    for b in result.bundles:
        gate = {True: "[green]已开启[/]", False: "[red]未开启[/]", None: "[yellow]待确认[/]"}
        out.print(f"\n[bold]一件事：{b.title}[/] [dim]{b.bundle_id}[/]", highlight=False)
        out.print(f"  {b.gate.says}：{gate[b.gate.verdict]}", highlight=False)
        for member in b.members:
            _show_policy(member, explain, indent="  ", catalogue=catalogue)
    out.print("\n[bold]其他政策[/]")
    for r in result.results:
        if r.policy_id not in in_bundle and (explain or r.status != "ineligible"):
            _show_policy(r, explain, indent="", catalogue=catalogue)
    hidden = sum(r.status == "ineligible" and r.policy_id not in in_bundle for r in result.results)
    if hidden and not explain:
        out.print(f"  [dim]另有 {hidden} 项不符合（--explain 查看理由）[/]")
    groups = ask_groups(asks, catalogue, people, whole)
    if groups:
        out.print("\n[bold yellow]一次性告知：请一次补齐以下信息[/]")
        for whose, lines in groups:
            out.print(f"  [bold]{escape(whose)}[/]", highlight=False)
            for line in lines:
                out.print(f"    • {escape(line)}", highlight=False)
    out.print(f"\n评估日期 {result.on} · 规则版本 {result.catalogue_version}", style="dim")


def _show_policy(r: PolicyResult, explain: bool, indent: str, catalogue: Catalogue) -> None:
    from rich.markup import escape

    from matcher.report import amount_text, fact_labels

    amount = f" [cyan]{amount_text(r)}[/]" if amount_text(r) else ""
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
        labels = escape(fact_labels(r.missing, catalogue))
        out.print(f"{indent}      [yellow]待补充：{labels}[/]", highlight=False)


@app.command()
def demo(
    households: Annotated[int, typer.Option(help="示范村的户数")] = 12,
    on: Annotated[str | None, typer.Option(help="评估日期 YYYY-MM-DD")] = None,
    root: Root = DEFAULT_ROOT,
) -> None:
    """示范 demo：读入政策目录，生成一个小示范村，逐户匹配。"""
    from matcher.demo import demo_village
    from matcher.interpreter import match
    from matcher.subjects import facts_for

    catalogue = load(root)
    day = on_date(on)
    out.print(
        f"政策目录 {len(catalogue.policies)} 项，{len(catalogue.bundles)} 个一件事 "
        f"(version {catalogue.version})"
    )
    out.print(f"示范村 {households} 户 · 评估日期 {day}\n")
    for label, raw in demo_village(households, day):
        facts = facts_for(raw, "household", catalogue.facts, day, source=label)
        result = match(catalogue, facts, day, "household")
        _demo_household(label, len(raw["members"]), result, catalogue)


def _demo_household(label: str, size: int, result: MatchResult, catalogue: Catalogue) -> None:
    from matcher.report import amount_text, fact_labels

    got = [r for r in result.results if r.status == "eligible"]
    monthly = sum(r.amount or 0 for r in got if r.period == "month")
    total = f" · 每月合计 {monthly:.2f} 元" if monthly else ""
    out.print(f"[bold]{label}[/] · {size} 人{total}", highlight=False)
    for r in got:
        amount = f" [cyan]{amount_text(r)}[/]" if amount_text(r) else ""
        says = "；".join(c.says for c in r.conditions)
        out.print(f"  [green]✔[/] {r.title}{amount} [dim]— {says}[/]", highlight=False)
    for r in result.results:
        if r.status == "undetermined":
            labels = fact_labels(r.missing, catalogue)
            out.print(f"  [yellow]?[/] {r.title} [yellow]— 待补充：{labels}[/]", highlight=False)
    if not got and not any(r.status == "undetermined" for r in result.results):
        out.print("  [dim]— 暂无符合的政策[/]")
    out.print()
