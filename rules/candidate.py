"""A candidate catalogue: the published one with one policy file replaced (or added).

`zhida impact POLICY_FILE` compares the stored caseload under the current catalogue with
this candidate before anything is published. The candidate is loaded from a temporary copy
of the policies folder, so every check of `load_catalogue` (cross-file `excludes`, bundle
members, duplicate ids) applies to it exactly as it would after publishing.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rules.catalogue import Catalogue, CompiledBundle, compile_file, load_catalogue, load_facts
from rules.errors import Location, RuleError

__all__ = ["Candidate", "load_candidate"]


@dataclass(frozen=True)
class Candidate:
    """The candidate catalogue, the policy it changes, and whether that policy is new."""

    catalogue: Catalogue
    policy_id: str
    replaced: Path | None  # the file it replaces under the policies folder (None: a new policy)


def load_candidate(root: Path, policy_file: Path) -> Candidate:
    """Load the catalogue under `root` with `policy_file` in place of the policy of the same id.

    Args:
        root: the policies folder (the current catalogue).
        policy_file: a policy file, anywhere (usually an edited copy).

    Returns:
        The candidate catalogue and what it replaces.

    Raises:
        RuleError: the file (or the catalogue with it) does not load; a bundle file is given.
    """
    item = compile_file(policy_file, load_facts(root), str(policy_file))
    if isinstance(item, CompiledBundle):
        raise RuleError(
            Location(str(policy_file), 1, 1),
            "impact takes a policy file, not a bundle",
            "give the file of one policy",
        )
    current = load_catalogue(root)
    existing = current.policies.get(item.id)
    replaced = Path(existing.path) if existing is not None else None
    with tempfile.TemporaryDirectory(prefix="zhida-candidate-") as tmp:
        copy = Path(tmp) / "policies"
        shutil.copytree(root, copy)
        if replaced is not None:
            target = copy / replaced.resolve().relative_to(root.resolve())
        else:
            target = copy / "_candidate" / policy_file.name
            target.parent.mkdir()
        shutil.copyfile(policy_file, target)
        catalogue = load_catalogue(copy)
    return Candidate(catalogue, item.id, replaced)
