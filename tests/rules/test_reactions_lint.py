"""Reaction files: each kind of mistake at its file:line:col; the catalogue hash and the published
files hold them; `zhida lint` and `zhida test` take them in."""

from __future__ import annotations

import shutil
from functools import cache
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from rules.catalogue import catalogue_paths, load_catalogue, rule_files
from rules.errors import RuleError
from rules.reactions import Ids, check_reaction_file, duplicate_ids, load_reactions
from store.audit.catalogues import catalogue_files

REPO = Path(__file__).parents[2]
POLICIES = REPO / "policies"
BAD = REPO / "tests" / "fixtures" / "reactions"
runner = CliRunner()


@cache
def ids() -> Ids:
    return Ids.of_catalogue(load_catalogue(POLICIES))


BAD_FILES = {  # file → (line, col, part of the message)
    "unknown_event": (4, 9, "未知的事件 `dibao_grantd`"),
    "unknown_verb": (7, 9, "未知的动词 `notfy`"),
    "unknown_bundle": (6, 33, "一件事 `household.diabo` 不存在"),
    "unknown_policy": (6, 73, "政策 `household.disability.care` 不存在"),
    "no_action": (5, 9, "没有动作"),
    "expects_unused_verb": (9, 22, "没有任何反应会做 `end-from-date`"),
    "wrong_recipient": (6, 17, "只能是 'subject' or 'village'"),
    "two_verbs": (6, 9, "一个动作只能写一个动词"),
    "wrong_subject": (5, 14, "不会发生在 household 上"),
    "unknown_key": (5, 5, "unexpected key `doo`"),
    "end_without_target": (6, 24, "要写明结束哪些政策"),
    "bad_start": (6, 56, "`from` 应为 first_of_next_month"),
}
SUGGESTS = {
    "unknown_event": "dibao_granted",
    "unknown_verb": "notify",
    "unknown_bundle": "household.dibao",
    "unknown_policy": "household.disability.care_allowance",
}


def test_every_bad_fixture_has_a_row() -> None:
    """Each file of tests/fixtures/reactions is in the table (a new one must add its row)."""
    assert {p.stem for p in BAD.glob("*.yaml")} == set(BAD_FILES)


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_a_bad_reaction_file_is_one_error_at_its_place(kind: str) -> None:
    """The mistake is reported once, at file:line:col, with a did-you-mean where one fits."""
    path = BAD / f"{kind}.yaml"
    checked, problems = check_reaction_file(path, ids(), f"{kind}.yaml")
    line, col, part = BAD_FILES[kind]
    assert checked is None
    assert [(p.location.line, p.location.col) for p in problems] == [(line, col)]
    assert str(problems[0]).startswith(f"{kind}.yaml:{line}:{col}: ")
    assert part in problems[0].message
    if kind in SUGGESTS:
        assert f"`{SUGGESTS[kind]}`" in (problems[0].hint or "")


def test_the_shipped_reactions_are_sound_and_named_by_index() -> None:
    """Every shipped file loads against the catalogue; reactions are named `<file id>#<i>`."""
    files = load_reactions(POLICIES, load_catalogue(POLICIES))
    assert [f.id for f in files] == [
        "reactions.dibao",
        "reactions.enterprise",
        "reactions.members",
        "reactions.profile",
    ]
    assert [r.name for r in files[0].reactions][:2] == ["reactions.dibao#0", "reactions.dibao#1"]
    assert duplicate_ids(files) == []


@pytest.fixture
def root(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(POLICIES, target)
    return target


def test_a_duplicate_file_id_is_refused_at_the_second_file(root: Path) -> None:
    """Two reaction files with one id: loading stops at the later file's `id:`."""
    shutil.copyfile(root / "reactions" / "profile.yaml", root / "reactions" / "zz_copy.yaml")
    with pytest.raises(RuleError) as caught:
        load_reactions(root, load_catalogue(root))
    assert str(caught.value.location).endswith("zz_copy.yaml:1:5")
    assert "reactions.profile" in caught.value.message


def test_reactions_are_hashed_and_published_but_not_compiled_as_policies(root: Path) -> None:
    """`rule_files` leaves them out; the version and the published files include them."""
    before = load_catalogue(root).version
    assert not any("reactions" in p.parts for p in rule_files(root))
    published = catalogue_files(root)
    assert "reactions/dibao.yaml" in published
    assert len(published) == len(catalogue_paths(root))
    path = root / "reactions" / "dibao.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "# 修订\n", encoding="utf-8")
    assert load_catalogue(root).version != before


def test_zhida_lint_reports_a_typo_in_a_reaction_file(root: Path) -> None:
    """`zhida lint` over the whole catalogue names the reaction file's line and exits 1."""
    shutil.copyfile(BAD / "unknown_verb.yaml", root / "reactions" / "typo.yaml")
    result = runner.invoke(app, ["lint", str(root)])
    assert result.exit_code == 1, result.output
    assert "typo.yaml:7:9: error: 未知的动词 `notfy`" in result.output


def test_zhida_test_runs_reaction_cases_and_reports_a_failing_one(root: Path) -> None:
    """A case whose expectation the reactions do not meet fails `zhida test` at its place."""
    path = root / "reactions" / "enterprise.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("expect: [re-evaluate, notify]", "expect: [notify]"), "utf-8")
    result = runner.invoke(app, ["test", str(root / "reactions")])
    assert result.exit_code == 1, result.output
    assert "enterprise.yaml:10:5 reactions.enterprise: 企业登记 → 评估并推送政策包" in result.output
    assert "expected ['notify'], got ['re-evaluate', 'notify']" in result.output
    assert "11 passed, 1 failed" in result.output
