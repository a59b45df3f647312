"""A job for scheduler tests: each run appends one line to a file (plain-data argument)."""

from __future__ import annotations

from pathlib import Path


def mark(path: str) -> None:
    with Path(path).open("a", encoding="utf-8") as handle:
        handle.write("ran\n")
