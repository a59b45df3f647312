"""Sheets with one absurd or out-of-domain number, and the catalogue that gives facts domains.

`policies/facts.yaml` gets its domains on another branch; these tests must not depend on it.
`policies_with_domains` copies `policies/` and gives the facts named in
`tests/fixtures/fact_domains.yaml` exactly the domains written there (the rest of the catalogue,
policies and bundles unchanged), so `zhida import --root …` and `zhida batch --root …` run on it.

`CASES` is the table of issue 8 ("Numbers that make sense"): one cell per case, placed on the
spouse's row (row 4) of household H2 between two good households (H1 on row 2, H3 on row 5),
or on the middle row (row 3) of an enterprise sheet. A refused cell must be reported on its
row and column with `fragment` in the reason, its household refused whole, and every other
household imported and batched; an accepted one is stored as `stored`.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from openpyxl import Workbook

from rules.catalogue import Catalogue, load_catalogue, load_facts
from synth.identifiers import make_ric, make_uscc

__all__ = [
    "CASES",
    "DOMAINS",
    "HEADER",
    "FACT_OF",
    "Case",
    "domain_catalogue",
    "household_rows",
    "policies_with_domains",
    "write_case",
]

ROOT = Path(__file__).parents[2]
DOMAINS = ROOT / "tests" / "fixtures" / "fact_domains.yaml"
VILLAGE = "520602100201"
HEADER = ["户编号", "村（居）代码", "姓名", "身份证号", "与户主关系", "低保状态", "本地户口",
          "财产符合规定", "月收入", "残疾等级"]  # fmt: skip
E_HEADER = ["统一社会信用代码", "企业名称", "所在地区代码", "企业规模", "成立日期", "在职职工人数"]
FUTURE = date.today() + timedelta(days=400)  # enterprise imports check dates at today
FACT_OF = {"月收入": "monthly_income", "残疾等级": "disability_grade", "成立日期": "founded_on"}


def policies_with_domains(folder: Path) -> Path:
    """A copy of `policies/` under `folder` whose facts have the fixture's domains.

    Returns:
        The copied policies folder (for `load_catalogue` or `--root`).
    """
    root = folder / "policies"
    shutil.copytree(ROOT / "policies", root)
    data = yaml.safe_load((root / "facts.yaml").read_text(encoding="utf-8"))
    domains = yaml.safe_load(DOMAINS.read_text(encoding="utf-8"))
    for name, domain in domains.items():
        fact = data["facts"][name]
        for key in ("min", "max", "integer"):
            fact.pop(key, None)
        fact.update({k: v if k == "integer" else str(v) for k, v in domain.items()})
    dumped = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    (root / "facts.yaml").write_text(dumped, encoding="utf-8")
    before, after = load_facts(ROOT / "policies"), load_facts(root)
    assert before.facts.keys() == after.facts.keys()
    for name, fact in after.facts.items():  # nothing but the domains changed
        mine = {"minimum", "maximum", "integer"} if name in domains else set()
        assert fact.model_dump(exclude=mine) == before.facts[name].model_dump(exclude=mine)
    return root


def domain_catalogue(folder: Path) -> Catalogue:
    """The catalogue of `policies_with_domains(folder)`."""
    return load_catalogue(policies_with_domains(folder))


@dataclass(frozen=True)
class Case:
    """One cell of the table: where it goes, and what is reported or stored."""

    name: str
    column: str
    value: Any
    fragment: str | None  # None: the cell is accepted
    stored: Any = None  # what an accepted cell is stored as (read back with read_number)
    subject: Literal["household", "enterprise"] = "household"

    @property
    def row(self) -> int:
        """The sheet row the cell is on (the header is row 1)."""
        return 4 if self.subject == "household" else 3

    @property
    def keys(self) -> tuple[set[str], str]:
        """Every household's (or enterprise's) key in the sheet, and the one holding the cell."""
        if self.subject == "household":
            return {"H1", "H2", "H3"}, "H2"
        return {make_uscc(seq=i) for i in (1, 2, 3)}, make_uscc(seq=2)


TOO_LARGE = (
    "过大：数值须小于 10 的 15 次方（是否把证件号、账号填进了数字列？）；月收入应为0 至 1000000"
)
CASES = [
    Case("1e30 as text", "月收入", "1e30", f"1e+30 {TOO_LARGE}"),
    Case("1e30 as a number cell", "月收入", 1e30, f"1e+30 {TOO_LARGE}"),
    Case("a 20-digit integer cell", "月收入", 99999999999999999999, f"1e+20 {TOO_LARGE}"),
    Case("a 20-digit integer as text", "月收入", "99999999999999999999", f"1e+20 {TOO_LARGE}"),
    Case("16 significant digits as text", "月收入", "1234.567890123456",
         "的有效数字超过 15 位，无法精确保存；月收入应为0 至 1000000 之间的数"),
    Case("a bank-card number", "月收入", 6222021234567890123, f"6.22e+18 {TOO_LARGE}"),
    Case("an ID number typed as a number", "月收入", 520602198001010010.0, f"5.21e+17 {TOO_LARGE}"),
    Case("a negative income", "月收入", -5, "超出取值范围：应为0 至 1000000 之间的数，实际为 -5"),
    Case("a disability grade of -1", "残疾等级", -1,
         "超出取值范围：应为1 至 4 之间的整数，实际为 -1"),
    Case("a disability grade of 1.5", "残疾等级", 1.5,
         "应为整数，实际为 1.5（残疾等级应为1 至 4 之间的整数）"),
    Case("text that is no number", "月收入", "很多",
         "应为0 至 1000000 之间的数，实际为文本 '很多'"),
    Case("an integer column holding 2.0", "残疾等级", 2.0, None, 2),
    Case("thousands separators in text", "月收入", "1,234.50", None, Decimal("1234.5")),
    Case("full-width digits in text", "月收入", "１２３４．５", None, Decimal("1234.5")),
    Case("a float the sheet shows as 0.3", "月收入", 0.1 + 0.2, None, Decimal("0.3")),
    Case("a founding date in the future", "成立日期", FUTURE,
         f"之间的日期，实际为 {FUTURE.isoformat()}", subject="enterprise"),
]  # fmt: skip


def ric(seq: int) -> str:
    """A valid ID number of county 520602 (distinct `seq`, distinct person)."""
    return make_ric(region="520602", birth=date(1980, 1, 1), seq=seq)


def household_rows(column: str | None = None, value: Any = None) -> list[list[Any]]:
    """H1 (row 2), H2 (rows 3–4: `value` under `column` on row 4), H3 (row 5)."""
    rows = [
        ["H1", VILLAGE, "王芳", ric(1), "户主", "active", "是", "是", 300, None],
        ["H2", VILLAGE, "李强", ric(3), "户主", "active", "是", "是", 200, None],
        ["H2", VILLAGE, "张丽", ric(5), "配偶", None, None, None, 100, 3],
        ["H3", VILLAGE, "赵四", ric(7), "户主", "none", "是", "是", 900, 2],
    ]
    if column is not None:
        rows[2][HEADER.index(column)] = value
    return rows


def _enterprise_rows(column: str, value: Any) -> list[list[Any]]:
    rows = [
        [make_uscc(seq=1), "甲公司", "520602", "small", date(2010, 5, 1), 12],
        [make_uscc(seq=2), "乙公司", "520602", "micro", date(2015, 1, 1), 5],
        [make_uscc(seq=3), "丙公司", "520602", "small", date(2020, 3, 1), 40],
    ]
    rows[1][E_HEADER.index(column)] = value
    return rows


def write_case(path: Path, case: Case) -> Path:
    """The case's sheet as an xlsx, written with openpyxl as a spreadsheet saves it."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    if case.subject == "household":
        header, rows = HEADER, household_rows(case.column, case.value)
    else:
        header, rows = E_HEADER, _enterprise_rows(case.column, case.value)
    for row in [header, *rows]:
        sheet.append(row)
    book.save(path)
    return path
