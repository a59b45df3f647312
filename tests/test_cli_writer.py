"""The policy writer's loop: `zhida lint` and `zhida test` on one file, one folder or a draft."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from cli.base import DEFAULT_ROOT

ROOT = Path(__file__).parents[1]
MIN = ROOT / "tests" / "fixtures" / "policies_min"
runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def root(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(MIN, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def line_col(path: Path, fragment: str, *, last: bool = False) -> str:
    """`file:line:col` of the first (or last) line holding `fragment` in `path`."""
    lines = list(enumerate(path.read_text(encoding="utf-8").splitlines(), start=1))
    for number, line in reversed(lines) if last else lines:
        if fragment in line:
            return f"{path}:{number}:{line.index(fragment) + 1}"
    raise AssertionError(fragment)


def test_test_runs_the_cases_of_one_file_only(root: Path) -> None:
    """`zhida test FILE` runs that policy's two cases, not the catalogue's seven."""
    code, text = run("test", str(root / "household/demo/tekun.yaml"))
    assert code == 0 and text.strip().endswith("2 passed, 0 failed")


def test_test_runs_the_cases_of_one_folder(root: Path) -> None:
    """`zhida test FOLDER` runs every case of the files under it, in their catalogue."""
    code, text = run("test", str(root / "household"))
    assert code == 0 and text.strip().endswith("7 passed, 0 failed")


def test_test_a_draft_outside_the_catalogue_replaces_its_id(tmp_path: Path) -> None:
    """A draft elsewhere is tested in the project's catalogue, standing in for its own id."""
    draft = tmp_path / "drafts" / "water.yaml"
    draft.parent.mkdir()
    shutil.copyfile(DEFAULT_ROOT / "household/dibao/water.yaml", draft)
    code, text = run("test", str(draft))
    assert code == 0, text
    assert "draft" in text and re.search(r"\b(\d+) passed, 0 failed", text)
    assert "used twice" not in text
    edit(draft, "expect: {eligible: true", "expect: {eligible: false")
    code, text = run("test", str(draft))
    assert code == 1 and f"FAIL {draft}:" in text


def test_lint_a_draft_outside_the_catalogue_checks_it_against_the_project(tmp_path: Path) -> None:
    """A draft's unknown `excludes` is found against the project's catalogue, not refused."""
    draft = tmp_path / "water.yaml"
    shutil.copyfile(DEFAULT_ROOT / "household/dibao/water.yaml", draft)
    code, text = run("lint", str(draft))
    assert code == 0 and "0 error(s)" in text
    edit(draft, "basis:", "excludes: [household.dibao.electricty]\nbasis:")
    code, text = run("lint", str(draft))
    assert code == 1
    assert "excludes `household.dibao.electricty` does not exist" in text
    assert "did you mean `household.dibao.electricity`?" in text


def test_lint_reports_a_duplicate_id_that_test_refuses(root: Path) -> None:
    """Two files with one id: one error at the second file's `id`, and `test` does not run."""
    copy = root / "household/demo/tekun_copy.yaml"
    shutil.copyfile(root / "household/demo/tekun.yaml", copy)
    code, text = run("lint", str(root))
    errors = [line for line in text.splitlines() if ": error:" in line]
    assert code == 1 and errors == [
        f"{line_col(copy, 'household.demo.tekun')}: error: id `household.demo.tekun` is used "
        f"twice — also in {root / 'household/demo/tekun.yaml'}; every policy needs its own id"
    ]
    code, text = run("test", str(root))
    assert code == 2 and "used twice" in text and "not run" in text


CASE = """tests:
  - name: An active 特困 household gets support
    on: 2024-03-01
    household:
      region_code: "520602001201"
      {fact}: active
      members:
        - {{id_number: "{id}", relation: head, disability_grade: {grade}}}
    expect: {{eligible: true, amount: 900}}
"""
GOOD = {"fact": "tekun_status", "id": "520602198003010022", "grade": 2}


@pytest.mark.parametrize(
    ("change", "at", "message"),
    [
        ({"id": "520602198003010023"}, "id_number", "校验码（第 18 位）不符"),
        ({"fact": "tekun_statu"}, "tekun_statu", "unknown fact 'tekun_statu'"),
        ({"grade": 9}, "disability_grade", "应为1 至 4 之间的整数，实际为 9"),
    ],
    ids=["check_digit", "unknown_fact", "outside_domain"],
)
def test_lint_reports_a_case_profile_at_the_field(
    root: Path, change: dict[str, object], at: str, message: str
) -> None:
    """A bad test-case profile is a lint error at the field's own line:col; test refuses it."""
    tekun = root / "household/demo/tekun.yaml"
    head = tekun.read_text(encoding="utf-8").split("tests:")[0]
    tekun.write_text(head + CASE.format(**GOOD), encoding="utf-8")
    assert run("test", str(tekun)) == (0, "1 passed, 0 failed\n")
    tekun.write_text(head + CASE.format(**(GOOD | change)), encoding="utf-8")
    where = line_col(tekun, at, last=True)
    code, lint_out = run("lint", str(tekun))
    assert code == 1 and f"{where}: error: 用例档案 test case profile：" in lint_out
    assert message in lint_out and "1 error(s)" in lint_out
    code, test_out = run("test", str(tekun))
    assert code == 2 and "not run" in test_out and f"{where}: error:" in test_out


