"""`zhida claims export | paid`: a county department's payment batch out, its payments back in.

`export DEPT --out FILE.xlsx --as USER` writes the department's approved claims and 免申即享
grants waiting for payment (one row per policy, full ID numbers: the one place they appear;
`store.claims.export`). The user must hold the role `department` of DEPT, or `county`; the
county is the role's region. The export is audited (who, department, rows, the file's SHA-256).

`paid FILE --as USER` records the payments a department filled in (the export itself, with
发放日期 and 发放凭证号 filled, or any sheet with 申领编号, 发放日期, 发放凭证号 and optionally
分项编号; `store.claims.payments`): each valid row is recorded, a replayed file changes
nothing, and each refused row is named by row and column (exit code 2 when any was refused).

`register(app)` adds both to the `claims` app (called from `cli.claims`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.base import DEFAULT_ROOT, Root, err, fail, in_folder, migrated_db, out

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from rules.workflow import Actor

Dept = Annotated[
    str, typer.Argument(help="县级部门名称，与政策的 department 一致，如 县医疗保障局")
]
Out = Annotated[Path, typer.Option("--out", help="导出的文件（.xlsx；.csv 为 UTF-8 带 BOM）")]
As = Annotated[str, typer.Option("--as", help="办理人用户名（zhida users list）")]
File = Annotated[Path, typer.Argument(help="发放文件（.xlsx 或 .csv）：导出表填好发放日期与凭证号")]
_SHOWN = 30  # problems printed; the rest are counted


def _county_of(engine: Engine, user: str, department: str) -> str:
    """The county the user may export `department` of: a department role of it, or county."""
    from store.db import read_session
    from store.users import get_user

    with read_session(engine) as session:
        found = get_user(session=session, name=user)
    if found is None or found.disabled_at is not None:
        fail(f"--as {user}：用户不存在或已停用；应为 zhida users list 列出的用户名")
    for r in found.roles:
        if r.role == "department" and r.department == department and r.region_code:
            return r.region_code[:6]
    for r in found.roles:
        if r.role == "county" and r.region_code:
            return r.region_code[:6]
    held = "、".join(
        f"{r.role}{f'（{r.department}）' if r.department else ''}" for r in found.roles
    )
    fail(
        f"--as {user}：其角色为 {held or '（无）'}；导出「{department}」的发放清单须有该部门的 "
        "department 角色，或 county 角色"
    )


def _department_actor(engine: Engine, user: str) -> Actor:
    from store.db import read_session
    from store.users import UserError, actor_of

    try:
        with read_session(engine) as session:
            return actor_of(session=session, name=user, role="department")
    except UserError as exc:
        fail(f"--as {user}：{exc}；登记发放须由县级部门用户（department 角色）办理")


def export_command(dept: Dept, out_path: Out, user: As = "") -> None:
    """导出发放清单 export：本部门已审批的申领与待发放的免申即享（含完整身份证号）。"""
    from store.claims.export import export_batch

    if not user:
        fail("--as：应给出办理人用户名（zhida users list）")
    if out_path.suffix.lower() not in (".xlsx", ".csv"):
        fail(f"--out {out_path}：文件类型为 {out_path.suffix or '无扩展名'}；应为 .xlsx 或 .csv")
    in_folder(out_path, "--out")
    engine = migrated_db()
    try:
        county = _county_of(engine, user, dept)
        try:
            rows, digest = export_batch(
                engine, who=user, department=dept, county=county, path=out_path
            )
        except OSError as exc:
            fail(f"--out {out_path}：无法写入（{exc.strerror}）；应为可写的文件")
    finally:
        engine.dispose()
    parts = len({r.part_id for r in rows})
    out.print(
        f"已导出「{dept}」（{county}）{len(rows):,} 行、{parts:,} 个分项到 {out_path}；"
        f"SHA-256 {digest}",
        highlight=False,
    )
    if not rows:
        out.print("（没有待发放的申领：县级审批通过或免申即享的分项才会导出）", highlight=False)


def paid_command(file: File, user: As = "", root: Root = DEFAULT_ROOT) -> None:
    """登记发放 paid：按发放文件逐行登记（按分项幂等，重复导入不重复登记）。"""
    from store.claims.payments import read_payments, record_payments

    if not user:
        fail("--as：应给出办理人用户名（zhida users list）")
    rows, problems = read_payments(file)
    if not rows and problems and problems[0].row in (None, 1):
        fail("；".join(str(p) for p in problems))
    engine = migrated_db()
    try:
        actor = _department_actor(engine, user)
        done = record_payments(engine, rows, actor, user, root)
    finally:
        engine.dispose()
    problems = sorted([*problems, *done.problems], key=lambda p: p.row or 0)
    out.print(
        f"{file.name}：登记发放 {len(done.recorded):,} 个分项，"
        f"此前已登记 {len(done.already):,} 个，有问题 {len(problems):,} 行",
        highlight=False,
    )
    if problems:
        from rich.text import Text

        for p in problems[:_SHOWN]:
            err.print(Text(f"  {file.name} {p}", style="red"), highlight=False)
        if len(problems) > _SHOWN:
            err.print(f"  …… 另有 {len(problems) - _SHOWN:,} 行有问题", highlight=False)
        raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    """Add `export` and `paid` to the `claims` app (once: a second call adds nothing)."""
    have = {c.name for c in app.registered_commands}
    for name, command in (("export", export_command), ("paid", paid_command)):
        if name not in have:
            app.command(name)(command)
