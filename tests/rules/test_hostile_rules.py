"""Every kind of bad rule file gets one precise error: where, what was found, what is allowed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rules.catalogue import compile_file, load_facts
from rules.errors import RuleError
from rules.lint import lint_tree

HOSTILE = Path(__file__).parents[1] / "data" / "hostile" / "rules"

# file → (line, col, a fragment of the message, a fragment of the hint or None)
CASES = {
    "typo_key": (8, 1, "unexpected key `elegible`", "did you mean `eligible`?"),
    "unknown_fact": (9, 11, "unknown fact `incme`", "did you mean `income`?"),
    "python_injection": (9, 11, "attribute access is not allowed", "params.NAME"),
    "import_call": (9, 11, "may be called", None),
    "power_bomb": (9, 26, "exponent must be a whole-number constant", "between 0 and 10"),
    "number_vs_string": (9, 11, "cannot compare a number with a string", "`income` is a number"),
    "duplicate_keys": (11, 1, "duplicate key 'eligible'", "first defined at line 8"),
    "unquoted_region": (8, 11, "code 5206 must be a quoted string", 'write "5206"'),
    "enum_typo": (9, 27, '`dibao_status` is never "actve"', 'did you mean "active"?'),
    "member_fact_outside": (9, 11, "`age` is a member fact", "any(members, age"),
    "unknown_param": (11, 20, "unknown parameter `params.lien`", "did you mean `params.line`?"),
    "missing_says": (9, 5, "missing key `says`", None),
    "python_tag": (9, 11, "YAML tag", "no tags"),
    "alias_bomb": (1, 4, "YAML anchors (&name) are not allowed", None),
    # the writer's language: what was written and what to write, never a Python internal
    "assign_equals": (9, 18, "`=` 是赋值，不是比较", "比较是否相等请写 `==`"),
    "fstring": (9, 11, "表达式里不能用 f-string", "可以用："),
    "walrus": (9, 12, "表达式里不能用 `:=` 赋值", "可以用："),
    "is_compare": (9, 11, "`is` 不能用于比较", "相等请写 `==`"),
    "full_width": (9, 27, "全角符号 `“`", '请改为半角 `"`'),
    "empty": (1, 1, "文件是空的", "id、title、department"),
    "indent_key": (10, 11, "第 10 行的缩进不对：`says:` 前有 6 个空格", "缩进 4 个空格"),
    "bracket_value": (10, 15, "第 10 行的值以 `[` 开头", "给整个值加引号"),
    "bad_id": (1, 5, '`id` 的写法不对，实际为 "Household-Test"', "如 household.dibao.water"),
}
INTERNALS = re.compile(
    r"JoinedStr|NamedExpr|Compare|Input should|instance of|PolicyFile|<block|<scalar>|"
    r"invalid syntax|\[a-z\]"
)


def test_every_fixture_has_an_expectation() -> None:
    """No hostile file sits in the corpus without a row in the table."""
    files = {p.stem for p in HOSTILE.glob("*.yaml")} - {"facts"}
    assert files == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_rule_file_gives_one_precise_error(name: str) -> None:
    """The file is refused with exactly one error at its line and column."""
    line, col, message, hint = CASES[name]
    path = HOSTILE / f"{name}.yaml"
    found, catalogue = lint_tree(path)
    errors = [d for d in found if d.severity == "error"]
    assert catalogue is None
    assert len(errors) == 1, [str(e) for e in errors]
    (error,) = errors
    assert (error.location.file, error.location.line, error.location.col) == (str(path), line, col)
    assert message in error.message
    if hint is not None:
        assert error.hint is not None and hint in error.hint
    assert not INTERNALS.search(str(error)), str(error)


def test_unary_minus_flood_is_refused_quickly(tmp_path: Path) -> None:
    """200k unary minus signs (a MemoryError in ast.parse) are refused by the length cap."""
    (tmp_path / "facts.yaml").write_bytes((HOSTILE / "facts.yaml").read_bytes())
    text = (HOSTILE / "number_vs_string.yaml").read_text().replace('"high"', "-" * 200_000 + "1")
    (tmp_path / "flood.yaml").write_text(text)
    with pytest.raises(RuleError) as info:
        compile_file(tmp_path / "flood.yaml", load_facts(tmp_path), "flood.yaml")
    assert "characters long" in info.value.message


def test_oversized_rule_file_is_refused(tmp_path: Path) -> None:
    """A file over the size cap is refused at 1:1 without being parsed."""
    (tmp_path / "facts.yaml").write_bytes((HOSTILE / "facts.yaml").read_bytes())
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * 300_000 + "\n")
    with pytest.raises(RuleError) as info:
        compile_file(big, load_facts(tmp_path), "big.yaml")
    assert str(info.value.location) == "big.yaml:1:1"
    assert "limited to" in (info.value.hint or "")


@pytest.mark.parametrize("character", ["\x00", "\x07", "\x1b"])
def test_a_control_character_is_named_with_its_line_and_column(character: str) -> None:
    from rules.yaml_safe import load_text

    with pytest.raises(RuleError) as caught:
        load_text(f"id: demo\ntitle: a{character}b\n", "draft.yaml")
    assert str(caught.value.location) == "draft.yaml:2:9"
    assert f"U+{ord(character):04X}" in caught.value.message
