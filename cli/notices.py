"""`zhida notices`: drain the outbox, list notices, show one with its attempts, replay a dead one.

A thin shell over `jobs.drain` and `store.delivery` (docs/delivery.md, "Subscriptions and the
drain"). `drain` runs until SIGTERM or Ctrl-C (`--once`: until nothing is due); the scheduler
runs the same drain every few seconds.
"""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING, Annotated

import typer

from cli.base import DEFAULT_ROOT, Root, app, count, err, fail, migrated_db, out
from store.delivery.labels import NOTICE_KINDS

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from store.delivery.views import NoticeLine

notices_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="通知 notices：投递、查看、重发"
)
app.add_typer(notices_app, name="notices")

STATES = ("pending", "sent", "dead", "undeliverable")
SAID = {
    "pending": "待发",
    "sent": "已送达",
    "dead": "失败",
    "undeliverable": "无人订阅",
    "gone": "订阅已停用",
    "retry": "将重试",
    "failed": "未成功（按计划重试或已失败）",
    "skipped": "跳过（订阅已停用）",
}
KIND = NOTICE_KINDS


@notices_app.command("drain")
def drain_command(
    once: Annotated[bool, typer.Option("--once", help="没有到期的通知时即退出")] = False,
    batch: Annotated[int | None, typer.Option("--batch", help="每次认领的通知数")] = None,
) -> None:
    """投递 drain：把到期的通知发往每个订阅渠道，记录每次尝试；失败的按计划重试。"""
    import dataclasses
    import threading

    from jobs.channels import Channels, DrainSettings
    from jobs.drain import drain
    from jobs.sms import SmsError
    from store.delivery.secrets import SecretKeyError, secret_box

    try:
        settings = DrainSettings.from_env()
        if batch is not None:
            settings = dataclasses.replace(settings, batch=count(batch, "--batch", least=1))
        channels = Channels.from_env(settings, box=secret_box())
    except (ValueError, SecretKeyError, SmsError) as exc:
        fail(str(exc))
    engine, stop = migrated_db(), threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        report = drain(engine, channels=channels, once=once, stop=stop)
    finally:
        channels.close()
        engine.dispose()
    tries = ", ".join(f"{SAID.get(k, k)} {v:,}" for k, v in sorted(report.tries.items()))
    out.print(f"投递结束：认领通知 {report.claimed:,} 条；尝试 {tries or '无'}", highlight=False)
    if report.claimed > sum(report.tries.values()):
        out.print(
            "无人订阅、也无村（社区）代收的通知不发送，记为「无人订阅」："
            "zhida notices list --state undeliverable；"
            "添加订阅后可用 zhida notices replay 编号 重发",
            highlight=False,
        )


def _subject(engine: Engine, text: str) -> tuple[str, int]:
    from store.db import read_session
    from store.delivery.subscriptions import subject_id_of

    kind, _, key = text.partition(":")
    if key and kind in ("household", "enterprise") and key.isdigit():
        return kind, int(key)
    with read_session(engine) as session:
        for kind in ("enterprise", "household"):
            found = subject_id_of(session=session, kind=kind, key=text.strip())
            if found is not None:
                return kind, found
    fail(f"--subject {text!r}：库中没有这个企业（统一社会信用代码）或户（户编号）")


def _titles(root: object) -> dict[str, str]:
    """Policy id → title, from the catalogue when it loads (ids otherwise): only for notices
    queued before payloads carried their policy's title."""
    from pathlib import Path

    from rules.catalogue import load_catalogue
    from rules.errors import ZhidaError

    try:
        catalogue = load_catalogue(Path(str(root)))
    except ZhidaError:
        return {}
    return {pid: p.spec.title for pid, p in catalogue.policies.items()}


def _title(line: NoticeLine) -> str | None:
    """The policy title the notice itself carries (`payload.policy.title`), if any."""
    policy = line.notice.payload.get("policy")
    title = policy.get("title") if isinstance(policy, dict) else None
    return str(title) if title else None


