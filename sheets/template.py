"""The spreadsheet templates: which columns a village sheet has, and the empty template file.

A household sheet has one row per member: the identity columns (户编号, 村（居）代码, 姓名,
身份证号, 与户主关系), then one column per supplied household or member fact, headed by the
fact's `label` (its catalogue name is accepted as a header too). Household facts may be
filled on any one row of the household (usually the head's) and left blank on the others.
An enterprise sheet has one row per enterprise: 统一社会信用代码, 企业名称, 所在地区代码, then the
enterprise facts. `zhida template PATH` writes the empty template with a guide sheet `说明`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from matcher.profiles.parse import RELATION_LABELS
from matcher.profiles.subjects import KINDS
from rules.facts import FactCatalogue, FactDef

__all__ = [
    "RELATION_CODES",
    "RELATION_LABELS",
    "Column",
    "Subject",
    "choices",
    "choices_text",
    "columns_for",
    "domain_text",
    "find_column",
    "identity_columns",
    "write_template",
]

Subject = Literal["household", "enterprise"]
Kind = Literal["identity", "household", "member", "enterprise"]
RELATION_CODES: dict[str, str] = {
    **{label: code for code, label in RELATION_LABELS.items()},
    "外祖父母": "grandparent",
    "外孙子女": "grandchild",
    **{code: code for code in RELATION_LABELS},
}
_TYPES = {"number": "数字", "string": "文本", "bool": "是/否", "date": "日期"}
OPTIONS_SHEET = "选项"  # the template's hidden sheet of drop-down values
_MAX_ROW = 1_048_576  # a drop-down covers the whole column


@dataclass(frozen=True)
class Column:
    """One template column: its canonical key, its header and what it holds."""

    key: str
    header: str
    kind: Kind
    meaning: str
    type: str = "string"
    sensitive: bool = False
    id_like: bool = False
    fact: FactDef | None = None
    note: str = ""
    max_length: int | None = None  # characters once normalised (NFKC): the store's column size


_HOUSEHOLD_IDENTITY = (
    Column("household_id", "户编号", "identity",
           "户的编号：同一户的各成员行填同一编号，且各行连续排列", id_like=True,
           note="文本，至多 64 个字符；必填", max_length=64),
    Column("region_code", "村（居）代码", "identity", "12 位统计用区划代码（村、居委会）",
           id_like=True, note="文本，12 位数字"),
    Column("name", "姓名", "identity", "成员姓名", sensitive=True, note="文本，至多 64 个字符",
           max_length=64),
    Column("id_number", "身份证号", "identity", "公民身份号码（18 位，末位可为 X；15 位旧号亦可）",
           sensitive=True, id_like=True, note="文本；必填；不要设成数字格式"),
    Column("relation", "与户主关系", "identity", "成员与户主的关系；每户恰有一位户主",
           note="户主/配偶/子女/父母/祖父母/外祖父母/孙子女/外孙子女/兄弟姐妹/其他，"
                "或 head/spouse/…"),
)  # fmt: skip
_ENTERPRISE_IDENTITY = (
    Column("credit_code", "统一社会信用代码", "identity", "18 位统一社会信用代码（GB 32100）",
           id_like=True, note="文本；必填"),
    Column("name", "企业名称", "identity", "营业执照上的名称", note="文本，至多 200 个字符",
           max_length=200),
    Column("region_code", "所在地区代码", "identity", "6 位县级或 12 位村级区划代码",
           id_like=True, note="文本"),
)  # fmt: skip
REQUIRED: dict[str, tuple[str, ...]] = {
    "household": ("household_id", "id_number", "relation"),
    "enterprise": ("credit_code",),
}


def domain_text(fact: FactDef) -> str:
    """A number or date fact's domain as the guide states it (`0 至 1000000 之间的数`), or "".

    A date whose `max` is `today` is bounded by the run's date, named here as 评估日 (the
    `--on` date of `zhida import` or `zhida batch`, else the day it runs).
    """
    if fact.minimum is None and fact.maximum is None and not fact.integer:
        return ""
    if fact.maximum == "today" and fact.minimum not in (None, "today"):
        return f"{fact.minimum} 至 评估日 之间的日期"  # describe_domain() drops the upper end
    return fact.describe_domain()


def choices_text(fact: FactDef) -> str:
    """The allowed values as the guide and the errors name them: `在册（active）、…`."""
    labels = fact.value_labels or {}
    return "、".join(f"{labels[c]}（{c}）" if c in labels else c for c in fact.values or ())


def choices(column: Column) -> tuple[str, ...]:
    """What a template's drop-down offers in a column: Chinese labels where the catalogue
    names the values (the codes are accepted too), 是/否, relations; () for free columns."""
    if column.key == "relation":
        return tuple(RELATION_LABELS.values())
    if column.kind == "identity" or column.fact is None:
        return ()
    if column.type == "bool":
        return ("是", "否")
    labels = column.fact.value_labels or {}
    return tuple(labels.get(v, v) for v in column.fact.values or ())


def _fact_column(fact: FactDef) -> Column:
    allowed = choices_text(fact)
    unit = f"单位：{fact.unit}" if fact.unit else ""
    level = "户（同户各行填一次即可）" if fact.level == "household" else ""
    domain = domain_text(fact)
    refused = "否则该企业不予导入" if fact.level == "enterprise" else "否则整户不予导入"
    return Column(
        key=fact.name,
        header=fact.label or fact.name,
        kind=fact.level,
        meaning=fact.meaning,
        type=fact.type,
        sensitive=fact.sensitive,
        fact=fact,
        note="；".join(
            p
            for p in (
                level,
                unit,
                f"可填：{allowed}" if allowed else "",
                f"须为 {domain}，{refused}" if domain else "",
            )
            if p
        ),
    )


def identity_columns(subject: Subject) -> tuple[Column, ...]:
    """The identity columns of a sheet of `subject` (户编号, 身份证号 … or 统一社会信用代码 …)."""
    return _HOUSEHOLD_IDENTITY if subject == "household" else _ENTERPRISE_IDENTITY


def columns_for(catalogue: FactCatalogue, subject: Subject) -> tuple[Column, ...]:
    """The template's columns, in order: identity columns, then every supplied fact.

    Args:
        catalogue: the fact catalogue (its labels are the headers).
        subject: "household" (one row per member) or "enterprise".

    Returns:
        The columns; derived facts are left out (the matcher computes them).
    """
    levels = KINDS[subject].levels
    identity = _HOUSEHOLD_IDENTITY if subject == "household" else _ENTERPRISE_IDENTITY
    facts = [
        _fact_column(f)
        for level in levels
        for f in catalogue.facts.values()
        if f.level == level and not f.derived
    ]
    return (*identity, *facts)


def _key(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().lower()


def find_column(header: object, columns: Sequence[Column]) -> Column | None:
    """The column a header cell names (its Chinese header or its key; NFKC, case-insensitive)."""
    if not isinstance(header, str):
        return None
    wanted = _key(header)
    return next((c for c in columns if wanted in (_key(c.header), _key(c.key))), None)


def _type_text(column: Column) -> str:
    if column.kind == "identity":
        return "文本"
    return _TYPES[column.type] + ("（是、否、true、false、1、0）" if column.type == "bool" else "")


def _guide(book: Workbook, columns: Sequence[Column]) -> None:
    sheet = book.create_sheet("说明")
    sheet.append(["表头", "字段名", "含义", "类型", "单位", "可填值与说明", "敏感个人信息"])
    for c in columns:
        unit = c.fact.unit if c.fact and c.fact.unit else ""
        sensitive = "是（个人信息保护法第二十八条）" if c.sensitive else "否"
        sheet.append([c.header, c.key, c.meaning, _type_text(c), unit, c.note, sensitive])
    sheet.append([])
    sheet.append(
        ["日期填 YYYY-MM-DD 文本或日期单元格；编号类列（户编号、身份证号、代码）请设为文本格式。"]
    )
    sheet.append(
        [
            "有下拉列表的列可从列表中选（如低保状态选 在册/已退出/非低保），也可填英文代码"
            "（active/lapsed/none），不分大小写；空白表示未知，结果将列入待补充。"
        ]
    )
    sheet.append(
        [
            "数字列：至多 15 位有效数字，且须在该列的取值范围内（见上表）；超出范围、"
            "不是数字或误填了证件号、账号的单元格会被拒收，并在错误表中列出行号和列名。"
        ]
    )
    for letter, width in zip("ABCDEFG", (18, 30, 60, 22, 10, 60, 26), strict=True):
        sheet.column_dimensions[letter].width = width


def write_template(path: Path, catalogue: FactCatalogue, subject: Subject) -> None:
    """Write an empty template (header row, ID columns formatted as text) with its guide sheet.

    Args:
        path: the .xlsx file to write.
        catalogue: the fact catalogue.
        subject: "household" or "enterprise".
    """
    columns = columns_for(catalogue, subject)
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new Workbook always has one sheet
    sheet.title = KINDS[subject].sheet_title
    sheet.append([c.header for c in columns])
    for i, column in enumerate(columns, start=1):
        sheet.cell(row=1, column=i).font = Font(bold=True)
        letter = get_column_letter(i)
        sheet.column_dimensions[letter].width = max(10, 2 * len(column.header) + 2)
        if column.id_like or column.type == "string":
            sheet.column_dimensions[letter].number_format = "@"
    sheet.freeze_panes = "A2"
    _guide(book, columns)
    _drop_downs(book, sheet, columns)
    book.save(path)


def _drop_downs(book: Workbook, sheet: Any, columns: Sequence[Column]) -> None:
    """A drop-down list on every column with a fixed set of values (from a hidden sheet 选项:
    an inline list is limited to 255 characters), and a date format on date columns."""
    lists = book.create_sheet(OPTIONS_SHEET)
    lists.sheet_state = "hidden"
    used = 0
    for i, column in enumerate(columns, start=1):
        letter = get_column_letter(i)
        if column.type == "date" and column.kind != "identity":
            sheet.column_dimensions[letter].number_format = "yyyy-mm-dd"  # a date cell as typed
        values = choices(column)
        if not values:
            continue
        used += 1
        source = get_column_letter(used)
        lists.cell(row=1, column=used, value=column.header)
        for row, value in enumerate(values, start=2):
            lists.cell(row=row, column=used, value=value)
        rule = DataValidation(
            type="list",
            formula1=f"'{OPTIONS_SHEET}'!${source}$2:${source}${len(values) + 1}",
            allow_blank=True,
            showErrorMessage=True,
            errorStyle="warning",  # a code typed by hand (active) is accepted too
            errorTitle=column.header,
            error=f"可选：{'、'.join(values)}（也可填英文代码）",
        )
        rule.add(f"{letter}2:{letter}{_MAX_ROW}")
        sheet.add_data_validation(rule)
