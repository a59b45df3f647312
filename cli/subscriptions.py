"""`zhida subscriptions`: where enterprises, households, village centres and offices (a village,
township, the county's supervisors, a county department: claims' reminders and escalations)
hear about notices.

A thin shell over `store.delivery.registration`: a webhook's secret is printed once, when it
is made (or rotated), and listed masked; every refusal is one message naming the option.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cli.base import app, fail, open_db, out

subscriptions_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="订阅 subscriptions：通知发往何处"
)
app.add_typer(subscriptions_app, name="subscriptions")

KINDS = {"enterprise": "企业", "household": "户", "village": "村（社区）", "office": "办公室"}
Webhook = Annotated[str | None, typer.Option("--webhook", help="推送地址 https://…")]
Secret = Annotated[str | None, typer.Option("--secret", help="whsec_…（省略则生成并只显示一次）")]
Email = Annotated[str | None, typer.Option("--email", help="电子邮件地址")]
Sms = Annotated[str | None, typer.Option("--sms", help="手机号（11 位）")]


@subscriptions_app.command("add")
def add_command(
    kind: Annotated[str, typer.Argument(help="enterprise | household | village | office")],
    key: Annotated[
        str,
        typer.Argument(
            help="统一社会信用代码 | 户编号 | 12 位区划代码 | 办公室："
            "12/9/6 位区划代码或 6 位县级代码/部门名称"
        ),
    ],
    webhook: Webhook = None,
    secret: Secret = None,
    email: Email = None,
    sms: Sms = None,
) -> None:
    """添加订阅 add：一个对象、一个渠道（--webhook、--email 或 --sms 三选一）。"""
    from store.db import migrate
    from store.delivery.registration import BadSubscription, register
    from store.delivery.secrets import SecretKeyError

    if kind not in KINDS:
        fail(
            f"对象类型 {kind!r}：应为 enterprise（企业）、household（户）、village（村/社区）"
            "或 office（办公室：村、乡镇、县督查、县级部门）"
        )
    chosen = [(c, t) for c, t in (("webhook", webhook), ("email", email), ("sms", sms)) if t]
    if len(chosen) != 1:
        fail("--webhook、--email、--sms：应给出且只给出一个 (exactly one channel)")
    ((channel, target),) = chosen
    engine = open_db()
    try:
        migrate(engine)
        done = register(engine, kind=kind, key=key, channel=channel, target=target, secret=secret)
    except (BadSubscription, SecretKeyError) as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    sub = done.subscription
    out.print(
        f"已添加订阅 {sub.id}：{KINDS[kind]} {sub.subject_key} → {channel} {sub.target}",
        highlight=False,
    )
    if done.secret:
        out.print(f"签名密钥（只显示这一次，请妥善保存）：{done.secret}", highlight=False)


@subscriptions_app.command("list")
def list_command() -> None:
    """列出订阅 list：编号、对象、渠道、目标（手机号脱敏）、密钥（不显示）、状态。"""
    from rich.table import Table

    from store.db import migrate, read_session
    from store.delivery.registration import mask_phone
    from store.delivery.subscriptions import list_subscriptions

    engine = open_db()
    try:
        migrate(engine)
        with read_session(engine) as session:
            rows = list_subscriptions(session=session)
    finally:
        engine.dispose()
    if not rows:
        out.print("还没有订阅（zhida subscriptions add …）", highlight=False)
        return
    table = Table("编号", "对象", "渠道", "目标", "密钥", "状态")
    for s in rows:
        state = "有效" if s.state == "active" else f"已停用：{s.reason or ''}"
        shown = "whsec_…（已加密）" if s.secret else ""
        rotating = "，轮换中" if s.previous_secret else ""
        table.add_row(
            str(s.id),
            f"{KINDS.get(s.subject_kind, s.subject_kind)} {s.subject_key}",
            s.channel,
            mask_phone(s.target) if s.channel == "sms" else s.target,
            shown + rotating,
            state,
        )
    out.print(table)


@subscriptions_app.command("rotate")
def rotate_command(subscription_id: Annotated[int, typer.Argument(help="订阅编号")]) -> None:
    """轮换密钥 rotate：生成新密钥（只显示一次）；旧密钥继续签名 24 小时，两者同时发送。"""
    from store.db import migrate
    from store.delivery.registration import BadSubscription, rotate
    from store.delivery.secrets import SecretKeyError

    engine = open_db()
    try:
        migrate(engine)
        clear = rotate(engine, subscription_id)
    except (BadSubscription, SecretKeyError) as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    out.print(f"订阅 {subscription_id} 的新签名密钥（只显示这一次）：{clear}", highlight=False)
    out.print("旧密钥在 24 小时内仍随每次推送一起签名，请在此期间换用新密钥", highlight=False)
