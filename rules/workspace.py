"""What `zhida lint PATH` and `zhida test PATH` work on: some rule files, in their catalogue.

A file or folder inside a catalogue (a folder with facts.yaml, itself or above) is checked in
that catalogue. A draft outside any catalogue is checked in the project's (the `fallback`), as
if it were added to it, or put in place of the file that holds the same id. Only the files asked
about are compiled and reported on; every other file of the catalogue is only read for what its
neighbours need (its id, subject, bundle, members, excludes), which keeps `zhida lint FILE` fast.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rules.catalogue import (
    BUNDLES_DIR,
    FACTS_FILE,
    Catalogue,
    CompiledBundle,
    CompiledPolicy,
    compile_file,
    entry_of,
    is_reaction_file,
    is_side_file,
    load_facts,
    rule_files,
)
from rules.crossref import Entry, Kind, duplicates, references
from rules.errors import Location, RuleError
from rules.facts import FactCatalogue
from rules.yaml_safe import MAX_BYTES

__all__ = ["Workspace", "find_root", "open_workspace"]

_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_ID_LINE = re.compile(r"^id:\s*[\"']?([A-Za-z][\w.]*)", re.MULTILINE)


@dataclass(frozen=True)
class Workspace:
    """The files asked about, compiled, with every problem found in them."""

    target: Path
    root: Path
    draft: bool  # the files are outside `root`: checked as if added to its catalogue
    facts: FactCatalogue | None  # None when facts.yaml itself does not load
    compiled: tuple[CompiledPolicy | CompiledBundle, ...]
    problems: tuple[RuleError, ...]  # files that do not load: nothing of theirs can run
    links: tuple[RuleError, ...] = ()  # between files: ids, excludes, bundles
    reactions: tuple[Path, ...] = ()  # delivery reaction files asked about (rules.reactions)
    entries: tuple[Entry, ...] = ()  # every rule file of the catalogue, as neighbours see it

    def catalogue(self, version: str = "lint") -> Catalogue:
        """The compiled files as a catalogue (only the files asked about)."""
        assert self.facts is not None
        policies = {c.id: c for c in self.compiled if isinstance(c, CompiledPolicy)}
        bundles = {c.id: c for c in self.compiled if isinstance(c, CompiledBundle)}
        return Catalogue(self.facts, policies, bundles, version)

    @property
    def whole(self) -> bool:
        """Whether facts.yaml is among the files asked about (the whole catalogue, or itself)."""
        asked = self.target.resolve()
        root = self.root.resolve()
        return not self.draft and asked in (root, root / FACTS_FILE)


def find_root(path: Path) -> Path:
    """The policies folder for `path`: the nearest folder (itself or above) with facts.yaml.

    Raises:
        RuleError: no folder holds one.
    """
    found = _root_above(path)
    if found is None:
        raise _no_catalogue(path)
    return found


def _no_catalogue(path: Path) -> RuleError:
    return RuleError(
        Location(str(path)),
        f"no {FACTS_FILE} found in {path.parent if path.is_file() else path} or above",
        "run it on a policies folder or a file inside one",
    )


def _root_above(path: Path) -> Path | None:
    here = path.absolute() if path.is_dir() else path.absolute().parent
    return next((f for f in (here, *here.parents) if (f / FACTS_FILE).is_file()), None)


def _shown(path: Path) -> Path:
    """`path` relative to the working folder when it lies inside it (shorter messages)."""
    try:
        return path.relative_to(Path.cwd().absolute())
    except ValueError:
        return path


def open_workspace(path: Path | str, fallback: Path | None = None) -> Workspace:
    """Compile the rule files at `path` and check them against their catalogue.

    Args:
        path: a rule file or a folder of them.
        fallback: the catalogue for a draft outside any catalogue (None: refuse such a draft).

    Raises:
        RuleError: `path` does not exist, or no catalogue applies.
    """
    target = Path(path)
    if not target.exists():
        raise RuleError(Location(str(target)), "no such file or folder", "check the path")
    root = _root_above(target)
    root = None if root is None else _shown(root)
    draft = root is None
    if root is None:
        if fallback is None or not (fallback / FACTS_FILE).is_file():
            raise _no_catalogue(target)
        root = fallback
    try:
        facts = load_facts(root)
    except RuleError as exc:
        return Workspace(target, root, draft, None, (), (exc,))
    files = [target] if target.is_file() else rule_files(target)
    files = [
        f for f in files if f.name != FACTS_FILE and not is_reaction_file(f) and not is_side_file(f)
    ]
    reactions = _reaction_files(target)
    if draft and not files and not reactions:  # nothing to check: a folder mistaken for a catalogue
        raise RuleError(
            Location(str(target)),
            f"没有 {FACTS_FILE}，也没有政策文件（*.yaml）",
            "应为政策文件、政策文件夹，或用 --policies 指定含 facts.yaml 的政策目录",
        )
    compiled, problems, broken = _compile(files, facts, draft)
    mine = [entry_of(c) for c in compiled]
    replaced = {(e.kind, e.id) for e in mine} if draft else set()
    skip = {f.resolve() for f in files}
    entries, more_broken = _neighbours(root, skip, replaced)
    every = [*mine, *entries]
    problems += duplicates(every)  # a duplicate hides a file's cases: `zhida test` stops
    links = references(every, frozenset(broken | more_broken) - {""})
    return Workspace(
        target,
        root,
        draft,
        facts,
        tuple(compiled),
        tuple(problems),
        tuple(links),
        reactions,
        tuple(every),
    )


def _reaction_files(target: Path) -> tuple[Path, ...]:
    """The delivery reaction files at `target`: itself, or those in (or under) a folder."""
    if target.is_file():
        return (target,) if is_reaction_file(target) else ()
    return tuple(sorted(p for p in target.rglob("*.yaml") if is_reaction_file(p)))


def _compile(
    files: list[Path], facts: FactCatalogue, draft: bool
) -> tuple[list[CompiledPolicy | CompiledBundle], list[RuleError], set[str]]:
    compiled: list[CompiledPolicy | CompiledBundle] = []
    problems: list[RuleError] = []
    broken: set[str] = set()
    for file in files:
        kind = _draft_kind(file) if draft else None
        try:
            compiled.append(compile_file(file, facts, str(file), kind=kind))
        except RuleError as exc:
            problems.append(exc)
            broken.add(_guess_id(file))
    return compiled, problems, broken


def _draft_kind(file: Path) -> Kind:
    """A draft is a bundle when it sits in a `bundles/` folder or has a `gate:`."""
    if file.parent.name == BUNDLES_DIR:
        return "bundle"
    text = _text(file) or ""
    return "bundle" if re.search(r"^gate:", text, re.MULTILINE) else "policy"


def _neighbours(
    root: Path, skip: set[Path], replaced: set[tuple[Kind, str]]
) -> tuple[list[Entry], set[str]]:
    entries: list[Entry] = []
    broken: set[str] = set()
    for file in rule_files(root):
        if file.resolve() in skip:
            continue
        entry = _peek(file)
        if entry is None:
            broken.add(_guess_id(file))
        elif (entry.kind, entry.id) not in replaced:
            entries.append(entry)
    return entries, broken


def _peek(file: Path) -> Entry | None:
    """What a neighbour says about ids, read quickly; None when it cannot be read safely."""
    text = _text(file)
    if text is None:
        return None
    try:
        if any(
            isinstance(e, yaml.AliasEvent) or getattr(e, "anchor", None)
            for e in yaml.parse(text, Loader=_FAST_LOADER)
        ):
            return None  # the full loader refuses these; that file's own lint says so
        data = yaml.load(text, Loader=_FAST_LOADER)  # noqa: S506  # a safe loader
    except yaml.YAMLError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        return None
    kind: Kind = "bundle" if file.parent.name == BUNDLES_DIR else "policy"
    bundle = data.get("bundle")
    return Entry(
        kind,
        data["id"],
        str(file),
        subject=data.get("subject") if isinstance(data.get("subject"), str) else None,
        bundle=bundle if isinstance(bundle, str) else None,
        members=_strings(data.get("members")),
        excludes=_strings(data.get("excludes")),
    )


def _strings(value: object) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _text(file: Path) -> str | None:
    try:
        raw = file.read_bytes()
        return raw.decode("utf-8") if len(raw) <= MAX_BYTES else None
    except (OSError, UnicodeDecodeError):
        return None


def _guess_id(file: Path) -> str:
    """The id a broken file was meant to have, if its `id:` line can be read ('' if not)."""
    found = _ID_LINE.search(_text(file) or "")
    return found.group(1) if found else ""
