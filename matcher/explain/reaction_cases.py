"""Delivery reaction files in `zhida lint` and `zhida test`: each checked against its catalogue,
and each `tests:` case run on durable-rules (`matcher.events.reactions`).

A case sends its event to the reactions of its own file only and expects the verbs of the
actions that follow, in order (`expect: []`: nothing happens).
"""

from __future__ import annotations

from collections.abc import Iterable

from matcher.events.reactions import Event, Reactions
from matcher.explain.cases import CaseOutcome
from rules.lint import Diagnostic
from rules.reactions import Ids, ReactionFile, check_reaction_file, duplicate_ids
from rules.workspace import Workspace

__all__ = ["check_reactions", "run_reaction_case", "run_reaction_cases"]


def check_reactions(workspace: Workspace) -> tuple[list[ReactionFile], list[Diagnostic]]:
    """The reaction files of `workspace` that are sound, and every finding about them.

    Unknown events, verbs, bundle and policy ids, reactions without actions, tests expecting
    a verb no reaction does and duplicate ids are errors; a file without tests is a warning.
    """
    ids = Ids.of_entries(workspace.entries)
    files: list[ReactionFile] = []
    found: list[Diagnostic] = []
    for path in workspace.reactions:
        checked, problems = check_reaction_file(path, ids, str(path))
        found += [Diagnostic.of(p) for p in problems]
        if checked is not None:
            files.append(checked)
    found += [Diagnostic.of(p) for p in duplicate_ids(files)]
    found += [
        Diagnostic(
            "warning",
            f.loaded.where(("id",)),
            "反应文件没有测试 (reaction file has no tests)",
            "add `tests:`: for each event, the verbs that must follow",
        )
        for f in files
        if not f.spec.tests
    ]
    return files, found


def run_reaction_case(file: ReactionFile, index: int) -> CaseOutcome:
    """Run test `index` of a reaction file on durable-rules and compare the verbs."""
    case = file.spec.tests[index]
    event = Event(case.event.name, case.event.subject, dict(case.event.attributes))
    got = [a.verb for a in Reactions([file]).react(event)]
    problems = () if got == case.expect else (f"expected {case.expect}, got {got}",)
    return CaseOutcome(file.id, case.name, file.test_location(index), problems)


def run_reaction_cases(files: Iterable[ReactionFile]) -> list[CaseOutcome]:
    """Every test of every reaction file, in file order."""
    return [run_reaction_case(f, i) for f in files for i in range(len(f.spec.tests))]
