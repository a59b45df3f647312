"""A session-wide scan for full ID numbers in what tests see (RELIABILITY P1), as a pytest plugin.

A full ID number is anything ID-shaped, by the pattern the masking function uses
(`matcher.profiles.masking.ID_SHAPE`): 17 digits then a digit or X, or 15 digits, whatever the
check digit, province or birth date (a mistyped number is what an import refuses and reports), and
longer runs of digits (an ID inside them, a bank card); full-width digits count. A masked number
(`520***********0010`), a 16-digit household number, a 12-digit region code and a digest in hex are
not. For every test of the session the scan reads:

- the captured stdout, stderr and log sections of each phase's report (absent under `-s`);
- every log record, through a handler of its own on the root logger (independent of caplog and
  of the capture settings); our packages' loggers are lowered to DEBUG so debug lines count;
- the output (stdout and stderr) and the exception message of every `CliRunner.invoke`, typer's
  and click's, and what `capsys.readouterr()` hands a test (reading output consumes it);
- the output files the test leaves under its `tmp_path`.

The file rule. Only files named like exports (.xlsx .csv .json .txt .log .eml .html) are opened.
A file is an *input*, allowed full IDs, when its layout is one our readers take: a sheet or csv
whose first row has a `身份证号` cell (the household roster's ID column, `sheets.template`: what a
village uploads and what `demo-data` and `template` write), or JSON with an `id_number` key (a
profile, the `match` input). Every other such file is an *output*, scanned cell by cell, except
the `户主身份证号` column of a batch result's department sheets (header = `sheets.workbook`'s
department header) and the `store.claims.export.FULL_COLUMNS` of a department's payment batch
(header = `store.claims.export.HEADERS`: ID numbers, credit codes, held materials): the
places a full ID is written by design, so the department pays the right person. In an
enterprise roster (first row has `统一社会信用代码`, an input too) only that column is skipped:
public credit codes are often all digits, so ID-shaped. Files the upload guard refuses (zip
bombs) are hostile inputs and are skipped.

When anything was found, the session fails with a list: test id, where, the masked number.
"""

from __future__ import annotations

import csv
import json
import logging
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from matcher.profiles.masking import ID_SHAPE, mask_id
from sheets.guards import Limits, check_xlsx
from sheets.workbook import _DEPARTMENT
from store.claims.export import FULL_COLUMNS as CLAIMS_FULL
from store.claims.export import HEADERS as CLAIMS_EXPORT

__all__ = ["Finding", "find_ids", "scan_file", "scan_text"]

EXPORT_SUFFIXES = frozenset({".xlsx", ".csv", ".json", ".txt", ".log", ".eml", ".html"})
INPUT_ID_COLUMN = "身份证号"
DEPARTMENT_ID_COLUMN = "户主身份证号"
CREDIT_CODE_COLUMN = "统一社会信用代码"
OUR_LOGGERS = ("rules", "matcher", "store", "api", "jobs", "cli")
_MAX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Finding:
    """A full ID number seen by a test: where, and the number (shown masked only)."""

    test: str
    where: str
    number: str

    def __str__(self) -> str:
        return f"{self.test}  {self.where}  {mask_id(self.number)}"


def find_ids(text: str) -> list[str]:
    """Every ID-shaped run in `text`, NFKC-normalised and upper-case, each once, in order."""
    found: dict[str, None] = {}
    for match in ID_SHAPE.finditer(text):
        if match["id"] is not None:
            found[unicodedata.normalize("NFKC", match["id"]).upper()] = None
    return list(found)


def scan_text(text: str, where: str) -> list[tuple[str, str]]:
    """(where, number) for each full ID number in `text`."""
    return [(where, number) for number in find_ids(text)]


def _scan_rows(
    rows: Iterable[Iterable[Any]], where: Callable[[int, int, str], str]
) -> Iterator[tuple[str, str]]:
    """Cells of one table; a department sheet's head-ID column and an enterprise roster's
    credit-code column are allowed ID-shaped values."""
    allowed: set[int] = set()
    for r, row in enumerate(rows, start=1):
        cells = ["" if v is None else str(v) for v in row]
        if r == 1 and cells[: len(_DEPARTMENT)] == _DEPARTMENT:
            allowed = {_DEPARTMENT.index(DEPARTMENT_ID_COLUMN)}
        elif r == 1 and tuple(cells[: len(CLAIMS_EXPORT)]) == CLAIMS_EXPORT:
            # A department's payment batch (store.claims.export): the head's ID number, the
            # credit code and the held materials (bank account …) are written in full there.
            allowed = {CLAIMS_EXPORT.index(h) for h in CLAIMS_FULL}
        elif r == 1 and CREDIT_CODE_COLUMN in cells:
            # An enterprise roster (sheets.template's enterprise sheet) is an input, written by
            # `demo-data` and by tests as an upload. Its credit codes are public, and an
            # all-digit one (`915206020000000196`) has an ID's shape; only that column is
            # let through, so an ID number in any other column of the roster is still found.
            allowed = {cells.index(CREDIT_CODE_COLUMN)}
        for c, value in enumerate(cells):
            if c not in allowed:
                yield from ((where(r, c, value), n) for n in find_ids(value))


def _xlsx(path: Path) -> Iterator[tuple[str, str]]:
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    try:
        check_xlsx(path, Limits())
        book = load_workbook(path, read_only=True)
    except Exception:  # refused by the guard or unreadable: a hostile input, not an export
        return
    try:
        first = next(book.worksheets[0].iter_rows(max_row=1, values_only=True), ())
        if INPUT_ID_COLUMN in first:
            return
        for sheet in book.worksheets:

            def cell(r: int, c: int, _value: str, title: str = sheet.title) -> str:
                return f"sheet {title} cell {get_column_letter(c + 1)}{r}"

            yield from _scan_rows(sheet.iter_rows(values_only=True), cell)
    finally:
        book.close()


