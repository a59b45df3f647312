"""The policy writer's and the caseworker's commands: lint, test, policies, match, demo."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.base import DEFAULT_ROOT, Root, app, count, err, load, on_date, out

if TYPE_CHECKING:
    from collections.abc import Sequence

    from matcher.explain.asks import Ask
    from matcher.explain.cases import Checked
    from matcher.explain.report import Person
    from matcher.interpreter.match import MatchResult, PolicyResult
    from rules.catalogue import Catalogue
    from rules.lint import Diagnostic

# (text, style) pairs: rule text is printed as rich `Text`, never read as markup or emoji codes
STATUS = {
    "eligible": ("✔ 符合", "green"),
    "ineligible": ("✘ 不符合", "red"),
    "undetermined": ("? 待补充", "yellow"),
}
MARK = {True: ("✔", "green"), False: ("✘", "red"), None: ("?", "yellow")}


@app.command()
def lint(path: Annotated[Path, typer.Argument(help="规则文件或文件夹")] = DEFAULT_ROOT) -> None:
    """检查规则文件 lint：格式、表达式、名称、参数、一件事、测试用例、两侧测试、送达反应。

    整个目录时也检查申领流程 workflow.yaml 与节假日 holidays.yaml。
    目录之外的草稿按项目的政策目录检查。
    """
    checked = _check(path)
    for d in checked.diagnostics:
        _diagnostic(d)
    errors = len(checked.errors)
    out.print(f"{errors} error(s), {len(checked.diagnostics) - errors} warning(s)")
    raise typer.Exit(1 if errors else 0)


@app.command("test")
def run_tests(
    path: Annotated[Path, typer.Argument(help="政策文件或文件夹")] = DEFAULT_ROOT,
) -> None:
    """运行规则测试 test：一个政策或反应文件、一个文件夹或整个目录 tests: 下的每个用例。

    目录之外的草稿按项目的政策目录运行（同 id 的政策由草稿替换）。
    """
    from rich.text import Text

    from matcher.explain.cases import run_all
    from matcher.explain.reaction_cases import run_reaction_cases

    checked = _check(path)
    for d in checked.errors:
        _diagnostic(d)
    if checked.blocking:
        out.print(f"未运行 not run：{len(checked.blocking)} 个错误须先修正（zhida lint 同样报告）")
        raise typer.Exit(2)
    outcomes = run_all(checked.catalogue()) + run_reaction_cases(checked.reactions)
    failed = [o for o in outcomes if not o.passed]
    for o in failed:
        out.print(Text.assemble(("FAIL", "red"), f" {o.location} {o.policy_id}: {o.name}"))
        for problem in o.problems:
            out.print(Text(f"     {problem}"))
    out.print(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    raise typer.Exit(1 if failed or checked.errors else 0)


def _check(path: Path) -> Checked:
    """The rule files at `path` checked in their catalogue (or the project's, for a draft)."""
    from rich.text import Text

    from matcher.explain.cases import check
    from rules.errors import RuleError

    try:
        checked = check(path, DEFAULT_ROOT)
    except RuleError as exc:
        err.print(Text(str(exc), style="red"))
        raise typer.Exit(2) from None
    ws = checked.workspace
    if ws.draft:
        out.print(Text(f"草稿 draft {path}：按政策目录 {ws.root} 检查", style="dim"))
    return checked


def _diagnostic(d: Diagnostic) -> None:
    """One finding, printed as written (rule text is never read as markup)."""
    from rich.text import Text

    out.print(Text(str(d), style="red" if d.severity == "error" else "yellow"))


@app.command()
def policies(root: Root = DEFAULT_ROOT) -> None:
    """列出政策目录 policies。"""
    from rich.text import Text

    from matcher.explain.report import delivery_label
    from matcher.profiles.subjects import KINDS

    catalogue = load(root)
    out.print(
        f"政策目录 catalogue {catalogue.version}：{len(catalogue.policies)} 项", highlight=False
    )
    for pid, p in sorted(catalogue.policies.items()):
        s = p.spec
        bundle = f" · 一件事 {s.bundle}" if s.bundle else ""
        kind = KINDS[s.subject].label if s.subject in KINDS else s.subject
        out.print(Text.assemble((pid, "bold"), f" {s.title}"))
        line = (
            f"    {s.department} · {kind} · {delivery_label(s.delivery)}{bundle} · 依据 {s.basis}"
        )
        out.print(Text(line, style="dim"))


@app.command("match")
def match_file(
    file: Annotated[Path, typer.Argument(help="一户或一家企业的档案 (JSON)")],
    on: Annotated[str | None, typer.Option(help="评估日期 YYYY-MM-DD（默认今天）")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="列出每个条件")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="机器可读的 JSON 输出")] = False,
    root: Root = DEFAULT_ROOT,
) -> None:
    """匹配一份档案 match：一户家庭或一家企业的 JSON，对照政策目录。"""
    from rich.text import Text

    from matcher.explain.asks import asks_for
    from matcher.explain.report import match_dict
    from matcher.interpreter.compiled import match_compiled
    from matcher.profiles.errors import ProfileError
    from matcher.profiles.raw_json import read_profile_json
    from matcher.profiles.subjects import KINDS, facts_for, kind_of_profile

    catalogue = load(root)
    day = on_date(on)
    try:
        raw = read_profile_json(file)
        subject = kind_of_profile(raw).name
        facts = facts_for(raw, subject, catalogue.facts, day, source=str(file))
    except ProfileError as exc:
        err.print(Text(str(exc), style="red"))
        raise typer.Exit(2) from None
    result = match_compiled(catalogue, facts, day, subject)
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
    whole = KINDS[subject].whole
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
    from rich.text import Text

    from matcher.explain.report import ask_groups

    in_bundle = {m.policy_id for b in result.bundles for m in b.members}
    for b in result.bundles:
        gate = {True: ("已开启", "green"), False: ("未开启", "red"), None: ("待确认", "yellow")}
        out.print(Text.assemble("\n", (f"一件事：{b.title}", "bold"), " ", (b.bundle_id, "dim")))
        out.print(Text.assemble(f"  {b.gate.says}：", gate[b.gate.verdict]))
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
            out.print(Text(f"  {whose}", style="bold"))
            for line in lines:
                out.print(Text(f"    • {line}"))
    out.print(f"\n评估日期 {result.on} · 规则版本 {result.catalogue_version}", style="dim")


