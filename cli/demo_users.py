"""`zhida demo-users`: one user per role in the demo county, their passwords printed once."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.base import app, fail, migrated_db, out


@app.command("demo-users")
def demo_users(
    county: Annotated[str, typer.Option("--county", help="演示县的 6 位区划代码")] = "520602",
) -> None:
    """演示用户 demo-users：为演示县的每个角色建一个用户（已有的不动），新密码只显示这一次。"""
    from store.db import write_session
    from store.demo_users import ensure_demo_users
    from store.users import ROLES

    if not (county.isascii() and county.isdigit() and len(county) == 6):
        fail(f"--county {county!r}：应为 6 位县级区划代码（如 520602）")
    engine = migrated_db()
    try:
        with write_session(engine) as session:
            users = ensure_demo_users(session, county=county)
    finally:
        engine.dispose()
    out.print(
        "演示用户（浏览器打开服务地址的 /console 登录，或 POST /api/auth/login；"
        "新密码只显示这一次，请记下）：",
        highlight=False,
    )
    for u in users:
        where = " ".join(x for x in (u.region, u.department, u.subject_key) if x)
        shown = (
            f"密码 {u.password}"
            if u.password
            else "已存在，密码不再显示（zhida users passwd 可重设）"
        )
        out.print(f"  {u.name}  {ROLES[u.role].label}  {where}  {shown}", highlight=False)
