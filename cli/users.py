"""`zhida users`: people and the roles they hold (村、乡镇、县、部门、企业、政策编写、督查).

A thin shell over `store.users`: `add` makes a person with one role, `grant` gives an existing
person another role (one person at two levels stays one user, so separation of duties sees
them), `list` shows every role held, filtered by role and region prefix, `passwd` sets the
password an API or console login checks (argon2id, `store.accounts`; `add --password` sets it at
once). A password typed at the prompt is not echoed; `--password` is for scripts. Every refusal
is one message naming the option.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cli.base import app, fail, migrated_db, open_db, out

users_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="用户与角色 users：村、乡镇、县、部门、企业…"
)
app.add_typer(users_app, name="users")

ROLE_HELP = "village | township | county | department | enterprise | policy_writer | supervisor"
Name = Annotated[str, typer.Argument(help="用户名（登录名，唯一）")]
Role = Annotated[str, typer.Option("--role", help=ROLE_HELP)]
Region = Annotated[
    str | None,
    typer.Option(
        "--region", help="区划代码：村 12 位、乡镇 9 位、县/部门/督查/政策编写 6 位；企业可省略"
    ),
]
Dept = Annotated[str | None, typer.Option("--dept", help="县级部门名称（仅 department 角色）")]
CreditCode = Annotated[
    str | None, typer.Option("--credit-code", help="所代表企业的统一社会信用代码（仅 enterprise）")
]


Password = Annotated[
    str | None,
    typer.Option("--password", help="登录密码（8–128 个字符）；省略则提示输入（不回显）"),
]


def _store(
    grant: bool,
    name: str,
    role: str,
    region: str | None,
    department: str | None,
    subject_key: str | None,
    password: str | None = None,
) -> None:
    from store.accounts import check_password, set_password
    from store.db import migrate, write_session
    from store.users import UserError, add_user, grant_role

    engine = open_db()
    try:
        if password is not None:
            check_password(password)  # refused before anything is stored
        migrate(engine)
        with write_session(engine) as session:
            done = (grant_role if grant else add_user)(
                session=session, name=name, role=role, region=region,
                department=department, subject_key=subject_key,
            )  # fmt: skip
            if password is not None:
                set_password(session=session, name=done.name, password=password)
            rows = done.roles
    except UserError as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    held = "；".join(f"{r.label}（{r.role}）{_where(r.region_code, r.department)}" for r in rows)
    verb = "已为用户" if grant else "已添加用户"
    out.print(f"{verb} {done.name} 授予角色：{held}", highlight=False)


def _where(region: str | None, department: str | None) -> str:
    return " ".join(x for x in (region, department) if x)


@users_app.command("add")
def add_command(
    name: Name,
    role: Role,
    region: Region = None,
    dept: Dept = None,
    credit_code: CreditCode = None,
    password: Annotated[
        str | None,
        typer.Option("--password", help="登录密码（8–128 个字符）；也可以之后用 passwd 设置"),
    ] = None,
) -> None:
    """添加用户 add：一个人、一个角色（同一人再加角色用 zhida users grant）。"""
    _store(False, name, role, region, dept, credit_code, password)


@users_app.command("grant")
def grant_command(
    name: Name,
    role: Role,
    region: Region = None,
    dept: Dept = None,
    credit_code: CreditCode = None,
) -> None:
    """授予角色 grant：给已有用户再加一个角色（仍是同一人，职责分离按人判断）。"""
    _store(True, name, role, region, dept, credit_code)


@users_app.command("passwd")
def passwd_command(name: Name, password: Password = None) -> None:
    """设置密码 passwd：设置（或重设）用户登录接口和控制台的密码（argon2 加密保存）。"""
    from store.accounts import set_password
    from store.db import write_session
    from store.users import UserError

    if password is None:
        password = typer.prompt("新密码", hide_input=True, confirmation_prompt=True)
    engine = migrated_db()
    try:
        with write_session(engine) as session:
            user = set_password(session=session, name=name, password=password)
    except UserError as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    out.print(f"已为用户 {user.name} 设置密码", highlight=False)


@users_app.command("list")
def list_command(
    role: Annotated[str | None, typer.Option("--role", help=ROLE_HELP)] = None,
    region: Annotated[
        str | None, typer.Option("--region", help="区划代码前缀，如 520602（含其下各级）")
    ] = None,
) -> None:
    """列出用户 list：用户名、角色、辖区、部门或所代表企业、状态。"""
    from rich.table import Table

    from store.db import read_session
    from store.users import UserError, list_users

    engine = migrated_db()
    try:
        with read_session(engine) as session:
            rows = list_users(session=session, role=role, region=region)
    except UserError as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    if not rows:
        out.print("没有符合条件的用户（zhida users add …）", highlight=False)
        return
    table = Table("用户名", "角色", "辖区代码", "部门 / 企业", "状态")
    for r in rows:
        state = "有效" if r.disabled_at is None else f"已停用（{r.disabled_at:%Y-%m-%d}）"
        table.add_row(
            r.name,
            f"{r.label}\n{r.role}",
            r.region_code or "",
            r.department or r.subject_key or "",
            state,
        )
    out.print(table)
