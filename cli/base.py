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
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, cast

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy import Engine

    from matcher.events.reactions import Reactions
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


out = cast("Console", _LazyConsole(soft_wrap=True, emoji=False))  # `:x:` prints as written
err = cast("Console", _LazyConsole(stderr=True, soft_wrap=True, emoji=False))


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


def load_reactions(root: Path, catalogue: Catalogue) -> Reactions:
    """The delivery reactions beside the catalogue at `root`, or one clear message and exit 2
    (a reaction file that is wrong, or rules durable-rules refuses)."""
    from matcher.events.reactions import Reactions
    from rules.errors import ZhidaError

    try:
        return Reactions.load(root, catalogue)
    except ZhidaError as exc:
        fail(str(exc))


def on_date(text: str | None, option: str = "--on", *, future: bool = True) -> date:
    """A YYYY-MM-DD option as a date, or one clear message and exit 2.

    Args:
        text: the option's text; absent means today in Asia/Shanghai (`rules.clock.today`),
            whatever the machine's time zone (the scheduler's jobs use the same day).
        option: the option's name, for the message.
        future: whether a date after today is allowed (a change cannot be dated later).

    Returns:
        The date.
    """
    from rules.clock import future_date_message, today

    try:
        day = date.fromisoformat(text) if text else today()
    except ValueError:
        err.print(f"[red]{option} {text!r}：应为日期 YYYY-MM-DD[/]", highlight=False)
        raise typer.Exit(2) from None
    if not future and day > today():
        fail(future_date_message(day, option))
    return day


def fail(message: str) -> NoReturn:
    """Print one message in red on stderr, as written (no markup), and exit 2."""
    from rich.text import Text

    err.print(Text(message, style="red"), highlight=False)
    raise typer.Exit(2)


def count(value: int, option: str, *, least: int = 0) -> int:
    """An option that counts something, or one clear message and exit 2 when below `least`."""
    if value < least:
        fail(f"{option} {value}：应为不小于 {least} 的整数 (expected a whole number ≥ {least})")
    return value


def in_folder(path: Path, option: str) -> Path:
    """A path to write, or one clear message and exit 2 when its folder does not exist."""
    folder = path.parent
    if not folder.is_dir():
        found = "是一个文件，不是文件夹" if folder.exists() else "不存在"
        fail(
            f"{option} {path}：文件夹 {folder} {found} (no such folder)；"
            "应为已有文件夹中的文件：先建好文件夹，或改正路径"
        )
    if path.is_dir():
        fail(f"{option} {path}：这是一个文件夹 (a folder)；应为要写出的文件名")
    return path


def folder_to_make(path: Path, option: str) -> Path:
    """A folder to write into (made when missing), or one clear message and exit 2."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"{option} {path}：无法作为文件夹（{exc.strerror}）(not a folder)；应为可写的文件夹")
    return path


def open_db() -> Engine:
    """The configured database (DATABASE_URL, or SQLite in ZHIDA_DATA_DIR), or exit 2."""
    from store.db import DatabaseUnavailable, open_engine

    try:
        return open_engine()
    except DatabaseUnavailable as exc:
        fail(str(exc))


def migrated_db() -> Engine:
    """`open_db`, with the schema brought up to date (Alembic, idempotent)."""
    from store.db import migrate

    engine = open_db()
    migrate(engine)
    return engine


def region_prefix(region: str | None, option: str = "--region") -> str | None:
    """A region-code prefix option (None: every region), or one clear message and exit 2."""
    from store.sweep.runs import RegionError, validate_region

    try:
        return validate_region(region)
    except RegionError:
        fail(f"{option} {region!r}：应为 1–12 位数字的区划代码前缀（如 520602）")


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


def main(command: typer.Typer | None = None) -> None:
    """The `zhida` entry: the application, with a last line of defence against the unforeseen.

    Every input we know can be wrong is refused where it is read, with its own message. Should
    anything else still escape, the user sees one line naming the command, and the traceback
    goes to a log file (IDs masked) for whoever maintains the service; exit code 3.
    """
    try:
        (command or app)(prog_name="zhida")
    except Exception:  # the second line of defence: anything the commands did not foresee
        sys.exit(_internal_error())


def _internal_error() -> int:
    import tempfile
    import traceback

    from matcher.profiles.masking import mask_ids_in_text

    words = [a for a in sys.argv[1:3] if not a.startswith("-")]
    groups = {g.name for g in app.registered_groups}
    name = " ".join(words[:2] if words and words[0] in groups else words[:1])
    fd, log = tempfile.mkstemp(prefix="zhida-error-", suffix=".log")
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(mask_ids_in_text(traceback.format_exc()))
    print(f"zhida {name}：内部错误 (internal error)，详情见 {log}", file=sys.stderr)
    return 3
