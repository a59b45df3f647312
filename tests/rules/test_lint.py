"""Cross-file lint: excludes, bundle members and bundle references; warnings that need no run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rules.catalogue import load_catalogue
from rules.errors import RuleError
from rules.lint import lint_tree

MIN = Path(__file__).parents[1] / "fixtures" / "policies_min"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(MIN, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def errors(root: Path) -> list[str]:
    found, _ = lint_tree(root)
    return [str(d) for d in found if d.severity == "error"]


def test_unknown_excludes_is_an_error_with_a_suggestion(root: Path) -> None:
    """An `excludes` naming no policy is reported at its list item, with a did-you-mean."""
    edit(
        root / "household/demo/tekun.yaml",
        "excludes: [household.demo.dibao]",
        "excludes: [household.demo.dibaoo]",
    )
    (error,) = errors(root)
    assert "tekun.yaml:" in error and "excludes `household.demo.dibaoo` does not exist" in error
    assert "did you mean `household.demo.dibao`?" in error
    with pytest.raises(RuleError):
        load_catalogue(root)


def test_missing_bundle_member_is_an_error(root: Path) -> None:
    """A bundle listing a policy that does not exist is reported at the bundle file."""
    edit(root / "bundles/demo.yaml", "household.demo.disabled]", "household.demo.disabld]")
    found = errors(root)
    assert any("bundles/demo.yaml:5:" in e and "household.demo.disabld" in e for e in found)


def test_policy_claiming_a_bundle_that_omits_it_is_an_error(root: Path) -> None:
    """A policy's `bundle:` must be answered by the bundle's `members`."""
    edit(root / "bundles/demo.yaml", ", household.demo.disabled]", "]")
    (error,) = errors(root)
    assert "disabled.yaml:" in error and "does not list it" in error


def test_unused_parameter_and_missing_tests_are_warnings(root: Path) -> None:
    """An unused parameter and a policy without tests warn but do not fail."""
    path = root / "household/demo/tekun.yaml"
    text = path.read_text()
    path.write_text(
        text.split("tests:")[0].replace(
            "parameters:\n",
            "parameters:\n  spare: {values: {2020-01-01: 1}, unit: 元, reference: r}\n",
        )
    )
    found, catalogue = lint_tree(root)
    warnings = [str(d) for d in found if d.severity == "warning"]
    assert catalogue is not None
    assert any("parameter `spare` is never used" in w for w in warnings)
    assert any("policy has no tests" in w for w in warnings)


@pytest.mark.parametrize(
    "neighbour",
    [
        "id: household.demo.disabled\ntitle: [unclosed\n",
        'id: household.demo.disabled\nbomb: &a ["x", "x"]\nmore: [*a, *a]\n',
        "id: household.demo.disabled\ntitle: x\n",
    ],
    ids=["broken_yaml", "anchors", "not_a_policy"],
)
def test_one_file_is_checked_against_neighbours_it_only_reads(root: Path, neighbour: str) -> None:
    """Linting the bundle alone reads the other files for ids only, and never blames it for a
    neighbour that does not load (the neighbour's own lint reports that)."""
    (root / "household/demo/disabled.yaml").write_text(neighbour)
    found, catalogue = lint_tree(root / "bundles/demo.yaml")
    assert catalogue is not None and not [d for d in found if d.severity == "error"]
    found, _ = lint_tree(root)
    assert [d.location.file for d in found if d.severity == "error"] == [
        str(root / "household/demo/disabled.yaml")
    ]


def test_a_subfolder_is_checked_in_its_catalogue(root: Path) -> None:
    """A folder inside the catalogue: its files' excludes resolve against files outside it."""
    edit(root / "household/demo/tekun.yaml", "excludes: [household.demo.dibao]", "excludes: [x.y]")
    errors = [str(d) for d in lint_tree(root / "household")[0] if d.severity == "error"]
    assert len(errors) == 1 and "excludes `x.y` does not exist" in errors[0]


def test_a_key_in_place_of_a_missing_one_is_named_as_its_likely_meaning(root: Path) -> None:
    """`when:` written where `eligible:` belongs: the hint names the missing key."""
    edit(root / "household/demo/tekun.yaml", "\neligible:\n", "\nwhen:\n")
    (error,) = errors(root)
    assert "unexpected key `when`" in error
    assert "这里还缺 `eligible`：`when` 是否应写作 `eligible`？" in error
