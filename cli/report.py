"""`zhida report outcomes`: the seeds' measures per policy and bundle, and the 应享未享 list.

A thin shell over `store.claims.report` (docs/claims.md, "Outcomes report"): a Chinese table
per policy and bundle, then the entitlements eligible for `--days` days with no live claim;
`--json` prints the same as JSON.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from cli.base import DEFAULT_ROOT, Root, app, count, fail, migrated_db, on_date, out, region_prefix

if TYPE_CHECKING:
    from store.claims.report import OutcomesReport

report_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="报告 report：成效")
app.add_typer(report_app, name="report")

KINDS = {"grant": "免申即享", "claim": "申领", "bundle": "一件事"}
STATES = {"prepared": "待确认", "granted": "已授予", "confirmed": "已确认",
          "village_accepted": "村级已受理", "township_checked": "乡镇已审核",
          "county_approved": "县级已审批", "paid": "已发放", "returned": "退回补正",
          "rejected": "不予批准", "withdrawn": "已撤回"}  # fmt: skip
_LISTED = 50  # 应享未享 rows printed in the table; --json gives them all


MAX_DAYS = 3653  # ten years: a longer wait is a typo, and a date that far back may not exist


@report_app.command("outcomes")
def outcomes_command(
    region: Annotated[str | None, typer.Option("--region", help="区划代码前缀，如 520602")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
    on: Annotated[str | None, typer.Option("--on", help="统计日期 YYYY-MM-DD（默认今天）")] = None,
    days: Annotated[
        int, typer.Option("--days", help="符合条件满多少天仍未申领即列为应享未享")
    ] = 30,
    root: Root = DEFAULT_ROOT,
) -> None:
    """成效报告 outcomes：每项政策与一件事的办理次数、材料、跑动、时长、超期与应享未享。"""
    from rules.errors import ZhidaError
    from store.claims.report import outcomes
    from store.db import read_session

    prefix, day, wait = region_prefix(region), on_date(on), count(days, "--days")
    if wait > MAX_DAYS:
        fail(f"--days {wait}：应为 0 至 {MAX_DAYS} 之间的天数（十年以内）")
    engine = migrated_db()
    try:
        with read_session(engine) as session:
            report = outcomes(session, region=prefix, today=day, root=root, days=wait)
    except ZhidaError as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    if as_json:
        out.print_json(json.dumps(report.as_json(), ensure_ascii=False))
        return
    _print(report)


def _states(claims: dict[str, dict[str, int]]) -> str:
    return "；".join(
        f"{KINDS.get(k, k)} " + "、".join(f"{STATES.get(s, s)} {n}" for s, n in sorted(c.items()))
        for k, c in sorted(claims.items())
    )


def _print(report: OutcomesReport) -> None:
    from rich.table import Table

    where = report.region or "全部地区"
    table = Table(title=f"成效报告（{where}，截至 {report.today.isoformat()}）", show_lines=True)
    for header in ("政策 / 一件事", "申领（类型、状态）", "每项待遇需本人办理", "材料 需提供/总数",
                   "跑动 原需→现需", "领取用时（天）中位/最长", "超期"):  # fmt: skip
        table.add_column(header)
    for g in (g.as_json() for g in report.groups):
        per = g["actions_per_delivered"] or "—"
        took = f"{g['days_to_pay_median']} / {g['days_to_pay_max']}" if g["paid"] else "—"
        table.add_row(
            f"{'【一件事】' if g['kind'] == 'bundle' else ''}{g['title']}\n{g['id']}",
            _states(g["claims"]), f"{per} 次",
            f"{g['materials_asked']} / {g['materials_required']}",
            f"{g['visits_without']} → {g['visits_with']}（{g['taken_up']} 件）", took,
            str(g["overdue"]),
        )  # fmt: skip
    out.print(table)
    n = len(report.unclaimed)
    out.print(f"应享未享（符合条件满 {report.days} 天仍无申领）：{n:,} 项", highlight=False)
    for u in report.unclaimed[:_LISTED]:
        out.print(f"  {u.subject_key}  {u.region}  {u.title}（{u.department}）  "
                  f"自 {u.eligible_since.isoformat()} 起 {u.days} 天", highlight=False)  # fmt: skip
    if n > _LISTED:
        out.print(f"  …… 另有 {n - _LISTED:,} 项（--json 列出全部）", highlight=False)
