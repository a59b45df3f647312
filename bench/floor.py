"""The floor: a catalogue as plain, hand-written-style numpy over the engine's own arrays.

    uv run python bench/floor.py [--synthetic] [--show]   # print the generated module

Two-valued (NaN compares false), no per-condition truth, no missing facts, no explanations:
the fastest the batch work can go on this machine. The code is generated mechanically from the
bound policies' IR as straight-line numpy statements — one line per shared sub-expression, every
distinct condition computed once, aggregates as `ufunc.reduceat` over the household starts,
region scopes as integer division of the region code — written to a module file and imported,
so what is timed is exactly the text `--show` prints, with none of the engine's machinery.

It assumes every household has at least one member (true of the synthetic population).
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from matcher.vector.columns import Population
from rules import ir
from rules.catalogue import Catalogue

Evaluate = Callable[[Population, Any], tuple[Any, Any]]
_OPS = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


class _Writer:
    """Straight-line numpy statements with common sub-expressions named once."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[str, str] = {}
        self.consts: dict[str, str] = {}
        self.facts: dict[tuple[str, str], str] = {}

    def name(self, code: str) -> str:
        found = self.names.get(code)
        if found is None:
            found = self.names[code] = f"t{len(self.names)}"
            self.lines.append(f"    {found} = {code}")
        return found

    def const(self, value: object) -> str:
        if isinstance(value, bool):
            return "1.0" if value else "0.0"
        if isinstance(value, str):
            found = self.consts.get(value)
            if found is None:
                found = self.consts[value] = f"k{len(self.consts)}"
            return found
        if isinstance(value, date):
            return repr(float(value.toordinal()))
        return repr(float(value))  # type: ignore[arg-type]

    def fact(self, name: str, level: str) -> str:
        key = (name, level)
        found = self.facts.get(key)
        if found is None:
            table = "M" if level == "m" else "S"
            source = f'{table}.get("{name}", {"NM" if level == "m" else "NS"})'
            found = self.facts[key] = self.name(source)
        return found

    def value(self, e: ir.Expr, member: bool) -> str:
        """A float (or bool for conditions) expression of `e`, at member level if `member`."""
        match e:
            case ir.Const(value=v):
                return self.const(v)
            case ir.FactRef(name=name, member=is_member):
                if is_member:
                    return self.fact(name, "m")
                base = self.fact(name, "s")
                return self.name(f"{base}[member_of]") if member else base
            case ir.Compare(op=op, left=a, right=b):
                return self.name(f"{self.value(a, member)} {_OPS[op]} {self.value(b, member)}")
            case ir.InSet(operand=a, values=values, negated=neg):
                x = self.value(a, member)
                hit = " | ".join(f"({x} == {self.const(v)})" for v in values)
                return self.name(f"~({hit})" if neg else f"({hit})" if len(values) > 1 else hit)
            case ir.And(operands=ops) | ir.Or(operands=ops):
                glue = " & " if isinstance(e, ir.And) else " | "
                return self.name(glue.join(self.truth(o, member) for o in ops))
            case ir.Not(operand=a):
                return self.name(f"~{self.truth(a, member)}")
            case ir.Arith(op=op, left=a, right=b):
                return self.name(f"{self.value(a, member)} {op} {self.value(b, member)}")
            case ir.Neg(operand=a):
                return self.name(f"-{self.value(a, member)}")
            case ir.Call(func=func, args=args):
                out = self.value(args[0], member)
                for arg in args[1:]:
                    out = self.name(f"np.{func}imum({out}, {self.value(arg, member)})")
                return out
            case ir.IfElse(cond=c, then=t, other=o):
                cond, then, other = (
                    self.truth(c, member),
                    self.value(t, member),
                    self.value(o, member),
                )
                return self.name(f"np.where({cond}, {then}, {other})")
            case ir.Aggregate(func=func, body=body):
                if func in ("any", "all"):
                    ufunc = "logical_or" if func == "any" else "logical_and"
                    return self.name(f"np.{ufunc}.reduceat({self.truth(body, True)}, starts)")
                if func == "count":
                    body_code = f"{self.truth(body, True)}.view(np.int8)"
                    return self.name(f"np.add.reduceat({body_code}, starts, dtype=np.float64)")
                return self.name(f"np.add.reduceat({self.value(body, True)}, starts)")
        raise TypeError(f"cannot write {e!r}")

    def truth(self, e: ir.Expr, member: bool) -> str:
        code = self.value(e, member)
        if isinstance(e, ir.FactRef | ir.Const):  # a bool fact (or literal) alone
            return self.name(f"{code} == 1.0")
        return code