def _csv(path: Path) -> Iterator[tuple[str, str]]:
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        rows = list(csv.reader(handle))
    if rows and INPUT_ID_COLUMN in rows[0]:
        return
    yield from _scan_rows(rows, lambda r, c, _v: f"row {r} column {c + 1}")


def _has_key(value: Any, key: str) -> bool:
    if isinstance(value, dict):
        return key in value or any(_has_key(v, key) for v in value.values())
    return isinstance(value, list) and any(_has_key(v, key) for v in value)


def _text(path: Path) -> Iterator[tuple[str, str]]:
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".json":
        try:
            if _has_key(json.loads(text), "id_number"):
                return
        except ValueError:
            pass  # not JSON after all: scanned as text
    for i, line in enumerate(text.splitlines(), start=1):
        yield from scan_text(line, f"line {i}")


def scan_file(path: Path) -> list[tuple[str, str]]:
    """(where, number) for each full ID number in an output file; [] for an input (see above)."""
    suffix = path.suffix.lower()
    if suffix not in EXPORT_SUFFIXES or path.stat().st_size > _MAX_BYTES:
        return []
    reader = {".xlsx": _xlsx, ".csv": _csv}.get(suffix, _text)
    return list(reader(path))


class _Handler(logging.Handler):
    """Hands every formatted log record (exception text included) to the scan."""

    def __init__(self, scan: PiiScan) -> None:
        super().__init__(logging.NOTSET)
        self.scan = scan
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.scan.text(self.format(record), f"log {record.name}")


class PiiScan:
    """The plugin's state: the current test, what was found, what was patched (undone at end)."""

    def __init__(self) -> None:
        self.current = "(collection)"
        self.findings: dict[Finding, None] = {}
        self.handler = _Handler(self)
        self.undo: list[Callable[[], None]] = []

    def text(self, text: str, where: str) -> None:
        for place, number in scan_text(text, where):
            self.findings[Finding(self.current, place, number)] = None

    def start(self) -> None:
        root = logging.getLogger()
        root.addHandler(self.handler)
        self.undo.append(lambda: root.removeHandler(self.handler))
        for name in OUR_LOGGERS:
            logger, level = logging.getLogger(name), logging.getLogger(name).level
            logger.setLevel(logging.DEBUG)
            self.undo.append(lambda logger=logger, level=level: logger.setLevel(level))
        for module in ("typer.testing", "click.testing"):
            self._wrap_invoke(module)
        self._wrap(pytest.CaptureFixture, "readouterr", self._readouterr)

    def _wrap(self, owner: Any, name: str, make: Callable[[Any], Any]) -> None:
        original = getattr(owner, name)
        setattr(owner, name, make(original))
        self.undo.append(lambda: setattr(owner, name, original))

    def _wrap_invoke(self, module: str) -> None:
        try:
            runner = __import__(module, fromlist=["CliRunner"]).CliRunner
        except ImportError:
            return

        def make(original: Any) -> Any:
            def invoke(self_: Any, *args: Any, **kwargs: Any) -> Any:
                result = original(self_, *args, **kwargs)
                self.text(result.output, f"{module}.CliRunner output")
                if result.exception is not None and not isinstance(result.exception, SystemExit):
                    self.text(str(result.exception), f"{module}.CliRunner exception")
                return result

            return invoke

        self._wrap(runner, "invoke", make)

    def _readouterr(self, original: Any) -> Any:
        def readouterr(self_: Any) -> Any:
            captured = original(self_)
            self.text(str(captured.out), "capsys stdout")
            self.text(str(captured.err), "capsys stderr")
            return captured

        return readouterr

    def stop(self) -> None:
        while self.undo:
            self.undo.pop()()

    def files(self, root: Path) -> None:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            for where, number in scan_file(path):
                place = f"file {path.relative_to(root)} {where}"
                self.findings[Finding(self.current, place, number)] = None

    # --- hooks ---------------------------------------------------------------------------

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.current = nodeid

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if hasattr(report, "node"):  # relayed by a pytest-xdist worker, which scanned it itself
            return
        for title, content in report.sections:
            self.text(content, title)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Iterator[None]:
        tmp_path = getattr(item, "funcargs", {}).get("tmp_path")
        try:
            return (yield)
        finally:
            if isinstance(tmp_path, Path) and tmp_path.is_dir():
                self.files(tmp_path)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.stop()
        worker_output = getattr(session.config, "workeroutput", None)
        if worker_output is not None:  # a pytest-xdist worker: the controller reports
            worker_output[_WORKER_KEY] = [(f.test, f.where, f.number) for f in self.findings]
            return
        if self.findings and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """pytest-xdist: collect what a worker found (its tests ran in another process)."""
        for test, where, number in getattr(node, "workeroutput", {}).get(_WORKER_KEY, []):
            self.findings[Finding(test, where, number)] = None

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.findings:
            return
        terminalreporter.write_sep(
            "=", "PII scan: full ID numbers found (RELIABILITY P1)", red=True
        )
        for finding in self.findings:
            terminalreporter.write_line(str(finding))
        terminalreporter.write_line(
            f"{len(self.findings)} full ID number(s) outside the places that need them; mask them "
            "with matcher.profiles.masking.mask_id / mask_ids_in_text (tests/pii_scan.py)"
        )


_WORKER_KEY = "zhida_pii_findings"


def pytest_configure(config: pytest.Config) -> None:
    """Start the scan (once per session)."""
    if config.pluginmanager.has_plugin("zhida-pii-scan"):
        return
    scan = PiiScan()
    scan.start()
    config.pluginmanager.register(scan, "zhida-pii-scan")
