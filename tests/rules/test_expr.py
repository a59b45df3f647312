"""Expressions parse into the typed IR, and everything outside the whitelist is refused."""

from __future__ import annotations

from datetime import date

import pytest

from rules import ir
from rules.catalogue import param_value
from rules.errors import ExpressionError, Location
from rules.expr import Scope, parse
from rules.facts import FactCatalogue, FactDef
from rules.schema import Parameter

FACTS = FactCatalogue(
    facts={
        "income": FactDef(
            type="number", level="household", meaning="收入", source="民政", sensitive=True
        ),
        "dibao_status": FactDef(
            type="string",
            level="household",
            meaning="低保",
            source="民政",
            sensitive=True,
            values=("active", "lapsed", "none"),
        ),
        "age": FactDef(
            type="number",
            level="member",
            meaning="年龄",
            source="公安",
            sensitive=False,
            derived=True,
        ),
        "is_student": FactDef(
            type="bool", level="member", meaning="在校", source="教育", sensitive=False
        ),
        "founded_on": FactDef(
            type="date", level="enterprise", meaning="成立", source="市场监管", sensitive=False
        ),
    }
)
HOUSEHOLD = Scope(FACTS, "household", {"line": "number"})
AT = Location("p.yaml", 3, 11)


def test_condition_becomes_typed_ir() -> None:
    """A condition with a parameter, a string fact and an aggregate parses to the expected IR."""
    expr = parse(
        'dibao_status == "active" and income < params.line and any(members, age >= 60)',
        HOUSEHOLD,
        AT,
        expect="bool",
    )
    assert expr == ir.And(
        (
            ir.Compare("==", ir.FactRef("dibao_status", "string"), ir.Const("active", "string")),
            ir.Compare("<", ir.FactRef("income", "number"), ir.ParamRef("line", "number")),
            ir.Aggregate(
                "any",
                ir.Compare(">=", ir.FactRef("age", "number", member=True), ir.Const(60, "number")),
            ),
        )
    )


def test_bind_params_replaces_parameters_with_constants() -> None:
    """`params.line` becomes the constant in force, and the text shows it."""
    expr = parse("income < params.line", HOUSEHOLD, AT)
    bound = ir.bind_params(expr, {"line": 705})
    assert ir.to_text(bound) == "income < 705"
    assert ir.param_names(bound) == set()


def test_dates_count_and_in_lists() -> None:
    """date(), count() and `in` lists parse with their types."""
    scope = Scope(FACTS, "enterprise")
    expr = parse('founded_on >= date("2020-01-01")', scope, AT)
    assert isinstance(expr, ir.Compare) and expr.right == ir.Const(date(2020, 1, 1), "date")
    count = parse("count(members, is_student) >= 2", HOUSEHOLD, AT)
    assert isinstance(count, ir.Compare) and isinstance(count.left, ir.Aggregate)
    member = parse('dibao_status not in ["lapsed", "none"]', HOUSEHOLD, AT)
    assert member == ir.InSet(ir.FactRef("dibao_status", "string"), ("lapsed", "none"), True)


def test_amount_only_forms_are_refused_in_conditions() -> None:
    """min() and `a if c else b` belong to amounts; in a condition they are an error."""
    amount = Scope(FACTS, "household", {"line": "number"}, "amount")
    parse("min(params.line - income, 500)", amount, AT, expect="number")
    with pytest.raises(ExpressionError, match="benefit amounts only"):
        parse("min(income, 500) > 3", HOUSEHOLD, AT)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("income <", "表达式没有写完"),
        ("income = 3", "`=` 是赋值，不是比较"),
        ("income is 3", "`is` 不能用于比较"),
        ("income % 2 == 0", "运算符 `%` 不能用"),
        ("income => 3", "大于等于请写 `>=`"),
        ("dibao_status == “active”", "全角符号 `“`"),
        ("any(members, age = 3)", "比较是否相等请写 `age == …`"),
        ('f"{income}" == "3"', "不能用 f-string"),
        ("(x := income) > 3", "不能用 `:=` 赋值"),
        ("income < 3 < 5", "chained comparisons"),
        ('income < "x"', "cannot compare a number with a string"),
        ('dibao_status < "active"', "does not apply to a string"),
        ("income + 1", "has type number, expected bool"),
        ("lambda: 1", "不能用 lambda"),
        ("[x for x in members]", "不能用 列表推导"),
        ("income.__class__ == 1", "attribute access is not allowed"),
        ("open('x') == 1", "`open(…)` is not allowed"),
        ("any(members, any(members, age > 1))", "cannot be nested"),
        ("sum(members, age > 1) > 1", "needs a number per member"),
        ("income > 2 ** income", "exponent must be a whole-number constant"),
        ('income > date("2024-02-30")', "not a date"),
        ("income in []", "non-empty list"),
        ("not " * 40 + "income > 1", "nested too deeply"),
        ("x" * 2001, "characters long"),
    ],
)
def test_refused_expressions_name_the_problem(text: str, fragment: str) -> None:
    """Each refused form raises an ExpressionError naming what is wrong."""
    with pytest.raises(ExpressionError) as info:
        parse(text, HOUSEHOLD, AT, expect="bool")
    assert fragment in str(info.value)
    assert info.value.location.file == "p.yaml" and info.value.location.line == 3
    for internal in ("JoinedStr", "NamedExpr", "ListComp", "Lambda", "Compare", "invalid syntax"):
        assert internal not in str(info.value)


def test_error_column_points_into_the_expression() -> None:
    """The column of an unknown name is the expression's start plus the name's offset."""
    with pytest.raises(ExpressionError) as info:
        parse("income > 1 and incme < 2", HOUSEHOLD, AT)
    assert info.value.location.col == 11 + len("income > 1 and ")


def test_dated_parameter_takes_the_value_in_force() -> None:
    """The value in force is the latest start on or before the date; before the first, none."""
    param = Parameter(
        values={date(2023, 1, 1): 650, date(2024, 1, 1): 705}, unit="元", reference="r"
    )
    assert param_value(param, date(2022, 12, 31)) is None
    assert param_value(param, date(2023, 12, 31)) == 650
    assert param_value(param, date(2024, 1, 1)) == 705
