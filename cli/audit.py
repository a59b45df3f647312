"""`zhida audit`: verify the hash-chained audit log, and print its head for the daily export.

A thin shell over `store.audit` (RELIABILITY D6). The chain catches an altered field, a deleted
record, reordered records and a changed rule version by itself; a removed tail is caught only
against a head exported earlier, so an operator exports `zhida audit head` daily and checks
with `zhida audit verify --head HASH`.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer

from cli import app, err, out
from store.audit import VerifyReport, current_head, verify
from store.db import migrate, open_engine, read_session

audit_app = typer.Typer(no_args_is_help=True, help="审计日志 audit log: verify the chain, its head")
app.add_typer(audit_app, name="audit")

Head = Annotated[
    str | None,
    typer.Option("--head", help="a head hash exported earlier (also catches a removed tail)"),
]


def _verify(head: str | None) -> tuple[VerifyReport, float]:
    """The report, and the seconds verifying took (reading and hashing, not migrating)."""
    engine = open_engine()
    try:
        migrate(engine)
        with read_session(engine) as session:
            started = time.perf_counter()
            return verify(session=session, head=head), time.perf_counter() - started
    finally:
        engine.dispose()


@audit_app.command("verify")
def verify_command(head: Head = None) -> None:
    """Recompute the chain: print the head when intact, or name the first broken record."""
    report, seconds = _verify(head)
    if not report.ok:
        err.print(f"[red]seq {report.first_bad}: {report.reason}[/]", highlight=False)
        err.print(
            f"{report.checked:,} records before it check out "
            f"(last good: seq {report.head_seq} hash {report.head_hash})",
            highlight=False,
        )
        raise typer.Exit(1)
    rate = f" ({report.checked / seconds:,.0f} records/s)" if report.checked else ""
    out.print(
        f"[green]audit log intact[/]: {report.checked:,} records checked in {seconds:.2f} s{rate}",
        highlight=False,
    )
    out.print(f"head seq {report.head_seq} hash {report.head_hash}", highlight=False)


@audit_app.command("head")
def head_command() -> None:
    """Print the last record's seq and hash: export this daily to catch a removed tail."""
    engine = open_engine()
    try:
        migrate(engine)
        with read_session(engine) as session:
            seq, digest = current_head(session=session)
    finally:
        engine.dispose()
    out.print(f"head seq {seq} hash {digest}", highlight=False)
