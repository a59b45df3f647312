"""`zhida profile set`: change one stored profile through the live event path (store.events).

    zhida profile set household 5206021002010002 dibao_status=active --on 2025-03-01
    zhida profile set household 5206021002010002 monthly_income=1200 --member 5206…
    zhida profile set enterprise 91520602MA6H000001 employees=12

Values are read by the fact's type (`store.events.values`): numbers exact, dates ISO, booleans
是/否 or true/false, a code or its Chinese label (`在册`), `FACT=` to remove a fact. It prints,
in Chinese, the events, what the reactions did (with their `says`), the entitlement changes and
the notices queued — all written in one transaction, or nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.base import DEFAULT_ROOT, Root, app, fail, load, load_reactions, on_date, open_db, out

if TYPE_CHECKING:
    from rules.catalogue import Catalogue
    from rules.facts import FactValue
    from store.events.outcome import Outcome

profile_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="档案 profile：修改已存档案并即时处理"
)
app.add_typer(profile_app, name="profile")

_KINDS = {"household": "户", "enterprise": "企业"}
_VERBS = {"re-evaluate": "重新评估", "notify": "通知", "end-from-date": "到期停止"}
_CHANGES = {
    "newly_eligible": "新增符合",
    "no_longer_eligible": "不再符合",
    "amount_changed": "金额变化",
    "became_undetermined": "转为待补充",
}


@profile_app.command("set")
def set_facts(
    kind: Annotated[str, typer.Argument(help="household（户）或 enterprise（企业）")],
    key: Annotated[str, typer.Argument(help="户编号，或统一社会信用代码")],
    assignments: Annotated[list[str], typer.Argument(help="事实=值 …（事实= 表示删除）")],
    member: Annotated[
        str | None, typer.Option("--member", help="改这位成员的事实（身份证号）")
    ] = None,
    on: Annotated[
        str | None, typer.Option(help="变更日期 YYYY-MM-DD（默认今天 Asia/Shanghai，不晚于今天）")
    ] = None,
    actor: Annotated[str, typer.Option("--actor", help="操作人（记入审计日志）")] = "cli",
    root: Root = DEFAULT_ROOT,
) -> None:
    """修改档案 profile set：设置事实，即时生成事件、执行反应、写入享受变化与通知（同一事务）。"""
    from store.events.values import ValueTextError, read_assignments

    if kind not in _KINDS:
        fail(f"对象类型 {kind!r}：应为 household（户）或 enterprise（企业）")
    catalogue, day = load(root), on_date(on, future=False)
    level = "member" if member is not None else kind
    try:
        facts = read_assignments(assignments, catalogue.facts, level=level)  # type: ignore[arg-type]  # a FactLevel
    except ValueTextError as exc:
        fail(str(exc))
    change = _Change(kind, key, facts, member, day, actor)
    _print(_apply(catalogue, root, change), catalogue, kind, key)


@dataclass(frozen=True)
class _Change:
    kind: str
    key: str
    facts: Mapping[str, FactValue | None]
    member: str | None
    on: date
    actor: str


def _apply(catalogue: Catalogue, root: Path, change: _Change) -> Outcome:
    from store.db import migrate
    from store.events.apply import apply_change
    from store.events.changes import ProfileChangeError

    reactions = load_reactions(root, catalogue)
    engine = open_db()
    try:
        migrate(engine)
        return apply_change(
            engine, catalogue=catalogue, root=root, reactions=reactions, kind=change.kind,
            key=change.key, facts=change.facts, member=change.member, on=change.on,
            actor=change.actor, source="zhida profile set",
        )  # fmt: skip
    except ProfileChangeError as exc:
        fail(str(exc))
    finally:
        engine.dispose()


def _label(events: Mapping[str, Any], name: str) -> str:
    kind = events.get(name)
    return kind.label if kind is not None else name


def _about(args: Mapping[str, Any], catalogue: Catalogue) -> str:
    """What an action is about: its bundle's title, or how many policies (re-evaluation always
    covers the whole subject; this is what the reaction reports)."""
    bundle = args.get("bundle")
    if bundle and bundle in catalogue.bundles:
        return f"：{catalogue.bundles[bundle].spec.title}"
    policies = args.get("policies")
    return f"：{len(policies)} 项政策" if policies else ""


def _money(amount: object) -> str:
    return "—" if amount is None else f"{amount} 元"


def _print(outcome: Outcome, catalogue: Catalogue, kind: str, key: str) -> None:
    from rich.text import Text

    from rules.reactions import EVENTS

    where = f"{_KINDS[kind]} {key}"
    if not outcome.events:
        out.print(Text(f"{where}：档案未变，没有事件（nothing changed）"))
        return
    out.print(Text(f"{where}：档案已更新", style="bold"))
    for e in outcome.events:
        out.print(Text(f"  事件 {e.name}（{_label(EVENTS, e.name)}）#{e.id}"))
    for a in outcome.actions:
        says = f" — {a.says}" if a.says else ""
        about = _about(a.args, catalogue)
        verb = _VERBS.get(a.verb, a.verb)
        out.print(Text(f"  反应 {verb}{about}（{a.reaction}）{says}", style="cyan"))
    titles = {pid: p.spec.title for pid, p in catalogue.policies.items()}
    for c in outcome.changes:
        effective = f"，自 {c.effective_on} 起停发" if c.effective_on else ""
        out.print(
            Text(
                f"  享受变化 {_CHANGES.get(c.kind, c.kind)}：{titles.get(c.policy_id, c.policy_id)}"
                f"（{_money(c.before_amount)} → {_money(c.after_amount)}{effective}）"
            )
        )
    for d in outcome.deadlines:
        label = _label(EVENTS, d.event_name)
        out.print(Text(f"  期限 #{d.id}：{d.due_on} {label}", style="yellow"))
    out.print(
        Text(f"通知已入队 {len(outcome.notices)} 条（与档案变更同一事务写入）", style="green")
    )
