"""Expressions: parsed by `ast` (eval mode) into the typed IR, with a whitelist; never evaluated.

Every error is an `ExpressionError` at `file:line:col` of the offending part of the expression.
"""

from __future__ import annotations

import ast
import difflib
import warnings
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Literal, cast

from rules import ir
from rules.errors import ExpressionError, Location
from rules.facts import FactCatalogue, FactType, FactValue
from rules.messages import ALLOWED, node_problem, operator_problem, syntax_problem
from rules.numbers import SIGNIFICANT, Number, NumberError, read_number

MAX_LENGTH = 2000
MAX_DEPTH = 32
MAX_EXPONENT = 10
AGGREGATES = ("any", "all", "count", "sum")
SCALAR_FUNCS = ("min", "max")
Mode = Literal["condition", "amount"]

_COMPARE_OPS: dict[type[ast.cmpop], ir.CompareOp] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
}
_ARITH_OPS: dict[type[ast.operator], ir.ArithOp] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "**",
}
_LITERAL_NAMES: dict[str, FactValue] = {"true": True, "false": False, "True": True, "False": False}


@dataclass(frozen=True)
class Scope:
    """What an expression may name: the catalogue, the subject, the policy's parameters."""

    catalogue: FactCatalogue
    subject: Literal["household", "enterprise"]
    params: dict[str, FactType] = field(default_factory=dict)
    mode: Mode = "condition"
    used_params: set[str] = field(default_factory=set)
    formulas: bool = True  # False inside a formula: a formula names supplied facts only


def parse(text: str, scope: Scope, where: Location, *, expect: FactType | None = None) -> ir.Expr:
    """Parse and type-check one expression.

    Args:
        text: the expression as written in the rule file.
        scope: the names it may use.
        where: the position of the expression's first character in the file.
        expect: the type the whole expression must have (bool for `when`, number for amounts).

    Raises:
        ExpressionError: at the position of the offending node, saying what is allowed.
    """
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            where,
            f"expression is {len(text)} characters long",
            f"at most {MAX_LENGTH} are allowed; split it into several conditions",
        )
    tree = _parse_ast(text, where)
    node = _Checker(scope, where, text).check(tree.body, depth=0, in_agg=False)
    if expect is not None and node.type != expect:
        raise ExpressionError(
            where, f"expression has type {node.type}, expected {expect}", _hint_for(expect)
        )
    return node


def formula_of(catalogue: FactCatalogue, name: str) -> ir.Expr | None:
    """The IR of a derived fact's `formula` (None for a fact without one).

    Raises:
        ExpressionError: the formula does not parse or names a fact it may not (positions are
            within the formula; `rules.catalogue.load_facts` reports them at facts.yaml).
    """
    fact = catalogue.facts[name]
    if fact.formula is None:
        return None
    subject: Literal["household", "enterprise"] = (
        "enterprise" if fact.level == "enterprise" else "household"
    )
    where = Location(f"facts.yaml ({name}.formula)", 1, 1)
    expr = parse(fact.formula, Scope(catalogue, subject, formulas=False), where, expect="number")
    return expr


def _hint_for(expected: FactType) -> str:
    if expected == "bool":
        return "a condition must be true or false, e.g. `age >= 60`"
    return "an amount must be a number, e.g. `params.rate * household_size`"


def _parse_ast(text: str, where: Location) -> ast.Expression:
    source = text.strip()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Python's SyntaxWarnings would go to stderr
            return ast.parse(source, mode="eval")
    except SyntaxError as exc:
        col, message, hint = syntax_problem(source, exc.offset or 0, exc.msg)
        lead = len(text) - len(text.lstrip())
        raise ExpressionError(_shift(where, col + lead), message, hint) from None
    except (MemoryError, RecursionError):
        raise ExpressionError(
            where,
            "expression is nested too deeply to parse",
            f"at most {MAX_DEPTH} levels are allowed",
        ) from None


def _shift(where: Location, col: int) -> Location:
    return replace(where, col=where.col + col) if where.line > 0 else where


