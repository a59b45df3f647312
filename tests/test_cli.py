"""The `zhida` command as a user runs it: lint, test, policies, match and demo."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from cli import app
from synth.identifiers import make_ric

ROOT = Path(__file__).parents[1]
EXAMPLES = ROOT / "examples"
runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_match_lists_the_whole_dibao_bundle_with_reasons() -> None:
    """A 低保 household with a disabled member and a schoolchild gets every bundle member."""
    code, text = run(
        "match", str(EXAMPLES / "dibao_household.json"), "--on", "2025-03-01", "--explain"
    )
    assert code == 0
    bundle = text.split("一件事：新生儿")[0]
    for title in (
        "养老保险费政府代缴",
        "医保资助参保",
        "免费用电基数",
        "免费用水量",
        "有线电视",
        "国家助学金",
        "困难残疾人生活补贴",
    ):
        assert re.search(rf"✔ 符合 \S*{title}", bundle), title
    assert 'dibao_status == "active"；所见 dibao_status = active' in text
    assert "✔ 符合 重度残疾人护理补贴" in text


def test_match_names_every_missing_fact_when_undetermined() -> None:
    """Without 残疾等级 the care allowance is undetermined, and the fact is asked for, by its
    Chinese label, of the member it concerns (the head, masked), not of the others."""
    code, text = run("match", str(EXAMPLES / "missing_disability_grade.json"), "--on", "2025-03-01")
    assert code == 0
    assert "? 待补充 重度残疾人护理补贴" in text
    assert "待补充：残疾等级" in text and "disability_grade" not in text
    notice = text.split("一次性告知")[1].split("评估日期")[0]
    blocks = re.split(r"\n  (?=\S)", notice)[1:]  # one block per household or member asked
    head, *others = blocks
    assert head.startswith("第 1 位成员（户主，522***********0164）")
    assert "• 残疾等级（残疾等级（1–4 级" in head and "涉及：重度残疾人护理补贴" in head
    assert not any("残疾等级" in part for part in others)


def test_match_says_when_an_eligible_amount_is_not_yet_known(tmp_path: Path) -> None:
    """特困 care for a grandchild is certain, its amount is not (the old head's 无生活来源 is
    unknown): the console says 金额待核定 and asks the head — not the child — for it."""
    old = {"id_number": make_ric(birth=date(1955, 1, 1), seq=1), "name": "王老",
           "relation": "head", "monthly_income": 300, "no_work_capacity": False}  # fmt: skip
    kid = {"id_number": make_ric(birth=date(2012, 1, 1), seq=3), "name": "王小",
           "relation": "grandchild", "monthly_income": 0, "no_livelihood": True,
           "no_able_supporter": True}  # fmt: skip
    profile = {"household_id": "H1", "region_code": "520602100201", "tekun_status": "active",
               "dibao_status": "none", "local_hukou": True, "members": [old, kid]}  # fmt: skip
    path = tmp_path / "h.json"
    path.write_text(json.dumps(profile, ensure_ascii=False), encoding="utf-8")
    code, text = run("match", str(path), "--on", "2025-03-01")
    assert code == 0, text
    assert "✔ 符合 特困人员救助供养（基本生活费） 金额待核定" in text
    notice = text.split("一次性告知")[1]
    assert "无生活来源" in notice.split("王小（")[0].split("王老（户主，")[1]
    assert "无生活来源" not in notice.split("王小（")[1]
    data = json.loads(run("match", str(path), "--on", "2025-03-01", "--json")[1])
    asked = {(a["label"], a["member"]) for a in data["asks"]}
    assert ("无生活来源", 0) in asked and ("无生活来源", 1) not in asked


def test_match_asks_an_enterprise_by_labels(tmp_path: Path) -> None:
    """An enterprise without its graduates' social insurance is asked for 毕业生单位社保费, under
    本企业, never by the catalogue name."""
    profile = json.loads((EXAMPLES / "small_enterprise.json").read_text(encoding="utf-8"))
    profile.pop("graduate_hires_employer_si", None)
    path = tmp_path / "firm.json"
    path.write_text(json.dumps(profile, ensure_ascii=False), encoding="utf-8")
    code, text = run("match", str(path), "--on", "2025-03-01")
    assert code == 0, text
    assert "待补充：毕业生单位社保费" in text and "graduate_hires_employer_si" not in text
    notice = text.split("一次性告知")[1]
    assert notice.startswith("：请一次补齐以下信息\n  本企业\n")
    assert "\n    • 毕业生单位社保费（" in notice


def test_match_json_is_machine_readable() -> None:
    """--json gives statuses, amounts and the missing facts as data."""
    code, text = run(
        "match", str(EXAMPLES / "missing_disability_grade.json"), "--on", "2025-03-01", "--json"
    )
    data = json.loads(text)
    by_id = {r["policy_id"]: r for r in data["results"]}
    assert code == 0 and data["missing_facts"] == ["disability_grade"]
    assert by_id["household.disability.care_allowance"]["status"] == "undetermined"
    assert Decimal(by_id["household.dibao.electricity"]["amount"]) > 0  # a string: "6.83"
    assert by_id["household.dibao.electricity"]["amount"].count(".") == 1


def test_match_refuses_a_bad_profile_naming_the_field(tmp_path: Path) -> None:
    """A wrong check digit is reported with its JSON path, and the exit code is 2."""
    raw = json.loads((EXAMPLES / "dibao_household.json").read_text())
    number = raw["members"][1]["id_number"]
    raw["members"][1]["id_number"] = number[:-1] + ("0" if number[-1] != "0" else "1")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(raw, ensure_ascii=False))
    code, text = run("match", str(bad))
    assert code == 2
    assert "members[1].id_number" in text and "校验码" in text
    assert number[:-1] not in text  # the ID number is never echoed in full


def test_error_messages_mask_what_is_id_shaped(tmp_path: Path) -> None:
    """A file named after a mistyped ID, and numbers typed where text belongs, print masked."""
    wrong = "522201197812310017"  # a check digit off: what a person mistypes
    raw = json.loads((EXAMPLES / "dibao_household.json").read_text())
    raw |= {"dibao_certificate_no": int(wrong), "electricity_account_no": 6222020200012345678}
    named = tmp_path / f"{wrong}.json"
    named.write_text(json.dumps(raw, ensure_ascii=False))
    code, text = run("match", str(named))
    masked = tmp_path / "522***********0017.json"
    assert code == 2 and text.splitlines() == [
        f"{masked}：2 处问题：",
        f"  {masked} → dibao_certificate_no: expected string, got number 522***********0017",
        f"  {masked} → electricity_account_no: expected string, got number 622************5678",
    ]
    named.write_text("{", encoding="utf-8")
    code, text = run("match", str(named))
    assert code == 2 and f"{masked} → 第 1 行第 2 列: 不是有效的 JSON" in text
    code, text = run("batch", str(tmp_path / f"{wrong}.csv"), "--out", str(tmp_path / "r.csv"))
    assert code == 2 and text.strip() == f"{tmp_path / '522***********0017.csv'}: no such file"


def test_lint_and_test_pass_on_the_catalogue() -> None:
    """The shipped catalogue lints clean and all its cases pass."""
    code, text = run("lint")
    assert code == 0 and "0 error(s), 0 warning(s)" in text
    code, text = run("test")
    assert code == 0 and re.search(r"\b(\d+) passed, 0 failed", text)


def test_lint_reports_a_typo_with_its_position(tmp_path: Path) -> None:
    """A misspelt fact in a copy of the catalogue fails lint at file:line:col with a suggestion."""
    root = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", root)
    water = root / "household" / "dibao" / "water.yaml"
    lines = water.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if "dibao_status ==" in line)
    lines[index] = lines[index].replace("dibao_status", "dibao_statuss")
    water.write_text("\n".join(lines) + "\n")
    code, text = run("lint", str(root))
    col = lines[index].index("dibao_statuss") + 1
    assert code == 1
    assert f"{water}:{index + 1}:{col}: error: unknown fact `dibao_statuss`" in text
    assert "did you mean `dibao_status`?" in text


def test_test_command_reports_a_failing_case(tmp_path: Path) -> None:
    """A case whose expected amount is wrong fails, naming the case and both amounts."""
    root = tmp_path / "policies"
    shutil.copytree(ROOT / "tests" / "fixtures" / "policies_min", root)
    tekun = root / "household" / "demo" / "tekun.yaml"
    tekun.write_text(tekun.read_text().replace("amount: 900}", "amount: 901}"))
    code, text = run("test", str(root))
    assert code == 1
    assert "An active 特困 household gets support" in text
    assert "expected amount 901, got 900.00" in text


def test_policies_and_demo_print_the_catalogue_and_the_village() -> None:
    """`policies` lists every policy; `demo` matches every household of the village."""
    code, text = run("policies")
    assert code == 0 and "household.dibao.electricity" in text
    assert "确认申领" in text and "自动发放" in text and "confirm" not in text
    code, text = run("demo", "--households", "7", "--on", "2025-03-01")
    assert code == 0
    assert text.count(" 人") >= 7 and "✔ 城乡最低生活保障金" in text
    assert "待补充：" in text and "disability_grade" not in text
