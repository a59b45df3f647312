"""Errors raised by the matcher (see the tree in `rules.errors`)."""

from __future__ import annotations

from dataclasses import dataclass

from matcher.profiles.masking import mask_ids_in_text
from rules.errors import ZhidaError


@dataclass(frozen=True)
class Issue:
    """One problem in a profile: a JSON path (`members[1].id_number`) and what is wrong."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ProfileError(ZhidaError):
    """Raised when a profile is invalid; lists every issue with its JSON path."""

    def __init__(self, issues: list[Issue], source: str = "profile") -> None:
        self.issues = issues
        self.source = source
        lines = "\n".join(f"  {source} → {i}" for i in issues)
        # the source may be a path named after a person; messages mask what they quote
        super().__init__(mask_ids_in_text(f"{source}：{len(issues)} 处问题：\n{lines}"))


class EngineError(ZhidaError):
    """Raised when an engine cannot evaluate a profile (e.g. a durable-rules internal error)."""
