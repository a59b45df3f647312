"""Checks that span rule files: duplicate ids, `excludes`, bundle members and `bundle:` references.

They work on `Entry`s — what one file says about its neighbours — so that `zhida lint FILE` can
check one file against the rest of the catalogue without compiling every other file. A reference
to an id whose own file is broken is not reported again: that file's error is the root cause.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from rules.errors import Location, RuleError
from rules.yaml_safe import Loaded

Kind = Literal["policy", "bundle"]


@dataclass(frozen=True)
class Entry:
    """One rule file as its neighbours see it.

    `loaded` is set for a file whose problems are reported (one being linted); None for a file
    only read for its ids.
    """

    kind: Kind
    id: str
    path: str
    subject: str | None = None
    bundle: str | None = None
    members: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    loaded: Loaded | None = None

    def where(self, path: tuple[Any, ...]) -> Location:
        """The position of `path` in this file (1:1 when the file was not read with positions)."""
        return self.loaded.where(path) if self.loaded is not None else Location(self.path, 1, 1)


def cross_check(entries: Iterable[Entry], broken: frozenset[str] = frozenset()) -> list[RuleError]:
    """Cross-file problems of the entries that have `loaded` set: duplicates, then references."""
    every = list(entries)
    return duplicates(every) + references(every, broken)


def references(entries: Iterable[Entry], broken: frozenset[str] = frozenset()) -> list[RuleError]:
    """Unknown `excludes`, bundle members and `bundle:` of the entries that have `loaded` set.

    Args:
        entries: every rule file of the catalogue that loaded.
        broken: ids of files that did not load; references to them are not reported.
    """
    every = list(entries)
    policies = {e.id: e for e in every if e.kind == "policy"}
    bundles = {e.id: e for e in every if e.kind == "bundle"}
    problems: list[RuleError] = []
    for e in every:
        if e.loaded is None:
            continue
        if e.kind == "policy":
            problems += _policy_refs(e, policies, bundles, broken)
        else:
            problems += _bundle_refs(e, policies, broken)
    return problems


def duplicates(entries: Iterable[Entry]) -> list[RuleError]:
    """An id used by two files of one kind, reported once (at a file that has `loaded` set)."""
    groups: dict[tuple[Kind, str], list[Entry]] = defaultdict(list)
    for e in sorted(entries, key=lambda e: e.path):
        groups[(e.kind, e.id)].append(e)
    problems = []
    for same in groups.values():
        shown = [e for e in same[1:] if e.loaded is not None] or [
            e for e in same[:1] if e.loaded is not None and len(same) > 1
        ]
        for e in shown:
            others = ", ".join(o.path for o in same if o is not e)
            problems.append(
                RuleError(
                    e.where(("id",)),
                    f"id `{e.id}` is used twice",
                    f"also in {others}; every {e.kind} needs its own id",
                )
            )
    return problems


def _policy_refs(
    e: Entry, policies: dict[str, Entry], bundles: dict[str, Entry], broken: frozenset[str]
) -> list[RuleError]:
    problems = [
        _unknown(e, ("excludes", i), "excludes", other, set(policies))
        for i, other in enumerate(e.excludes)
        if other not in policies and other not in broken
    ]
    if e.bundle is None or e.bundle in broken:
        return problems
    bundle = bundles.get(e.bundle)
    if bundle is None:
        problems.append(_unknown(e, ("bundle",), "bundle", e.bundle, set(bundles)))
    elif e.id not in bundle.members:
        problems.append(
            RuleError(
                e.where(("bundle",)),
                f"policy says it belongs to `{e.bundle}`, which does not list it",
                f"add `{e.id}` to its `members` ({bundle.path})",
            )
        )
    return problems


def _bundle_refs(e: Entry, policies: dict[str, Entry], broken: frozenset[str]) -> list[RuleError]:
    problems = []
    for i, member in enumerate(e.members):
        policy = policies.get(member)
        if policy is None and member not in broken:
            problems.append(_unknown(e, ("members", i), "bundle member", member, set(policies)))
        elif policy is not None and policy.subject not in (e.subject, None):
            problems.append(
                RuleError(
                    e.where(("members", i)),
                    f"bundle member `{member}` is about another subject",
                    f"a {e.subject} bundle holds {e.subject} policies only",
                )
            )
    return problems


def _unknown(e: Entry, path: tuple[Any, ...], what: str, name: str, known: set[str]) -> RuleError:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    hint = f"did you mean `{close[0]}`?" if close else "no policy has that id"
    return RuleError(e.where(path), f"{what} `{name}` does not exist", hint)