def _row(line: NoticeLine, titles: dict[str, str]) -> list[str]:
    n = line.notice
    title = _title(line) or titles.get(n.policy_id, n.policy_id)
    return [
        str(n.id),
        line.subject,
        str(title),
        KIND.get(n.kind, n.kind),
        SAID.get(n.state, n.state),
        str(n.attempts),
        n.last_error or "",
    ]


@notices_app.command("list")
def list_command(
    state: Annotated[
        str | None, typer.Option("--state", help="pending|sent|dead|undeliverable")
    ] = None,
    subject: Annotated[
        str | None, typer.Option("--subject", help="统一社会信用代码或户编号")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="最多列出的条数")] = 50,
    root: Root = DEFAULT_ROOT,
) -> None:
    """列出通知 list：编号、对象、政策、类型、状态、尝试次数、最近的错误（新的在前）。"""
    from rich.table import Table

    from store.db import read_session
    from store.delivery.views import list_notices

    if state is not None and state not in STATES:
        fail(f"--state {state!r}：应为 {' | '.join(STATES)} 之一")
    count(limit, "--limit", least=1)
    engine = migrated_db()
    try:
        who = _subject(engine, subject) if subject else None
        with read_session(engine) as session:
            lines = list_notices(session=session, state=state, subject=who, limit=limit)
    finally:
        engine.dispose()
    if not lines:
        out.print("没有符合条件的通知", highlight=False)
        return
    titles = {} if all(_title(line) for line in lines) else _titles(root)
    table = Table("编号", "对象", "政策", "类型", "状态", "尝试", "最近的错误")
    for line in lines:
        table.add_row(*_row(line, titles))
    out.print(table)


@notices_app.command("show")
def show_command(outbox_id: Annotated[int, typer.Argument(help="通知编号")]) -> None:
    """查看通知 show：它的投递渠道、状态与每一次尝试（时间、渠道、状态码或错误、用时）。"""
    from rich.table import Table

    from store.db import read_session
    from store.delivery.registration import mask_phone
    from store.delivery.views import notice_detail

    engine = migrated_db()
    try:
        with read_session(engine) as session:
            detail = notice_detail(session=session, outbox_id=outbox_id)
    finally:
        engine.dispose()
    if detail is None:
        fail(f"通知 {outbox_id} 不存在；应为 zhida notices list 列出的编号")
    n = detail.line.notice
    out.print(
        f"通知 {n.id}：{detail.line.subject} {n.policy_id} {KIND.get(n.kind, n.kind)}，"
        f"状态 {SAID.get(n.state, n.state)}，尝试 {n.attempts} 次",
        highlight=False,
    )
    for d, s in detail.deliveries:
        due = f"，下次 {d.next_attempt_at:%Y-%m-%d %H:%M:%S}" if d.next_attempt_at else ""
        who = "代收" if d.on_behalf == "village" else "本人"
        target = mask_phone(s.target) if s.channel == "sms" else s.target
        out.print(
            f"  订阅 {s.id} {s.channel} {target}（{who}）：{SAID.get(d.state, d.state)}{due}",
            highlight=False,
        )
    table = Table("#", "时间 UTC", "渠道", "订阅", "状态码", "错误", "用时 ms", "结果")
    for a in detail.attempts:
        table.add_row(
            str(a.number),
            f"{a.at:%Y-%m-%d %H:%M:%S}",
            a.channel,
            str(a.subscription_id),
            str(a.status_code or ""),
            a.error or "",
            str(a.latency_ms),
            SAID.get(a.outcome, a.outcome),
        )
    out.print(table)


@notices_app.command("replay")
def replay_command(outbox_id: Annotated[int, typer.Argument(help="通知编号")]) -> None:
    """重发 replay：把失败（dead）或无人订阅的通知放回队列，从第一次尝试重来；记入审计日志。"""
    from store.db import write_session
    from store.delivery.outbox import NotReplayable, replay
    from store.tables.types import utcnow

    engine = migrated_db()
    try:
        with write_session(engine) as session:
            reset = replay(session=session, outbox_id=outbox_id, now=utcnow(), actor="cli")
    except NotReplayable as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    out.print(
        f"通知 {outbox_id} 已放回队列（重置或新增 {reset} 个投递），下次投递时发送", highlight=False
    )
    err.print("已记入审计日志 notice.replay", highlight=False)