class _Checker:
    """Turns a whitelisted Python AST into typed IR, refusing everything else."""

    def __init__(self, scope: Scope, where: Location, text: str) -> None:
        self.scope = scope
        self.where = where
        self.lead = len(text) - len(text.lstrip())
        self.source = text.strip()

    def fail(self, node: ast.AST, message: str, hint: str | None = None) -> ExpressionError:
        col = getattr(node, "col_offset", 0) + self.lead
        return ExpressionError(_shift(self.where, col), message, hint)

    def check(self, node: ast.expr, depth: int, in_agg: bool) -> ir.Expr:
        if depth > MAX_DEPTH:
            raise self.fail(
                node, "expression is nested too deeply", f"at most {MAX_DEPTH} levels are allowed"
            )
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise self.fail(node, node_problem(type(node).__name__), ALLOWED)
        return cast(ir.Expr, method(node, depth + 1, in_agg))

    # literals and names --------------------------------------------------------------------
    def _Constant(self, node: ast.Constant, depth: int, in_agg: bool) -> ir.Expr:
        value = node.value
        if isinstance(value, bool):
            return ir.Const(value, "bool")
        if isinstance(value, int | float):
            return ir.Const(self._exact_literal(node), "number")
        if isinstance(value, str):
            return ir.Const(value, "string")
        raise self.fail(
            node,
            f"literal {value!r} is not allowed",
            'use numbers, quoted strings, true/false or date("YYYY-MM-DD")',
        )

    def _exact_literal(self, node: ast.Constant) -> Number:
        """A number literal as written (`0.4556` as a decimal, never the nearest binary float)."""
        written = ast.get_source_segment(self.source, node) or repr(node.value)
        try:
            return read_number(Decimal(written.replace("_", "")))
        except (ArithmeticError, NumberError) as exc:
            raise self.fail(
                node,
                f"number {written} cannot be held exactly",
                f"{exc}; write at most {SIGNIFICANT} significant digits",
            ) from None

    def _Name(self, node: ast.Name, depth: int, in_agg: bool) -> ir.Expr:
        if node.id in _LITERAL_NAMES:
            return ir.Const(_LITERAL_NAMES[node.id], "bool")
        fact = self.scope.catalogue.get(node.id)
        if fact is None:
            guess = self.scope.catalogue.suggest(node.id)
            hint = f"did you mean `{guess}`?" if guess else "declare it in policies/facts.yaml"
            raise self.fail(node, f"unknown fact `{node.id}`", hint)
        if self.scope.subject == "enterprise" and fact.level != "enterprise":
            raise self.fail(
                node,
                f"`{node.id}` is a {fact.level} fact",
                "an enterprise policy may use enterprise facts only",
            )
        if self.scope.subject == "household" and fact.level == "enterprise":
            raise self.fail(
                node,
                f"`{node.id}` is an enterprise fact",
                "a household policy may use household and member facts",
            )
        if fact.formula is not None and not self.scope.formulas:
            raise self.fail(
                node,
                f"`{node.id}` is itself computed by a formula",
                "a formula names supplied facts only",
            )
        if fact.level == "member" and not in_agg:
            raise self.fail(
                node,
                f"`{node.id}` is a member fact",
                f"use it inside an aggregate, e.g. any(members, {node.id} …)",
            )
        low, high = fact.bounds
        return ir.FactRef(
            node.id,
            fact.type,
            fact.level == "member",
            fact.inputs,
            low,
            high,
            formula_of(self.scope.catalogue, node.id),
        )

    def _Attribute(self, node: ast.Attribute, depth: int, in_agg: bool) -> ir.Expr:
        if not (isinstance(node.value, ast.Name) and node.value.id == "params"):
            raise self.fail(
                node, "attribute access is not allowed", "only `params.NAME` may use a dot"
            )
        kind = self.scope.params.get(node.attr)
        if kind is None:
            close = difflib.get_close_matches(node.attr, list(self.scope.params), n=1)
            hint = (
                f"did you mean `params.{close[0]}`?"
                if close
                else ("declare it under `parameters:` in this policy file")
            )
            raise self.fail(node, f"unknown parameter `params.{node.attr}`", hint)
        self.scope.used_params.add(node.attr)
        return ir.ParamRef(node.attr, kind)

    # logic ----------------------------------------------------------------------------------
    def _BoolOp(self, node: ast.BoolOp, depth: int, in_agg: bool) -> ir.Expr:
        ops = tuple(self._bool(v, depth, in_agg) for v in node.values)
        return ir.And(ops) if isinstance(node.op, ast.And) else ir.Or(ops)

    def _UnaryOp(self, node: ast.UnaryOp, depth: int, in_agg: bool) -> ir.Expr:
        if isinstance(node.op, ast.Not):
            return ir.Not(self._bool(node.operand, depth, in_agg))
        if isinstance(node.op, ast.USub | ast.UAdd):
            operand = self._number(node.operand, depth, in_agg)
            if isinstance(node.op, ast.UAdd):
                return operand
            if isinstance(operand, ir.Const) and isinstance(operand.value, int | Decimal):
                return ir.Const(-operand.value, "number")
            return ir.Neg(operand)
        raise self.fail(node, "`~` is not allowed", "use `not` for negation")

    def _bool(self, node: ast.expr, depth: int, in_agg: bool) -> ir.Expr:
        expr = self.check(node, depth, in_agg)
        if expr.type != "bool":
            raise self.fail(
                node,
                f"expected a condition (true/false), found a {expr.type}",
                "compare it, e.g. `x >= 60`",
            )
        return expr

    def _number(self, node: ast.expr, depth: int, in_agg: bool) -> ir.Expr:
        expr = self.check(node, depth, in_agg)
        if expr.type != "number":
            raise self.fail(
                node, f"expected a number, found a {expr.type}", "arithmetic works on numbers only"
            )
        return expr

    # comparisons ----------------------------------------------------------------------------
    def _Compare(self, node: ast.Compare, depth: int, in_agg: bool) -> ir.Expr:
        if len(node.ops) != 1:
            raise self.fail(node, "chained comparisons are not allowed", "write `a <= x and x < b`")
        op, right_node = node.ops[0], node.comparators[0]
        if isinstance(op, ast.Is | ast.IsNot):
            raise self.fail(node, *operator_problem(type(op).__name__))
        left = self.check(node.left, depth, in_agg)
        if isinstance(op, ast.In | ast.NotIn):
            return self._in(left, right_node, isinstance(op, ast.NotIn), node, depth, in_agg)
        right = self.check(right_node, depth, in_agg)
        symbol = _COMPARE_OPS[type(op)]
        if left.type != right.type:
            raise self.fail(
                node,
                f"cannot compare a {left.type} with a {right.type}",
                f"`{ir.to_text(left)}` is a {left.type}; compare it with a {left.type} value",
            )
        if left.type in ("string", "bool") and symbol not in ("==", "!="):
            raise self.fail(node, f"`{symbol}` does not apply to a {left.type}", "use == or !=")
        self._check_enum(left, right, right_node)
        self._check_enum(right, left, node.left)
        return ir.Compare(symbol, left, right)

    def _in(
        self, left: ir.Expr, right: ast.expr, negated: bool, node: ast.AST, depth: int, in_agg: bool
    ) -> ir.Expr:
        if not isinstance(right, ast.List | ast.Tuple | ast.Set) or not right.elts:
            raise self.fail(
                right,
                "`in` needs a non-empty list of literals",
                'e.g. industry in ["制造业", "建筑业"]',
            )
        values = []
        for elt in right.elts:
            const = self.check(elt, depth, in_agg)
            if not isinstance(const, ir.Const):
                raise self.fail(elt, "a list after `in` holds literals only")
            if const.type != left.type:
                raise self.fail(
                    elt,
                    f"cannot compare a {left.type} with a {const.type}",
                    f"every item must be a {left.type}",
                )
            self._check_enum(left, const, elt)
            values.append(const.value)
        return ir.InSet(left, tuple(values), negated)

    def _check_enum(self, fact: ir.Expr, other: ir.Expr, node: ast.AST) -> None:
        if not (isinstance(fact, ir.FactRef) and isinstance(other, ir.Const)):
            return
        allowed = self.scope.catalogue.facts[fact.name].values
        if allowed is None or other.value in allowed:
            return
        close = difflib.get_close_matches(str(other.value), list(allowed), n=1)
        hint = f'did you mean "{close[0]}"? ' if close else ""
        raise self.fail(
            node,
            f'`{fact.name}` is never "{other.value}"',
            f"{hint}allowed values: {', '.join(allowed)}",
        )

    # arithmetic -----------------------------------------------------------------------------
    def _BinOp(self, node: ast.BinOp, depth: int, in_agg: bool) -> ir.Expr:
        symbol = _ARITH_OPS.get(type(node.op))
        if symbol is None:
            raise self.fail(node, *operator_problem(type(node.op).__name__))
        left = self._number(node.left, depth, in_agg)
        right = self._number(node.right, depth, in_agg)
        if symbol == "**" and not (
            isinstance(right, ir.Const)
            and isinstance(right.value, int)
            and 0 <= right.value <= MAX_EXPONENT
        ):
            raise self.fail(
                node.right,
                "exponent must be a whole-number constant",
                f"between 0 and {MAX_EXPONENT}",
            )
        return ir.Arith(symbol, left, right)

    def _IfExp(self, node: ast.IfExp, depth: int, in_agg: bool) -> ir.Expr:
        self._amount_only(node, "`a if cond else b`")
        cond = self._bool(node.test, depth, in_agg)
        return ir.IfElse(
            cond, self._number(node.body, depth, in_agg), self._number(node.orelse, depth, in_agg)
        )

    def _amount_only(self, node: ast.AST, what: str) -> None:
        if self.scope.mode != "amount":
            raise self.fail(
                node,
                f"{what} is allowed in benefit amounts only",
                "split the condition into several `when` entries",
            )

    # calls ----------------------------------------------------------------------------------
    def _Call(self, node: ast.Call, depth: int, in_agg: bool) -> ir.Expr:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if node.keywords and node.keywords[0].arg is not None:
            raise self.fail(
                node.keywords[0],
                "`=` 是赋值，不是比较",
                f"比较是否相等请写 `{node.keywords[0].arg} == …`（两个等号）",
            )
        if node.keywords or name is None:
            raise self.fail(
                node, "only any/all/count/sum(members, …), min, max and date(…) may be called"
            )
        if name == "date":
            return self._date(node)
        if name in SCALAR_FUNCS:
            self._amount_only(node, f"`{name}(…)`")
            if len(node.args) < 2:
                raise self.fail(node, f"`{name}` needs at least two numbers")
            args = tuple(self._number(a, depth, in_agg) for a in node.args)
            return ir.Call(cast(ir.ScalarFunc, name), args)
        if name in AGGREGATES:
            return self._aggregate(node, name, depth, in_agg)
        guess = difflib.get_close_matches(name, [*AGGREGATES, *SCALAR_FUNCS, "date"], n=1)
        raise self.fail(
            node,
            f"`{name}(…)` is not allowed",
            f"did you mean `{guess[0]}`?"
            if guess
            else "allowed: any, all, count, sum, min, max, date",
        )

    def _date(self, node: ast.Call) -> ir.Expr:
        arg = node.args[0] if len(node.args) == 1 else None
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            raise self.fail(node, "date(…) takes one quoted ISO date", 'e.g. date("2024-01-01")')
        try:
            return ir.Const(date.fromisoformat(arg.value), "date")
        except ValueError:
            raise self.fail(arg, f"not a date: {arg.value!r}", "use YYYY-MM-DD") from None

    def _aggregate(self, node: ast.Call, name: str, depth: int, in_agg: bool) -> ir.Expr:
        if self.scope.subject != "household":
            raise self.fail(node, f"`{name}` works over household members only")
        if in_agg:
            raise self.fail(node, "aggregates cannot be nested")
        args = node.args
        if len(args) != 2 or not (isinstance(args[0], ast.Name) and args[0].id == "members"):
            raise self.fail(
                node,
                f"`{name}` takes `members` and one expression",
                f"e.g. {name}(members, age >= 60)",
            )
        func = cast(ir.AggFunc, name)
        body = self.check(args[1], depth, in_agg=True)
        wanted: FactType = "number" if func == "sum" else "bool"
        if body.type != wanted:
            raise self.fail(
                args[1],
                f"`{name}` needs a {'number' if wanted == 'number' else 'condition'}"
                f" per member, found a {body.type}",
            )
        result: FactType = "bool" if func in ("any", "all") else "number"
        return ir.Aggregate(func, body, result)