def test_lint_checks_the_facts_a_case_expects_missing(root: Path) -> None:
    """`expect.missing` naming no fact is an error at the name, with a did-you-mean."""
    disabled = root / "household/demo/disabled.yaml"
    text = disabled.read_text(encoding="utf-8")
    assert "missing: [disability_grade]" in text
    edit(disabled, "missing: [disability_grade]", "missing: [disability_grad]")
    code, out = run("lint", str(disabled))
    where = line_col(disabled, "disability_grad]")
    assert code == 1 and f"{where}: error: `expect.missing` 里的 `disability_grad`" in out
    assert "did you mean `disability_grade`?" in out


def test_a_misspelt_fact_in_a_bundle_gate_is_one_error(root: Path) -> None:
    """The broken bundle is the root cause: its members do not each say it is missing."""
    edit(root / "bundles/demo.yaml", 'dibao_status == "active"', 'dibao_statu == "active"')
    code, text = run("lint", str(root))
    assert code == 1 and "1 error(s)" in text
    assert "unknown fact `dibao_statu`" in text


def test_an_error_in_a_member_policy_is_one_error(root: Path) -> None:
    """A member that does not load is not also reported as missing from its bundle."""
    edit(root / "household/demo/disabled.yaml", 'dibao_status == "active"', "dibao_statu == 1")
    for target in (root, root / "bundles/demo.yaml"):
        code, text = run("lint", str(target))
        assert "does not exist" not in text
    code, text = run("lint", str(root))
    assert code == 1 and "1 error(s)" in text and "unknown fact `dibao_statu`" in text


def test_single_file_lint_warns_like_the_folder_lint(root: Path) -> None:
    """A threshold tested on one side only warns for the file as for the whole folder."""
    dibao = root / "household/demo/dibao.yaml"
    dibao.write_text(dibao.read_text(encoding="utf-8").split("  - name: Income 705")[0])
    warning = f"{line_col(dibao, 'per_capita_monthly_income <')}: warning: threshold"
    for target in (dibao, root):
        code, text = run("lint", str(target))
        assert code == 0 and warning in text, target


MARKUP = "经认定为[bold]特困[/bold]人员 :x: [a-z]"


def test_rule_text_prints_as_written(root: Path, tmp_path: Path) -> None:
    """Markup, emoji codes and patterns in rule text come out character for character."""
    tekun = root / "household/demo/tekun.yaml"
    edit(tekun, "says: 经认定为特困人员", f'says: "{MARKUP}"')
    edit(tekun, "title: 特困供养", "title: 特困供养 [red]:x:[/red]")
    edit(tekun, "name: An active 特困 household gets support", "name: 案例 [b]:x:[/b]")
    edit(tekun, "expect: {eligible: true, amount: 900}", "expect: {eligible: false}")
    code, text = run("test", str(tekun))
    assert code == 1 and "案例 [b]:x:[/b]" in text and f"{MARKUP}: 是" in text
    code, text = run("policies", "--policies", str(root))
    assert code == 0 and "household.demo.tekun 特困供养 [red]:x:[/red]\n" in text
    profile = tmp_path / "tekun.json"
    profile.write_text(
        '{"region_code": "520602001201", "tekun_status": "active", '
        '"members": [{"id_number": "520602198003010022", "relation": "head"}]}'
    )
    args = ("match", str(profile), "--explain", "--on", "2024-03-01", "--policies", str(root))
    code, text = run(*args)
    assert code == 0 and f"✔ {MARKUP}\n" in text and "特困供养 [red]:x:[/red] 900.00" in text
    edit(tekun, 'when: tekun_status == "active"', 'when: tekun_status == "[a-z] :x:"')
    code, text = run("lint", str(tekun))
    assert code == 1 and '`tekun_status` is never "[a-z] :x:"' in text


def test_lint_warns_on_a_fact_without_a_label(root: Path) -> None:
    """The whole-catalogue lint names a fact without `label:` at its key in facts.yaml."""
    assert run("lint", str(root)) == (0, "0 error(s), 0 warning(s)\n")
    edit(root / "facts.yaml", "tekun_status: {label: 特困状态, ", "tekun_status: {")
    where = line_col(root / "facts.yaml", "tekun_status:")
    for target in (root, root / "facts.yaml"):
        code, text = run("lint", str(target))
        assert code == 0 and f"{where}: warning: fact `tekun_status` has no `label:`" in text
        assert "1 warning(s)" in text


def test_lint_checks_that_a_material_comes_from_a_fact(root: Path) -> None:
    """A material's `from` naming no fact is an error at that key, with a did-you-mean."""
    tekun = root / "household/demo/tekun.yaml"
    edit(tekun, "basis: 测试", "materials:\n  - {name: 特困证, from: tekun_statu}\nbasis: 测试")
    code, text = run("lint", str(tekun))
    where = line_col(tekun, "tekun_statu}")
    assert code == 1 and f"{where}: error: material `特困证` comes from `tekun_statu`" in text
    assert "did you mean `tekun_status`?" in text


HOSTILE = ROOT / "tests" / "data" / "hostile" / "rules"


@pytest.mark.parametrize(
    "name", sorted(p.stem for p in HOSTILE.glob("*.yaml") if p.stem != "facts")
)
def test_whatever_test_refuses_lint_reported(name: str) -> None:
    """On every hostile file `zhida test` refuses to run, and each error it names, lint names."""
    path = str(HOSTILE / f"{name}.yaml")
    code, tested = run("test", path)
    assert code == 2 and "not run" in tested and "Traceback" not in tested
    _, linted = run("lint", path)
    refused = [line for line in tested.splitlines() if ": error:" in line]
    assert refused and all(line in linted.splitlines() for line in refused)
