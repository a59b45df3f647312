"""Static checks of rule files: everything the loader refuses, plus what it only warns about.

`lint_tree` reports every problem it can find (one per file for a file that does not load),
where `load_catalogue` stops at the first. Checks that need the matcher (each test case's
profile, thresholds covered on both sides) live in `matcher.explain.cases`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rules import ir
from rules.catalogue import (
    FACTS_FILE,
    HOLIDAYS_FILE,
    Catalogue,
    CompiledPolicy,
    is_side_file,
    param_value,
    side_files,
)
from rules.errors import Location, RuleError
from rules.facts import FactCatalogue
from rules.workdays import check_holidays
from rules.workflow import check_workflow
from rules.workspace import Workspace, find_root, open_workspace
from rules.yaml_safe import load_file

__all__ = ["Diagnostic", "find_root", "lint_tree", "lint_workspace", "policy_warnings"]

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Diagnostic:
    """One lint finding."""

    severity: Severity
    location: Location
    message: str
    hint: str | None = None

    @classmethod
    def of(cls, error: RuleError, severity: Severity = "error") -> Diagnostic:
        """A diagnostic from a RuleError."""
        return cls(severity, error.location, error.message, error.hint)

    def __str__(self) -> str:
        hint = f" — {self.hint}" if self.hint else ""
        return f"{self.location}: {self.severity}: {self.message}{hint}"


def lint_tree(
    path: Path | str, fallback: Path | None = None
) -> tuple[list[Diagnostic], Catalogue | None]:
    """Lint every rule file under `path` (or just that file); the catalogue if all loaded.

    Args:
        path: a rule file or folder, inside a catalogue or (with `fallback`) a draft outside.
        fallback: the catalogue a draft outside any catalogue is checked against.

    Raises:
        RuleError: `path` does not exist, or no catalogue applies.
    """
    workspace = open_workspace(path, fallback)
    found = lint_workspace(workspace)
    complete = not any(d.severity == "error" for d in found)
    return found, workspace.catalogue() if complete else None


def lint_workspace(workspace: Workspace) -> list[Diagnostic]:
    """Every problem of the files of `workspace`, and the warnings that need no test run."""
    found = [Diagnostic.of(e) for e in (*workspace.problems, *workspace.links)]
    found += side_file_problems(workspace)
    if workspace.facts is None:
        return found
    if workspace.whole:
        found += fact_warnings(workspace.facts, workspace.root)
    for item in workspace.compiled:
        if isinstance(item, CompiledPolicy):
            found += material_problems(item, workspace.facts)
            found += policy_warnings(item)
    return found


def side_file_problems(workspace: Workspace) -> list[Diagnostic]:
    """The problems of the workflow and holiday files asked about (the catalogue's, or one)."""
    target = workspace.target
    if target.is_file():
        files = [target] if is_side_file(target) else []
    else:
        whole = not workspace.draft and target.resolve() == workspace.root.resolve()
        files = side_files(workspace.root) if whole else []
    found: list[Diagnostic] = []
    for path in files:
        check = check_holidays if path.name == HOLIDAYS_FILE else check_workflow
        found += [Diagnostic.of(e) for e in check(path)[1]]
    return found


def material_problems(policy: CompiledPolicy, facts: FactCatalogue) -> list[Diagnostic]:
    """A material whose `from` names no declared fact (the document could never be filled)."""
    found = []
    for i, material in enumerate(policy.spec.materials):
        name = material.source
        if name is None or name in facts.facts:
            continue
        guess = facts.suggest(name)
        found.append(
            Diagnostic(
                "error",
                policy.loaded.where(("materials", i, "from")),
                f"material `{material.name}` comes from `{name}`, which is not a declared fact",
                f"did you mean `{guess}`?" if guess else "declare it in facts.yaml or drop `from`",
            )
        )
    return found


def fact_warnings(facts: FactCatalogue, root: Path) -> list[Diagnostic]:
    """Facts without a `label:` (the name a person reads on a sheet and in a notice)."""
    loaded = load_file(root / FACTS_FILE)
    return [
        Diagnostic(
            "warning",
            loaded.key_where(("facts", name)),
            f"fact `{name}` has no `label:`",
            "add a short Chinese name, e.g. label: 月收入 (shown on sheets and to people)",
        )
        for name, fact in facts.facts.items()
        if not fact.label
    ]


def policy_warnings(policy: CompiledPolicy) -> list[Diagnostic]:
    """Unused parameters, parameters without a value when the policy starts, no tests."""
    spec, loaded = policy.spec, policy.loaded
    used: set[str] = set()
    for cond in policy.conditions:
        used |= ir.param_names(cond.expr)
    if policy.amount is not None:
        used |= ir.param_names(policy.amount)
    out: list[Diagnostic] = []
    for name, param in spec.parameters.items():
        where = loaded.where(("parameters", name))
        if name not in used:
            out.append(
                Diagnostic(
                    "warning",
                    where,
                    f"parameter `{name}` is never used",
                    "remove it or use it as params." + name,
                )
            )
        if param_value(param, spec.effective.start) is None:
            out.append(
                Diagnostic(
                    "warning",
                    where,
                    f"parameter `{name}` has no value on {spec.effective.start}",
                    "the policy starts before its first dated value",
                )
            )
    if not spec.tests:
        out.append(
            Diagnostic(
                "warning",
                loaded.where(("id",)),
                "policy has no tests",
                "add `tests:` with cases on both sides of every threshold",
            )
        )
    return out
