"""Writing for durable-rules: JSON it reads exactly, and a profile as the one fact asserted.

durable-rules refuses numbers in exponent notation (error 204) and decodes no `\\u` escapes,
so JSON is written here with exact decimal expansions and unescaped text. A profile becomes
one fact (`Normaliser.body`): its facts under their fields, region prefixes, members as
items, and the hidden boolean fields the compiler precomputes with the interpreter's evaluator.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from matcher.interpreter.evaluate import Range, Value, evaluate_expr
from matcher.profiles.errors import EngineError, Issue, ProfileError
from matcher.profiles.facts import Facts
from rules import ir
from rules.facts import FactCatalogue, FactValue

if TYPE_CHECKING:
    from matcher.events.compiler import Compiler

__all__ = [
    "COUNT",
    "MEMBERS",
    "SUBJECT",
    "Formula",
    "Json",
    "Normaliser",
    "all_of",
    "any_of",
    "dumps",
    "encode_const",
    "field",
]

_EXACT_INT = 2**53
Json = Any
Formula = bool | dict[str, Any]
MEMBERS, COUNT, SUBJECT = "_z_members", "_z_n", "_z_subject"
_RESERVED = {"sid", "id", "t", "$s", MEMBERS, COUNT, SUBJECT}


# --- JSON as durable-rules reads it ----------------------------------------------------------


def _number(x: float) -> str:
    text = repr(x)
    if "e" in text or "E" in text:  # durable-rules refuses exponent notation (error 204)
        text = format(Decimal(x), "f")
    return text if "." in text else text + ".0"


def dumps(obj: Json) -> str:
    """JSON with exact plain decimals and unescaped text (durable-rules decodes no `\\u`)."""
    if isinstance(obj, bool):
        return "1" if obj else "0"
    if isinstance(obj, float):
        return _number(obj)
    if isinstance(obj, int):
        return str(obj)
    if isinstance(obj, str):
        return '"' + obj.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(obj, Mapping):
        return "{" + ",".join(f"{dumps(k)}:{dumps(v)}" for k, v in obj.items()) + "}"
    return "[" + ",".join(dumps(v) for v in obj) + "]"


def all_of(parts: Iterable[Formula]) -> Formula:
    kept: list[dict[str, Any]] = []
    for p in parts:
        if p is False:
            return False
        if p is not True:
            kept.extend(p["$and"] if "$and" in p else [p])
    return True if not kept else kept[0] if len(kept) == 1 else {"$and": kept}


def any_of(parts: Iterable[Formula]) -> Formula:
    kept: list[dict[str, Any]] = []
    for p in parts:
        if p is True:
            return True
        if p is not False:
            kept.extend(p["$or"] if "$or" in p else [p])
    return False if not kept else kept[0] if len(kept) == 1 else {"$or": kept}


def field(name: str) -> str:
    """The JSON field of a fact: its own name unless durable-rules or we reserve it."""
    return f"_z_f_{name}" if name in _RESERVED or name.startswith(("$", "_z_")) else name


def encode_const(value: FactValue) -> Json:
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, date):
        return value.toordinal()
    if isinstance(value, int | Decimal):
        # decimals of at most 15 significant digits keep their order and equality as doubles
        return float(value)
    return value


# --- normalising facts -----------------------------------------------------------------------


def _encode_fact(name: str, value: FactValue, kind: str, path: str) -> Json:
    """A fact value as asserted; refuses a value of the wrong type ("9000" for a number)."""
    ok = {
        "number": isinstance(value, int | Decimal) and not isinstance(value, bool),
        "string": isinstance(value, str),
        "bool": isinstance(value, bool),
        "date": isinstance(value, date) and not isinstance(value, datetime),
    }[kind]
    if not ok:
        found = f"{type(value).__name__} {value!r}"
        raise ProfileError([Issue(path, f"`{name}` must be a {kind}, found {found}")], "facts")
    return _encode_value(value, path)


def _encode_value(value: Value, path: str) -> Json:
    assert value is not None and not isinstance(value, Range | Fraction)  # see `needs_ranges`
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        if abs(Decimal(value)) > _EXACT_INT:
            raise EngineError(f"{path}: {value!r} cannot be compared exactly as a double")
        return float(value)
    return encode_const(value)


class Normaliser:
    """Builds the one fact asserted for a profile, as JSON text without `sid` and `id`."""

    def __init__(self, c: Compiler, facts: FactCatalogue, subject: str) -> None:
        kinds = {n: d.type for n, d in facts.facts.items()}
        self.top = sorted((n, field(n), kinds[n]) for n in c.top)
        self.item = sorted((n, field(n), kinds[n], member) for n, member in c.item)
        self.hidden_top = sorted((n, e) for e, n in c.hidden_top.items())
        self.hidden_item = sorted((n, e) for e, n in c.hidden_item.items())
        self.regions = sorted(c.region_lengths)
        self.members = c.members or bool(self.item or self.hidden_item)
        self.subject = subject

    def body(self, facts: Facts) -> str:
        out: dict[str, Json] = {SUBJECT: self.subject}
        for name, field, kind in self.top:
            value = facts.subject.get(name)
            if value is not None:
                out[field] = _encode_fact(name, value, kind, name)
        _hidden(out, self.hidden_top, facts, None, "")
        code = facts.region_code
        out.update({f"_z_r{n}": code[:n] for n in self.regions if code and len(code) >= n})
        if self.members:
            out[COUNT] = len(facts.members)
            out[MEMBERS] = [self._row(facts, row, i) for i, row in enumerate(facts.members)]
        return dumps(out)[1:]

    def _row(self, facts: Facts, row: Mapping[str, FactValue], i: int) -> dict[str, Json]:
        out: dict[str, Json] = {}
        for name, field, kind, member in self.item:
            value = (row if member else facts.subject).get(name)
            if value is not None:
                out[field] = _encode_fact(name, value, kind, f"members[{i}].{name}")
        _hidden(out, self.hidden_item, facts, row, f"members[{i}].")
        return out


def _hidden(
    out: dict[str, Json],
    hidden: list[tuple[str, ir.Expr]],
    facts: Facts,
    row: Mapping[str, FactValue] | None,
    path: str,
) -> None:
    for name, expr in hidden:
        value, _ = evaluate_expr(expr, facts, row)
        if value is not None:
            out[name] = _encode_value(value, f"{path}{name} = {ir.to_text(expr)}")
