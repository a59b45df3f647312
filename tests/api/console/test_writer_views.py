"""How the writer's pages lay out a rule file: findings on their lines, references as links."""

from __future__ import annotations

from typing import Any

from api.console.pages.writer.views import reference_parts, source_lines

TEXT = 'id: a.b\neligible:\n  - when: x == 1\n    members: [{id_number: "522221198001100031"}]\n'


def _finding(line: int, col: int, severity: str = "error") -> dict[str, Any]:
    return {"severity": severity, "where": f"d.yaml:{line}:{col}", "line": line, "col": col,
            "message": "unknown fact `x`", "hint": "did you mean `y`?"}  # fmt: skip


def test_a_finding_sits_on_its_line_with_its_column_picked_out_and_ids_masked() -> None:
    """Line 3 col 11 marks `x`; a failing case marks its line; an ID in the text is masked;
    a finding past the last line lands on the last line."""
    report = {"diagnostics": [_finding(3, 11), _finding(9, 1, "warning")]}
    tests = {"cases": [{"name": "c", "where": "d.yaml:4:5", "passed": False,
                        "problems": ["expected amount 13, got 15.00"]}]}  # fmt: skip
    lines = source_lines(TEXT, report, tests)
    assert [line.number for line in lines] == [1, 2, 3, 4, 5]
    third = lines[2]
    assert (third.before, third.at, third.after) == ("  - when: ", "x", " == 1")
    assert third.kind == "error" and "did you mean `y`?" in third.marks[0].message
    assert lines[3].kind == "case" and "15.00" in lines[3].marks[0].message
    assert "522***********0031" in lines[3].before and "198001100031" not in lines[3].before
    assert lines[4].kind == "warning"
    assert lines[0].kind == "" and lines[0].at == ""


def test_a_reference_keeps_its_text_and_links_each_address_with_its_page() -> None:
    """A web address in a reference (with `#page=`) is a link; the rest stays text."""
    said = "《办法》第三条 https://example.gov.cn/a.pdf#page=12 ；另见 http://x.cn/b"
    assert reference_parts(said) == [
        ("《办法》第三条 ", None),
        ("https://example.gov.cn/a.pdf#page=12", "https://example.gov.cn/a.pdf#page=12"),
        (" ；另见 ", None),
        ("http://x.cn/b", "http://x.cn/b"),
    ]
    assert reference_parts("财金〔2020〕21号") == [("财金〔2020〕21号", None)]