def _show_policy(r: PolicyResult, explain: bool, indent: str, catalogue: Catalogue) -> None:
    from rich.text import Text

    from matcher.explain.report import amount_text, fact_labels

    amount = (f" {amount_text(r)}", "cyan") if amount_text(r) else ""
    where = (f" {r.department} · {r.policy_id}", "dim")
    out.print(Text.assemble(f"{indent}  ", STATUS[r.status], f" {r.title}", amount, where))
    if r.note:
        out.print(Text(f"{indent}      {r.note}"))
    for c in r.conditions:
        if not explain and (c.verdict is True) != (r.status == "eligible"):
            continue
        out.print(Text.assemble(f"{indent}      ", MARK[c.verdict], f" {c.says}"))
        if explain:
            seen = "，".join(f"{k} = {v}" for k, v in c.seen)
            threshold = f"；阈值 {c.threshold}" if c.threshold else ""
            detail = f"{c.text}；所见 {seen}{threshold}"
            out.print(Text(f"{indent}        {detail}", style="dim"))
    if r.missing:
        labels = fact_labels(r.missing, catalogue)
        out.print(Text(f"{indent}      待补充：{labels}", style="yellow"))


@app.command()
def demo(
    households: Annotated[int, typer.Option(help="示范村的户数")] = 12,
    on: Annotated[str | None, typer.Option(help="评估日期 YYYY-MM-DD")] = None,
    root: Root = DEFAULT_ROOT,
) -> None:
    """示范 demo：读入政策目录，生成一个小示范村，逐户匹配。"""
    from matcher.interpreter.match import match
    from matcher.profiles.subjects import facts_for
    from synth.demo import demo_village

    catalogue, households = load(root), count(households, "--households")
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
    from rich.text import Text

    from matcher.explain.report import amount_text, fact_labels

    got = [r for r in result.results if r.status == "eligible"]
    monthly = sum(r.amount or 0 for r in got if r.period == "month")
    total = f" · 每月合计 {monthly:.2f} 元" if monthly else ""
    out.print(f"[bold]{label}[/] · {size} 人{total}", highlight=False)
    for r in got:
        amount = (f" {amount_text(r)}", "cyan") if amount_text(r) else ""
        says = "；".join(c.says for c in r.conditions)
        out.print(Text.assemble("  ", MARK[True], f" {r.title}", amount, (f" — {says}", "dim")))
    for r in result.results:
        if r.status == "undetermined":
            missing = (f" — 待补充：{fact_labels(r.missing, catalogue)}", "yellow")
            out.print(Text.assemble("  ", MARK[None], f" {r.title}", missing))
    if not got and not any(r.status == "undetermined" for r in result.results):
        out.print("  [dim]— 暂无符合的政策[/]")
    out.print()
