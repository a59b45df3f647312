"""The `tests:` cases of policy files: run them (for `zhida test` and pytest), check that each
case's profile is valid (a lint error at the field itself) and that every threshold is tested on
both sides (a lint warning).

`check(path)` is what `zhida lint` and `zhida test` share: the rule files at `path` in their
catalogue, with every problem `zhida test` would refuse to run on; delivery reaction files at
`path` are checked too (`matcher.explain.reaction_cases`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matcher.interpreter.match import PolicyResult, evaluate_policy, explain_condition
from matcher.profiles.errors import ProfileError
from matcher.profiles.facts import Facts
from matcher.profiles.masking import mask_ids_in_text
from matcher.profiles.subjects import facts_for
from rules import ir
from rules.catalogue import Catalogue, CompiledPolicy
from rules.errors import Location, ZhidaError
from rules.lint import Diagnostic, lint_workspace
from rules.reactions import ReactionFile
from rules.schema import TestCase
from rules.workspace import Workspace, open_workspace


@dataclass(frozen=True)
class CaseOutcome:
    """One case run: passed, or what differed."""

    policy_id: str
    name: str
    location: Location
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """Whether the policy said what the case expects."""
        return not self.problems


@dataclass(frozen=True)
class Checked:
    """Rule files checked in their catalogue: every finding, and the files as a catalogue."""

    workspace: Workspace
    diagnostics: list[Diagnostic]
    blocking: list[Diagnostic]  # what stops `zhida test`: a file or a case's profile refused
    reactions: tuple[ReactionFile, ...] = ()  # the sound delivery reaction files asked about

    @property
    def errors(self) -> list[Diagnostic]:
        """Every error (what makes `zhida lint` fail); `blocking` is a part of them."""
        return [d for d in self.diagnostics if d.severity == "error"]

    def catalogue(self) -> Catalogue:
        """The checked files as a catalogue (for running their cases)."""
        return self.workspace.catalogue("test")


def check(path: Path, fallback: Path | None = None) -> Checked:
    """Lint the rule files at `path`, their test cases' profiles, and their thresholds.

    Args:
        path: a rule file or folder (see `rules.workspace.open_workspace`).
        fallback: the catalogue a draft outside any catalogue is checked against.

    Raises:
        RuleError: `path` does not exist, or no catalogue applies.
    """
    workspace = open_workspace(path, fallback)
    found = lint_workspace(workspace)
    refused: list[Diagnostic] = []
    if workspace.facts is not None:
        catalogue = workspace.catalogue()
        refused = case_diagnostics(catalogue)
        found += refused
        bad = {d.location.file for d in refused}
        found += [w for w in threshold_warnings(catalogue) if w.location.file not in bad]
    from matcher.explain.reaction_cases import check_reactions  # it imports CaseOutcome

    reactions, findings = check_reactions(workspace)
    found += findings
    refused += [d for d in findings if d.severity == "error"]
    blocking = [Diagnostic.of(e) for e in workspace.problems] + refused
    return Checked(workspace, found, blocking, tuple(reactions))


def case_diagnostics(catalogue: Catalogue) -> list[Diagnostic]:
    """Each problem of each case's profile, at the field's own place in the rule file."""
    return [
        problem
        for policy in catalogue.policies.values()
        for i in range(len(policy.spec.tests))
        for problem in _case_problems(policy, i, catalogue)
    ]


def _case_problems(policy: CompiledPolicy, i: int, catalogue: Catalogue) -> list[Diagnostic]:
    case, subject, loaded = policy.spec.tests[i], policy.spec.subject, policy.loaded
    key = "household" if case.household is not None else "enterprise"
    named = f"用例「{case.name}」"
    if key != subject:
        where = loaded.key_where(("tests", i, key))
        return [Diagnostic("error", where, f"{subject} 政策的用例要写 `{subject}:`，不是 `{key}:`")]
    found = [
        Diagnostic(
            "error",
            loaded.where(("tests", i, "expect", "missing", k)),
            f"`expect.missing` 里的 `{name}` 不是已声明的事实",
            f"did you mean `{guess}`?" if (guess := catalogue.facts.suggest(name)) else named,
        )
        for k, name in enumerate(case.expect.missing or [])
        if name not in catalogue.facts.facts
    ]
    try:
        case_facts(policy, case, i, catalogue)
    except ProfileError as exc:
        found += [
            Diagnostic(
                "error",
                loaded.key_where(("tests", i, key, *json_path(issue.path))),
                mask_ids_in_text(f"用例档案 test case profile：{issue.message}"),
                named,
            )
            for issue in exc.issues
        ]
    return found


def json_path(text: str) -> tuple[Any, ...]:
    """`members[1].id_number` as keys and indices: ("members", 1, "id_number"); `$` is ()."""
    if text in ("", "$"):
        return ()
    parts: list[Any] = []
    for part in text.split("."):
        name, *indices = re.split(r"\[(\d+)\]", part)
        parts += [name] if name else []
        parts += [int(i) for i in indices if i]
    return tuple(parts)


def case_location(policy: CompiledPolicy, index: int) -> Location:
    """Where case `index` of `policy` is written."""
    return policy.loaded.where(("tests", index))


def case_facts(policy: CompiledPolicy, case: TestCase, index: int, catalogue: Catalogue) -> Facts:
    """The case's profile, validated and derived at the case's date."""
    raw = case.household if case.household is not None else case.enterprise
    assert raw is not None
    where = case_location(policy, index)
    return facts_for(raw, policy.spec.subject, catalogue.facts, case.on, source=str(where))


def run_case(policy: CompiledPolicy, index: int, catalogue: Catalogue) -> CaseOutcome:
    """Run case `index` of `policy` with the interpreter and compare with its `expect`."""
    case = policy.spec.tests[index]
    where = case_location(policy, index)
    try:
        facts = case_facts(policy, case, index, catalogue)
    except ZhidaError as exc:
        return CaseOutcome(policy.id, case.name, where, (f"profile refused: {exc}",))
    if (case.household is None) != (policy.spec.subject == "enterprise"):
        problem = f"a {policy.spec.subject} policy needs a `{policy.spec.subject}:` profile"
        return CaseOutcome(policy.id, case.name, where, (problem,))
    result = evaluate_policy(policy, facts, case.on)
    return CaseOutcome(policy.id, case.name, where, tuple(compare(case, result)))


def compare(case: TestCase, result: PolicyResult) -> Iterator[str]:
    """Each way `result` differs from what `case` expects."""
    expect = case.expect
    if result.status != expect.expected_status:
        why = result.note or "; ".join(
            f"{c.says}: {'未知' if c.verdict is None else '是' if c.verdict else '否'}"
            for c in result.conditions
        )
        yield f"expected {expect.expected_status}, got {result.status} ({why})"
    if expect.amount is not None and result.amount != expect.amount:
        # exact, to the fen: an expected 12.345 never matches (amounts are rounded to the fen)
        yield f"expected amount {expect.amount}, got {result.amount}"
    if expect.missing is not None and sorted(expect.missing) != list(result.missing):
        yield f"expected missing {sorted(expect.missing)}, got {list(result.missing)}"


def run_all(catalogue: Catalogue) -> list[CaseOutcome]:
    """Every case of every policy, in policy-id order."""
    return [
        run_case(policy, i, catalogue)
        for policy in catalogue.for_subject("household") + catalogue.for_subject("enterprise")
        for i in range(len(policy.spec.tests))
    ]


def threshold_warnings(catalogue: Catalogue) -> list[Diagnostic]:
    """Conditions with a threshold that no case sees both true and false."""
    found: list[Diagnostic] = []
    for policy in catalogue.policies.values():
        seen: dict[int, set[bool | None]] = {}
        for i, case in enumerate(policy.spec.tests):
            bound = policy.bind(case.on)
            try:
                facts = case_facts(policy, case, i, catalogue)
            except ZhidaError:
                continue
            if bound is None:
                continue
            for k, cond in enumerate(bound.conditions):
                seen.setdefault(k, set()).add(explain_condition(cond, facts).verdict)
        for k, cond in enumerate(policy.conditions):
            if ir.threshold(cond.expr) is None or {True, False} <= seen.get(k, set()):
                continue
            found.append(
                Diagnostic(
                    "warning",
                    cond.location,
                    f"threshold `{cond.text}` is not tested on both sides",
                    "add a case where it holds and one where it does not",
                )
            )
    return found
