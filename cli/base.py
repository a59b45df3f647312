"""The `zhida` application object and what every command shares, importing almost nothing.

`zhida --help` must answer at once, so this module and every command module import only the
standard library and typer at the top; each command imports the packages it needs (the rules,
the engines, the database, the spreadsheets) inside its body. Types used only in annotations are
imported under `TYPE_CHECKING`. tests/test_cli_startup.py holds this to account.

The catalogue is found, in order: `--policies` (alias `--root`), `ZHIDA_POLICIES`, the
`policies/` folder of a checkout, and the copy packaged inside an installed wheel.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from rules.catalogue import Catalogue

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help as plain text: fast, and `[` in a help text prints as written
    help="直达 zhida：政策规则、匹配、导入与普查。每个命令用 --help 查看说明。",
)


class _LazyConsole:
    """A rich Console made on first use: importing rich costs a tenth of a second."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return getattr(self._console, name)


out = cast("Console", _LazyConsole(soft_wrap=True))
err = cast("Console", _LazyConsole(stderr=True, soft_wrap=True))


def default_root() -> Path:
    """The catalogue when no option says: ZHIDA_POLICIES, the checkout's, or the packaged one."""
    if env := os.environ.get("ZHIDA_POLICIES"):
        return Path(env)
    checkout = Path(__file__).resolve().parent.parent / "policies"
    if (checkout / "facts.yaml").is_file():
        return checkout
    return Path(__file__).resolve().parent / "catalogue"


DEFAULT_ROOT = default_root()
Root = Annotated[
    Path,
    typer.Option("--policies", "--root", help="政策目录文件夹 the policies folder (含 facts.yaml)"),
]


@app.callback()
def _main(
    log_level: Annotated[
        str,
        typer.Option(
            "--log-level", envvar="ZHIDA_LOG_LEVEL", help="日志级别 DEBUG, INFO, WARNING…"
        ),
    ] = "WARNING",
) -> None:
    """直达 zhida：政策规则、匹配、导入与普查（日志中的身份证号一律脱敏）。"""
    from matcher.profiles.logs import configure_logging

    configure_logging(log_level)


def load(root: Path) -> Catalogue:
    """The catalogue at `root`, or one clear message and exit 2."""
    from rich.text import Text

    from rules.catalogue import load_catalogue
    from rules.errors import RuleError

    try:
        return load_catalogue(root)
    except RuleError as exc:
        err.print(Text(str(exc), style="red"))  # as written: no markup, no :emoji: codes
        err.print(Text(f"(运行 zhida lint {root} 查看全部问题)"))
        raise typer.Exit(2) from None


def on_date(text: str | None, option: str = "--on") -> date:
    """A YYYY-MM-DD option as a date (today when absent), or one clear message and exit 2."""
    try:
        return date.fromisoformat(text) if text else date.today()
    except ValueError:
        err.print(f"[red]{option} {text!r}：应为日期 YYYY-MM-DD[/]", highlight=False)
        raise typer.Exit(2) from None


@contextmanager
def progress(label: str) -> Iterator[Callable[[int, int | None], None] | None]:
    """A rich progress bar on stderr when it is a terminal; nothing otherwise."""
    if not err.is_terminal:
        yield None
        return
    from rich.markup import escape
    from rich.progress import Progress

    with Progress(console=err, transient=True) as bar:
        task = bar.add_task(escape(label), total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)
