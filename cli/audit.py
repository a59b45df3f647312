"""`zhida audit`: verify the hash-chained audit log, and print its head for the daily export.

A thin shell over `store.audit.log` (RELIABILITY D6). The chain catches an altered field, a deleted
record, reordered records and a changed rule version by itself; a removed tail is caught only
against a head exported earlier, so an operator exports `zhida audit head` daily and checks
with `zhida audit verify --head HASH`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer

from cli.base import app, err, open_db, out

if TYPE_CHECKING:
    from store.audit.log import VerifyReport

audit_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="审计日志 audit：核验哈希链，打印末条"
)
app.add_typer(audit_app, name="audit")

Head = Annotated[
    str | None,
    typer.Option("--head", help="a head hash exported earlier (also catches a removed tail)"),
]


def _verify(head: str | None) -> tuple[VerifyReport, float]:
    """The report, and the seconds verifying took (reading and hashing, not migrating)."""
    from store.audit.log import verify
    from store.db import migrate, read_session

    engine = open_db()
    try:
        migrate(engine)
        with read_session(engine) as session:
            started = time.perf_counter()
            return verify(session=session, head=head), time.perf_counter() - started
    finally:
        engine.dispose()


@audit_app.command("verify")
def verify_command(head: Head = None) -> None:
    """核验审计日志 verify：重算哈希链，完好时打印末条，否则指出第一条被改动的记录。"""
    from rich.text import Text

    report, seconds = _verify(head)
    if not report.ok:
        err.print(Text(f"审计日志被改动：seq {report.first_bad}：{report.reason}", style="red"))
        err.print(
            f"它之前的 {report.checked:,} 条记录核验无误"
            f"（最后完好的一条：seq {report.head_seq} hash {report.head_hash}）",
            highlight=False,
        )
        raise typer.Exit(1)
    rate = f"（每秒 {report.checked / seconds:,.0f} 条）" if report.checked else ""
    out.print(
        f"[green]审计日志完好[/]：核验 {report.checked:,} 条记录，用时 {seconds:.2f} 秒{rate}",
        highlight=False,
    )
    out.print(f"末条 head seq {report.head_seq} hash {report.head_hash}", highlight=False)


@audit_app.command("head")
def head_command() -> None:
    """审计日志末条 head：打印最后一条的序号和哈希，每日导出，可发现被删除的末尾。"""
    from store.audit.log import current_head
    from store.db import migrate, read_session

    engine = open_db()
    try:
        migrate(engine)
        with read_session(engine) as session:
            seq, digest = current_head(session=session)
    finally:
        engine.dispose()
    out.print(f"末条 head seq {seq} hash {digest}", highlight=False)
