"""libyaml composes clean rule files; everything else takes the pure-Python loader's road.

Both roads must give the same `Loaded` (data, positions, quoted values, key positions) for
every file, and the same refusal for every refused one: the catalogue, the test fixtures and
the whole hostile corpus are read both ways and compared.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from rules import yaml_safe
from rules.errors import RuleError

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(
    [*ROOT.glob("policies/**/*.yaml"), *ROOT.glob("tests/**/*.yaml")],
    key=lambda p: str(p),
)


def _read(path: Path) -> object:
    try:
        return dataclasses.asdict(yaml_safe.load_file(path))
    except RuleError as exc:
        return ("refused", str(exc))


def test_libyaml_is_there() -> None:
    assert yaml.__with_libyaml__ and yaml_safe._CLoader is not None


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_both_roads_read_a_file_alike(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _read(path)
    monkeypatch.setattr(yaml_safe, "_CLoader", None)
    assert _read(path) == fast


def test_clean_files_take_libyaml_and_risky_ones_do_not() -> None:
    clean = (ROOT / "policies" / "facts.yaml").read_text(encoding="utf-8")
    assert yaml_safe._fast_node(clean) is not None
    for risky in ("a: &x 1\nb: *x\n", "a: &x 1\n", "[" * 70 + "]" * 70, "a: [1\n"):
        assert yaml_safe._fast_node(risky) is None, risky
