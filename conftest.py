"""Pytest plugin: every `tests:` case of every policy file and delivery reaction file is a test
item (like OpenFisca's YAML tests), so `make test` runs the whole catalogue's cases."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from matcher.explain.cases import run_case
from matcher.explain.reaction_cases import run_reaction_case
from rules.catalogue import Catalogue, is_reaction_file, is_side_file, load_catalogue
from rules.lint import find_root
from rules.reactions import ReactionFile, load_reactions


@cache
def _catalogue(root: Path) -> Catalogue:
    return load_catalogue(root)


@cache
def _reactions(root: Path) -> dict[Path, ReactionFile]:
    return {Path(f.path): f for f in load_reactions(root, _catalogue(root))}


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    """Collect policy and reaction files (not facts.yaml, not bundles, not test fixtures)."""
    if file_path.suffix != ".yaml" or file_path.name == "facts.yaml":
        return None
    if "policies" not in file_path.parts or "bundles" in file_path.parts:
        return None
    if "tests" in file_path.relative_to(parent.config.rootpath).parts or is_side_file(file_path):
        return None
    if is_reaction_file(file_path):
        return ReactionFileCollector.from_parent(parent, path=file_path)
    return PolicyFileCollector.from_parent(parent, path=file_path)


class PolicyFileCollector(pytest.File):
    """One policy file: one item per test case."""

    def collect(self) -> Iterator[pytest.Item]:
        catalogue = _catalogue(find_root(self.path))
        policy = next(p for p in catalogue.policies.values() if Path(p.path) == self.path)
        for index, case in enumerate(policy.spec.tests):
            yield PolicyCaseItem.from_parent(self, name=case.name, policy_id=policy.id, index=index)


class CaseItem(pytest.Item):
    """A `tests:` case of a rule file; a failure shows where and what, not a traceback."""

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: object = None
    ) -> str:
        if isinstance(excinfo.value, PolicyCaseFailure):
            where, problems = excinfo.value.args
            return f"{where}: {self.name}\n  " + "\n  ".join(problems)
        return str(super().repr_failure(excinfo))


class PolicyCaseItem(CaseItem):
    """One `tests:` case, run with the interpreter."""

    def __init__(self, *, policy_id: str, index: int, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.policy_id = policy_id
        self.index = index

    def runtest(self) -> None:
        catalogue = _catalogue(find_root(self.path))
        outcome = run_case(catalogue.policies[self.policy_id], self.index, catalogue)
        if not outcome.passed:
            raise PolicyCaseFailure(outcome.location, outcome.problems)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.policy_id}: {self.name}"


class PolicyCaseFailure(Exception):
    """A policy case did not give what it expects."""


class ReactionFileCollector(pytest.File):
    """One delivery reaction file: one item per test case."""

    def collect(self) -> Iterator[pytest.Item]:
        reactions = _reactions(find_root(self.path))[self.path]
        for index, case in enumerate(reactions.spec.tests):
            yield ReactionCaseItem.from_parent(self, name=case.name, index=index)


class ReactionCaseItem(CaseItem):
    """One `tests:` case of a reaction file, run on durable-rules."""

    def __init__(self, *, index: int, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.index = index

    def runtest(self) -> None:
        reactions = _reactions(find_root(self.path))[self.path]
        outcome = run_reaction_case(reactions, self.index)
        if not outcome.passed:
            raise PolicyCaseFailure(outcome.location, outcome.problems)
