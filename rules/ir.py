"""The typed expression IR every engine compiles from.

Nodes are frozen dataclasses; `type` is the static type the checker gave the node.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Literal

from rules.facts import FactType, FactValue

CompareOp = Literal["==", "!=", "<", "<=", ">", ">="]
ArithOp = Literal["+", "-", "*", "/", "**"]
AggFunc = Literal["any", "all", "count", "sum"]
ScalarFunc = Literal["min", "max"]


@dataclass(frozen=True)
class Const:
    """A literal value."""

    value: FactValue
    type: FactType


@dataclass(frozen=True)
class FactRef:
    """A fact by its catalogue name; `member` facts appear only inside an aggregate.

    `lo`/`hi` are the fact's domain (None: unbounded): an unknown value lies between them, which
    three-valued logic uses (docs/rule-language.md, "Three-valued results"). A derived fact
    with a `formula` (`per_capita_monthly_income`) is evaluated as that expression, exactly.
    """

    name: str
    type: FactType
    member: bool = False
    asks: tuple[str, ...] = ()  # a derived fact: the supplied facts to ask for when it is unknown
    lo: Decimal | int | date | None = None
    hi: Decimal | int | date | None = None
    formula: Expr | None = None

    @property
    def missing_as(self) -> frozenset[str]:
        """The fact names to report when this fact is unknown."""
        return frozenset(self.asks or (self.name,))


@dataclass(frozen=True)
class ParamRef:
    """`params.NAME`: replaced by its dated value before evaluation (see `bind_params`)."""

    name: str
    type: FactType


@dataclass(frozen=True)
class Compare:
    """`left OP right`."""

    op: CompareOp
    left: Expr
    right: Expr
    type: FactType = "bool"


@dataclass(frozen=True)
class InSet:
    """`operand in [v1, v2, …]` (or `not in`)."""

    operand: Expr
    values: tuple[FactValue, ...]
    negated: bool = False
    type: FactType = "bool"


@dataclass(frozen=True)
class And:
    """All operands (Kleene)."""

    operands: tuple[Expr, ...]
    type: FactType = "bool"


@dataclass(frozen=True)
class Or:
    """Some operand (Kleene)."""

    operands: tuple[Expr, ...]
    type: FactType = "bool"


@dataclass(frozen=True)
class Not:
    """Negation (unknown stays unknown)."""

    operand: Expr
    type: FactType = "bool"


@dataclass(frozen=True)
class Arith:
    """Binary arithmetic on numbers."""

    op: ArithOp
    left: Expr
    right: Expr
    type: FactType = "number"


@dataclass(frozen=True)
class Neg:
    """Unary minus."""

    operand: Expr
    type: FactType = "number"


@dataclass(frozen=True)
class Aggregate:
    """`any|all|count|sum(members, body)`: evaluated once per member."""

    func: AggFunc
    body: Expr
    type: FactType = "bool"


@dataclass(frozen=True)
class Call:
    """`min(a, b, …)` or `max(a, b, …)` (amounts only)."""

    func: ScalarFunc
    args: tuple[Expr, ...]
    type: FactType = "number"


@dataclass(frozen=True)
class IfElse:
    """`then if cond else other` (amounts only)."""

    cond: Expr
    then: Expr
    other: Expr
    type: FactType = "number"


Expr = (
    Const
    | FactRef
    | ParamRef
    | Compare
    | InSet
    | And
    | Or
    | Not
    | Arith
    | Neg
    | Aggregate
    | Call
    | IfElse
)


def children(expr: Expr) -> tuple[Expr, ...]:
    """The direct sub-expressions of a node."""
    match expr:
        case Compare(left=a, right=b) | Arith(left=a, right=b):
            return (a, b)
        case InSet(operand=a) | Not(operand=a) | Neg(operand=a):
            return (a,)
        case And(operands=ops) | Or(operands=ops):
            return ops
        case Aggregate(body=body):
            return (body,)
        case Call(args=args):
            return args
        case IfElse(cond=c, then=t, other=o):
            return (c, t, o)
    return ()


def walk(expr: Expr) -> Iterator[Expr]:
    """Every node of `expr`, depth first, the root first."""
    yield expr
    for child in children(expr):
        yield from walk(child)


def fact_names(expr: Expr) -> set[str]:
    """Names of every fact `expr` reads."""
    return {node.name for node in walk(expr) if isinstance(node, FactRef)}


def param_names(expr: Expr) -> set[str]:
    """Names of every parameter `expr` reads."""
    return {node.name for node in walk(expr) if isinstance(node, ParamRef)}


def bind_params(expr: Expr, values: Mapping[str, FactValue]) -> Expr:
    """`expr` with every `params.X` replaced by the constant `values[X]`."""
    match expr:
        case ParamRef(name=name, type=t):
            return Const(values[name], t)
        case Const() | FactRef():
            return expr
        case Compare() | Arith():
            return replace(
                expr, left=bind_params(expr.left, values), right=bind_params(expr.right, values)
            )
        case InSet() | Not() | Neg():
            return replace(expr, operand=bind_params(expr.operand, values))
        case And() | Or():
            return replace(expr, operands=tuple(bind_params(o, values) for o in expr.operands))
        case Aggregate():
            return replace(expr, body=bind_params(expr.body, values))
        case Call():
            return replace(expr, args=tuple(bind_params(a, values) for a in expr.args))
        case IfElse():
            return IfElse(
                bind_params(expr.cond, values),
                bind_params(expr.then, values),
                bind_params(expr.other, values),
            )
    raise TypeError(f"not an IR node: {expr!r}")  # pragma: no cover


def to_text(expr: Expr) -> str:
    """A readable rendering of `expr` in the rule language (for explanations)."""
    match expr:
        case Const(value=v, type="string"):
            return f'"{v}"'
        case Const(value=v, type="date"):
            return f'date("{v}")'
        case Const(value=v, type="bool"):
            return "true" if v else "false"
        case Const(value=v):
            return str(v)
        case FactRef(name=name):
            return name
        case ParamRef(name=name):
            return f"params.{name}"
        case Compare(op=op, left=a, right=b) | Arith(op=op, left=a, right=b):
            return f"{_paren(a)} {op} {_paren(b)}"
        case InSet(operand=a, values=vals, negated=neg):
            items = ", ".join(
                to_text(Const(v, "string" if isinstance(v, str) else "number")) for v in vals
            )
            return f"{_paren(a)} {'not in' if neg else 'in'} [{items}]"
        case And(operands=ops):
            return " and ".join(_paren(o) for o in ops)
        case Or(operands=ops):
            return " or ".join(_paren(o) for o in ops)
        case Not(operand=a):
            return f"not {_paren(a)}"
        case Neg(operand=a):
            return f"-{_paren(a)}"
        case Aggregate(func=f, body=body):
            return f"{f}(members, {to_text(body)})"
        case Call(func=f, args=args):
            return f"{f}({', '.join(to_text(a) for a in args)})"
        case IfElse(cond=c, then=t, other=o):
            return f"{_paren(t)} if {_paren(c)} else {_paren(o)}"
    raise TypeError(f"not an IR node: {expr!r}")  # pragma: no cover


def threshold(expr: Expr) -> str | None:
    """The threshold an ordered comparison tests against (`>= 60`), if the condition is one."""
    if isinstance(expr, Aggregate):
        return threshold(expr.body)
    if isinstance(expr, Compare) and expr.op in ("<", "<=", ">", ">="):
        for side in (expr.right, expr.left):
            if isinstance(side, Const | ParamRef):
                return f"{expr.op} {to_text(side)}"
    return None


def _paren(expr: Expr) -> str:
    simple = isinstance(expr, Const | FactRef | ParamRef | Aggregate | Call)
    return to_text(expr) if simple else f"({to_text(expr)})"