def floor_source(catalogue: Catalogue, on: date, subject: str = "household") -> str:
    """The module text: `evaluate(pop, R) -> (eligible p×n bool, amount p×n float)`."""
    w = _Writer()
    policies = catalogue.for_subject(subject)
    body: list[str] = []
    prefixes: dict[str, str] = {}
    for j, policy in enumerate(policies):
        bound = policy.bind(on) if policy.in_force(on) else None
        if bound is None:
            continue
        conds = [w.truth(c.expr, False) for c in bound.conditions]
        for prefix in policy.spec.regions or ():
            if prefix not in prefixes:
                scale = 10 ** (12 - len(prefix))
                prefixes[prefix] = w.name(f"(R // {scale}) == {int(prefix)}")
        if policy.spec.regions:
            scopes = [prefixes[p] for p in policy.spec.regions]
            conds.append(w.name(" | ".join(scopes)) if len(scopes) > 1 else scopes[0])
        ok = w.name(" & ".join(conds)) if len(conds) > 1 else conds[0]
        w.lines.append(f"    eligible[{j}] = {ok}")
        if bound.amount is not None:
            amount = w.value(bound.amount, False)
            w.lines.append(f"    amount[{j}] = np.where({ok}, np.round({amount}, 2), 0.0)")
    ids = {p.id: j for j, p in enumerate(policies)}
    for a in policies:
        for b in a.spec.excludes:
            if b in ids:  # the larger amount is kept, ties the smaller id
                ja, jb = sorted((ids[a.id], ids[b]))
                body.append(f"    both = eligible[{ja}] & eligible[{jb}]")
                body.append(f"    keep_a = amount[{ja}] >= amount[{jb}]")
                body.append(f"    eligible[{jb}] &= ~(both & keep_a)")
                body.append(f"    eligible[{ja}] &= ~(both & ~keep_a)")
    head = [
        '"""Generated by bench/floor.py: the catalogue as plain numpy (do not edit)."""',
        "import numpy as np",
        "",
        "",
        "def evaluate(pop, R):",
        "    S, M, starts, member_of = pop.subject, pop.members, pop.starts, pop.member_of",
        "    NS = np.full(pop.size, np.nan)",
        "    NM = np.full(pop.member_count, np.nan)",
        *(f"    {k} = pop.vocabulary.lookup({v!r})" for v, k in w.consts.items()),
        f"    eligible = np.zeros(({len(policies)}, pop.size), bool)",
        f"    amount = np.zeros(({len(policies)}, pop.size))",
    ]
    return "\n".join([*head, *_freeing(w.lines), *body, "    return eligible, amount", ""])


def _freeing(lines: list[str]) -> list[str]:
    """`del` each temporary after its last use, so a chunk's memory stays small."""
    last: dict[str, int] = {}
    for i, line in enumerate(lines):
        for token in _tokens(line.split("=", 1)[1] if " = " in line else line):
            last[token] = i
    out: list[str] = []
    for i, line in enumerate(lines):
        out.append(line)
        done = sorted(t for t, k in last.items() if k == i)
        if done:
            out.append(f"    del {', '.join(done)}")
    return out


def _tokens(code: str) -> set[str]:
    words = "".join(c if c.isalnum() or c == "_" else " " for c in code).split()
    return {w for w in words if w[0] == "t" and w[1:].isdigit()}


def load_floor(catalogue: Catalogue, on: date, folder: Path | None = None) -> Evaluate:
    """Write the floor module (to `folder`, or a temporary one) and import its `evaluate`."""
    where = folder or Path(tempfile.mkdtemp(prefix="zhida-floor-"))
    path = where / f"floor_{catalogue.version}.py"
    path.write_text(floor_source(catalogue, on), "utf-8")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    if folder is None:  # the module is loaded: its file is no longer needed
        shutil.rmtree(where, ignore_errors=True)
    fn: Evaluate = module.evaluate
    return fn


def region_ints(pop: Population) -> Any:
    """Region codes as integers (0 when unknown): the floor's region column, built once."""
    regions = np.where(pop.regions == "", "0", pop.regions)
    return regions.astype(np.int64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", action="store_true", help="the 200-policy catalogue")
    parser.add_argument("--on", type=date.fromisoformat, default=date(2025, 3, 1))
    parser.add_argument("--show", action="store_true", help="print the generated module")
    args = parser.parse_args()
    if args.synthetic:
        from synthetic_catalogue import synthetic_catalogue

        catalogue = synthetic_catalogue()
    else:
        from rules.catalogue import load_catalogue

        catalogue = load_catalogue(Path(__file__).parents[1] / "policies")
    text = floor_source(catalogue, args.on)
    if args.show:
        print(text)
    else:
        print(f"{len(text.splitlines())} lines; --show prints them")


if __name__ == "__main__":
    main()
