"""Static checks of rule files: everything the loader refuses, plus what it only warns about.

`lint_tree` reports every problem it can find (one per file for a file that does not load),
where `load_catalogue` stops at the first. Checks that need evaluating the tests (thresholds
covered on both sides) live in `matcher.coverage`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rules import ir
from rules.catalogue import (
    FACTS_FILE,
    Catalogue,
    CompiledBundle,
    CompiledPolicy,
    compile_file,
    cross_check,
    load_facts,
    param_value,
    rule_files,
)
from rules.errors import Location, RuleError

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


def find_root(path: Path) -> Path:
    """The policies folder for `path`: the nearest folder (itself or above) with facts.yaml."""
    here = path if path.is_dir() else path.parent
    for folder in (here, *here.parents):
        if (folder / FACTS_FILE).exists():
            return folder
    raise RuleError(
        Location(str(path)),
        f"no {FACTS_FILE} found in {here} or above",
        "run lint on a policies folder or a file inside one",
    )


def lint_tree(path: Path | str) -> tuple[list[Diagnostic], Catalogue | None]:
    """Lint every rule file under `path` (or just that file); the catalogue if all loaded."""
    target = Path(path)
    root = find_root(target)
    try:
        facts = load_facts(root)
    except RuleError as exc:
        return [Diagnostic.of(exc)], None
    files = [target] if target.is_file() else rule_files(target)
    found: list[Diagnostic] = []
    policies: dict[str, CompiledPolicy] = {}
    bundles: dict[str, CompiledBundle] = {}
    for file in files:
        try:
            item = compile_file(file, facts, str(file))
        except RuleError as exc:
            found.append(Diagnostic.of(exc))
            continue
        if isinstance(item, CompiledBundle):
            bundles[item.id] = item
        else:
            policies[item.id] = item
            found.extend(policy_warnings(item))
    catalogue = Catalogue(facts, policies, bundles, "lint")
    if target.is_dir():
        found.extend(Diagnostic.of(e) for e in cross_check(catalogue))
    complete = not any(d.severity == "error" for d in found)
    return found, catalogue if complete else None


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
