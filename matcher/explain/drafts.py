"""A policy writer's draft, sent as text: linted and tested as `zhida lint` / `zhida test` would.

    with draft_file(text, "water.yaml") as path: ...     # the text as a file in a temporary folder
    report = lint_draft(root, text, "water.yaml")          # diagnostics at water.yaml:14:9
    report = run_draft_tests(root, text, "water.yaml")          # each case passed, or what differed

The draft is written to a fresh temporary folder (outside any catalogue), so it is checked as
a draft against the served catalogue at `root`, in place of the policy with the same id or added
to it (`rules.workspace`). It is read only through the project's safe YAML loader. Every place
named in a finding is the writer's file name (`water.yaml:14:9`), never the temporary path.
`DraftRefused` carries what stops a publish: each (place, message).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matcher.explain.cases import CaseOutcome, check, run_all
from matcher.explain.reaction_cases import run_reaction_cases
from matcher.profiles.masking import mask_ids_in_text
from rules.candidate import Candidate, load_candidate
from rules.errors import Location, RuleError, ZhidaError
from rules.lint import Diagnostic

__all__ = [
    "DRAFT_NAME",
    "draft_candidate",
    "DraftRefused",
    "DraftReport",
    "draft_file",
    "lint_draft",
    "run_draft_tests",
]

DRAFT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}\.ya?ml$")
# what a YAML stream may not hold (the YAML 1.1 reader's printable set), and lone surrogates
_UNPRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


class DraftRefused(ZhidaError):
    """Raised when a draft may not be published: lint errors or failing test cases."""

    def __init__(self, detail: str, problems: list[tuple[str, str]]) -> None:
        super().__init__(detail)
        self.detail = detail
        self.problems = problems


@dataclass
class DraftReport:
    """A draft checked: its findings and, when it could run, its test cases."""

    name: str
    diagnostics: list[dict[str, Any]] = field(default_factory=list)
    cases: list[dict[str, Any]] = field(default_factory=list)
    ran: bool = False

    @property
    def errors(self) -> int:
        return sum(d["severity"] == "error" for d in self.diagnostics)

    @property
    def failed(self) -> int:
        return sum(not c["passed"] for c in self.cases)

    def refusals(self) -> list[tuple[str, str]]:
        """What stops a publish: each error, then each failing case, as (place, message)."""
        found = [(d["where"], _said(d)) for d in self.diagnostics if d["severity"] == "error"]
        found += [(c["where"], f"用例「{c['name']}」未通过：{'；'.join(c['problems'])}")
                  for c in self.cases if not c["passed"]]  # fmt: skip
        return found

    def as_data(self) -> dict[str, Any]:
        """JSON-ready: counts, diagnostics and cases."""
        return {
            "name": self.name,
            "ok": self.errors == 0 and self.failed == 0,
            "errors": self.errors,
            "warnings": len(self.diagnostics) - self.errors,
            "diagnostics": self.diagnostics,
            "ran": self.ran,
            "passed": len(self.cases) - self.failed,
            "failed": self.failed,
            "cases": self.cases,
        }


def _said(d: dict[str, Any]) -> str:
    return str(d["message"]) + (f"（{d['hint']}）" if d["hint"] else "")


def _printable(text: str, name: str) -> None:
    bad = _UNPRINTABLE.search(text)
    if bad is None:
        return
    line = text.count("\n", 0, bad.start()) + 1
    col = bad.start() - (text.rfind("\n", 0, bad.start()) + 1) + 1
    raise RuleError(
        Location(name, line, col),
        f"不可打印的字符 U+{ord(bad.group()):04X}（YAML 不允许控制字符）",
        "把文件另存为 UTF-8 纯文本，删去这个字符",
    )


@contextmanager
def draft_file(text: str, name: str) -> Iterator[Path]:
    """The draft's text as the file `name` in a temporary folder (removed afterwards).

    Raises:
        RuleError: the text holds a character YAML refuses (a control character), at its place.
    """
    _printable(text, name)
    with tempfile.TemporaryDirectory(prefix="zhida-draft-") as folder:
        path = Path(folder) / name
        path.write_text(text, encoding="utf-8")
        yield path


def _relocated(location: Location, path: Path, name: str) -> Location:
    shown = name if location.file in (str(path), path.as_posix()) else location.file
    return Location(shown.replace(str(path), name), location.line, location.col)


def _text(text: str, path: Path, name: str) -> str:
    return mask_ids_in_text(text.replace(str(path), name).replace(str(path.parent), "…"))


def _diagnostic(d: Diagnostic, path: Path, name: str) -> dict[str, Any]:
    at = _relocated(d.location, path, name)
    return {
        "severity": d.severity,
        "where": str(at),
        "file": at.file,
        "line": at.line,
        "col": at.col,
        "message": _text(d.message, path, name),
        "hint": _text(d.hint, path, name) if d.hint else None,
    }


def _case(o: CaseOutcome, path: Path, name: str) -> dict[str, Any]:
    return {
        "policy_id": o.policy_id,
        "name": o.name,
        "where": str(_relocated(o.location, path, name)),
        "passed": o.passed,
        "problems": [_text(p, path, name) for p in o.problems],
    }


def draft_candidate(root: Path, text: str, name: str) -> Candidate:
    """The catalogue at `root` with the draft in place of its policy (`rules.candidate`).

    Raises:
        RuleError: the draft, or the catalogue with it, does not load; named at `name:line:col`.
    """
    with draft_file(text, name) as path:
        try:
            return load_candidate(root, path)
        except RuleError as exc:
            hint = _text(exc.hint, path, name) if exc.hint else None
            where = _relocated(exc.location, path, name)
            raise RuleError(where, _text(exc.message, path, name), hint) from None


def lint_draft(root: Path, text: str, name: str) -> DraftReport:
    """`zhida lint` of the draft against the catalogue at `root` (errors and warnings).

    Raises:
        RuleError: no catalogue at `root`.
    """
    with draft_file(text, name) as path:
        checked = check(path, root)
        found = [_diagnostic(d, path, name) for d in checked.diagnostics]
    return DraftReport(name, found)


def run_draft_tests(root: Path, text: str, name: str) -> DraftReport:
    """`zhida test` of the draft: its lint errors, then (when nothing blocks) every case run.

    Raises:
        RuleError: no catalogue at `root`.
    """
    with draft_file(text, name) as path:
        checked = check(path, root)
        report = DraftReport(name, [_diagnostic(d, path, name) for d in checked.errors])
        if not checked.blocking:
            outcomes = run_all(checked.catalogue()) + run_reaction_cases(checked.reactions)
            report.cases = [_case(o, path, name) for o in outcomes]
            report.ran = True
    return report
