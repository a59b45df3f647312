"""Hypothesis strategies shared by the engines' differential tests.

Everything is built from the IR directly, type-correct by construction, so any back end
(the durable-rules event engine, a vectorised batch engine) can be checked against the
interpreter on the same inputs:

- `FACTS`: a small fixed fact catalogue with a fact of every type at every level;
- `bool_exprs` / `num_exprs`: random conditions and numeric expressions (and/or/not nested,
  comparisons, `in`, arithmetic with division by zero, `**`, aggregates over members,
  `params.X`);
- `policies` / `catalogues`: random policies (regions, effective dates, dated parameters)
  and bundles, as `CompiledPolicy`/`CompiledBundle`, assembled into a `Catalogue`;
- `facts`: random `Facts` with absent values, empty member lists, values equal to the
  constants expressions use (both sides of every threshold), and Chinese text;
- `raw_households` / `raw_enterprises`: raw profiles for any real fact catalogue, to run
  through `parse_household` / `parse_enterprise` and `matcher.profiles.derive`.

Numbers are exact decimals, as zhida reads them: cent values, and rates such as 0.3 and 0.6
(constants, parameters and three-decimal facts), so that amounts land on a half fen often;
some facts have a domain (`min`/`max`), so unknown values are ranges. Magnitudes are bounded
(|x| ≤ 10⁴ for most, integer exponents ≤ 3), as real benefit rules are.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from decimal import Decimal as D
from functools import cache
from typing import Any, Literal

from hypothesis import strategies as st

from matcher.profiles.facts import Facts
from rules import ir
from rules.catalogue import Catalogue, CompiledBundle, CompiledCondition, CompiledPolicy
from rules.errors import Location
from rules.expr import Scope, parse
from rules.facts import FactCatalogue, FactDef, FactType, FactValue
from rules.numbers import read_number
from rules.schema import BundleFile, PolicyFile
from rules.yaml_safe import Loaded
from synth.identifiers import make_ric, make_uscc

__all__ = [
    "DATES",
    "FACTS",
    "NUMBERS",
    "ON",
    "REGION_CODES",
    "TEXTS",
    "bool_exprs",
    "catalogues",
    "expr",
    "make_bundle",
    "make_catalogue",
    "make_policy",
    "facts",
    "num_exprs",
    "policies",
    "raw_enterprises",
    "raw_households",
]

Subject = Literal["household", "enterprise"]
ON = date(2025, 3, 1)
NUMBERS: tuple[int | Decimal, ...] = (
    0, 1, -1, 2, 3, D("0.5"), D("1.5"), D("2.5"), 10, 60, 100, D("0.1"), D("0.2"), D("0.3"),
    D("0.6"), D("0.00001"), D("599.99"), 600, D("1200.5"), D("0.005"), D("12.345"), D("0.015"),
)  # fmt: skip
DATES = (date(2000, 1, 1), date(2020, 2, 29), date(2024, 12, 31), ON, ON + timedelta(days=1))
TEXTS = ("低保", "特困供养", "", 'a"b', "x\\y", "新生儿😀", "line\nbreak")
ENUM = ("active", "lapsed", "none", "在册")
KINDS = ("child", "head", "老人")
INDUSTRIES = ("制造业", "建筑业", "信息技术")
REGION_PREFIXES = ("52", "5206", "520602", "520602001201", "5301")
REGION_CODES = ("520602001201", "520602002301", "520623001001", "530102001001")


def _fact(
    name: str, kind: FactType, level: str, values: tuple[str, ...] | None = None, **domain: Any
) -> Any:
    return {"name": name, "type": kind, "level": level, "meaning": "测试", "source": "测试",
            "sensitive": False, "values": values, **domain}  # fmt: skip


FACTS = FactCatalogue.model_validate(
    {
        "facts": {
            d["name"]: d
            for d in [
                _fact("h_num", "number", "household", min=0, max=10_000),
                _fact("h_num2", "number", "household"),
                _fact("h_status", "string", "household", ENUM),
                _fact("h_text", "string", "household"),
                _fact("h_flag", "bool", "household"),
                _fact("h_date", "date", "household", min="2000-01-01", max="2030-12-31"),
                _fact("m_num", "number", "member", min=0, max=10_000),
                _fact("m_num2", "number", "member"),
                _fact("m_kind", "string", "member", KINDS),
                _fact("m_flag", "bool", "member"),
                _fact("m_date", "date", "member"),
                _fact("e_num", "number", "enterprise"),
                _fact("e_num2", "number", "enterprise", min=0, max=500, integer=True),
                _fact("e_kind", "string", "enterprise", INDUSTRIES),
                _fact("e_flag", "bool", "enterprise"),
                _fact("e_date", "date", "enterprise"),
                _fact("id", "number", "household"),  # a name durable-rules reserves
            ]
        }
    }
)

# --- values ------------------------------------------------------------------------------

_cents = st.integers(-1_000_000, 1_000_000).map(lambda c: read_number(D(c).scaleb(-2)))
_mills = st.integers(-100_000, 100_000).map(lambda m: read_number(D(m).scaleb(-3)))
_numbers: st.SearchStrategy[int | Decimal] = st.one_of(
    st.sampled_from(NUMBERS), st.integers(-1000, 1000), _cents, _mills
)
_dates = st.one_of(st.sampled_from(DATES), st.dates(date(1990, 1, 1), date(2030, 12, 31)))
_texts = st.one_of(st.sampled_from(TEXTS), st.text('低保特困新生儿ab"\\ ', max_size=4))


def _numbers_in(low: Any, high: Any, integer: bool) -> st.SearchStrategy[int | Decimal]:
    """Numbers inside [low, high] drawn directly (no filtering), favouring NUMBERS and cents."""
    lo = -1_000_000 if low is None else low
    hi = 1_000_000 if high is None else high
    whole = st.integers(int(-(-lo // 1)), int(hi // 1))
    if integer:
        return whole
    cents = st.integers(int(lo * 100), int(hi * 100)).map(lambda c: read_number(D(c).scaleb(-2)))
    mills = st.integers(int(lo * 1000), int(hi * 1000)).map(lambda m: read_number(D(m).scaleb(-3)))
    known = [v for v in NUMBERS if lo <= v <= hi]
    return st.one_of(st.sampled_from(known), whole, cents, mills) if known else cents


def values_for(fact: FactDef) -> st.SearchStrategy[FactValue]:
    """Values of `fact`'s type (inside its domain), favouring the constants expressions use."""
    if fact.type == "number":
        low, high = fact.bounds
        if low is None and high is None and not fact.integer:
            return _numbers
        return _numbers_in(low, high, fact.integer)
    if fact.type == "date":
        low_d, high_d = fact.bounds
        if low_d is not None or high_d is not None:
            first = low_d if isinstance(low_d, date) else date(1990, 1, 1)
            last = high_d if isinstance(high_d, date) else date(2030, 12, 31)
            return st.one_of(st.sampled_from([d for d in DATES if first <= d <= last] or [first]),
                             st.dates(first, last))  # fmt: skip
        return _dates
    if fact.type == "bool":
        return st.booleans()
    return st.sampled_from(fact.values) if fact.values else _texts


# --- expressions -------------------------------------------------------------------------


@cache
def _refs(subject: Subject, in_agg: bool, kind: FactType) -> tuple[ir.FactRef, ...]:
    levels = {"enterprise"} if subject == "enterprise" else {"household"}
    if in_agg:
        levels.add("member")
    return tuple(
        ir.FactRef(n, f.type, f.level == "member", (), *f.bounds)
        for n, f in sorted(FACTS.facts.items())
        if f.level in levels and f.type == kind
    )


def _const(kind: FactType, fact: ir.FactRef | None = None) -> st.SearchStrategy[ir.Const]:
    if kind == "string":
        spec = FACTS.facts[fact.name] if fact is not None else None
        pool = st.sampled_from(spec.values) if spec and spec.values else _texts
        return pool.map(lambda v: ir.Const(v, "string"))
    base = {"number": st.sampled_from(NUMBERS), "date": st.sampled_from(DATES)}.get(kind)
    return (base if base is not None else st.booleans()).map(lambda v: ir.Const(v, kind))


@cache
def num_exprs(
    subject: Subject = "household", depth: int = 3, in_agg: bool = False, params: bool = True
) -> st.SearchStrategy[ir.Expr]:
    """Numeric expressions: facts, constants, `params.p0`, arithmetic, count/sum."""
    leaves = [st.sampled_from(_refs(subject, in_agg, "number")), _const("number")]
    if params:
        leaves.append(st.just(ir.ParamRef("p0", "number")))
    leaf = st.one_of(*leaves)
    if depth == 0:
        return leaf
    sub = num_exprs(subject, depth - 1, in_agg, params)
    ops: st.SearchStrategy[Any] = st.sampled_from(["+", "-", "*", "/"])
    branches = [
        leaf,
        st.builds(ir.Arith, ops, sub, sub),
        st.builds(lambda a, k: ir.Arith("**", a, ir.Const(k, "number")), sub, st.integers(0, 3)),
        sub.map(ir.Neg),
    ]
    if subject == "household" and not in_agg:
        body = bool_exprs(subject, depth - 1, True, params)
        branches.append(body.map(lambda b: ir.Aggregate("count", b, "number")))
        branches.append(
            num_exprs(subject, depth - 1, True, params).map(
                lambda b: ir.Aggregate("sum", b, "number")
            )
        )
    return st.one_of(*branches)


@cache
def _comparisons(
    subject: Subject, depth: int, in_agg: bool, params: bool
) -> st.SearchStrategy[ir.Expr]:
    nums = num_exprs(subject, min(depth, 2), in_agg, params)
    ops: st.SearchStrategy[Any] = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
    eq: st.SearchStrategy[Any] = st.sampled_from(["==", "!="])
    strings = st.sampled_from(_refs(subject, in_agg, "string"))
    dates = st.sampled_from(_refs(subject, in_agg, "date"))
    date_side = st.one_of(dates, _const("date"))
    return st.one_of(
        st.builds(ir.Compare, ops, nums, nums),
        st.builds(ir.Compare, ops, date_side, date_side),
        strings.flatmap(
            lambda f: st.builds(ir.Compare, eq, st.just(f), st.one_of(_const("string", f), strings))
        ),
        strings.flatmap(
            lambda f: st.builds(
                ir.InSet,
                st.just(f),
                st.lists(_const("string", f).map(lambda c: c.value), min_size=1, max_size=3).map(
                    tuple
                ),
                st.booleans(),
            )
        ),
        st.builds(
            ir.InSet,
            nums,
            st.lists(st.sampled_from(NUMBERS), min_size=1, max_size=3).map(tuple),
            st.booleans(),
        ),
    )


@cache
def bool_exprs(
    subject: Subject = "household", depth: int = 4, in_agg: bool = False, params: bool = True
) -> st.SearchStrategy[ir.Expr]:
    """Conditions: comparisons, `in`, bool facts, and/or/not, bool ==, any/all over members."""
    leaf = st.one_of(
        _comparisons(subject, depth, in_agg, params),
        st.sampled_from(_refs(subject, in_agg, "bool")),
        _const("bool"),
    )
    if depth == 0:
        return leaf
    sub = bool_exprs(subject, depth - 1, in_agg, params)
    ops = st.lists(sub, min_size=2, max_size=3).map(tuple)
    eq: st.SearchStrategy[Any] = st.sampled_from(["==", "!="])
    branches = [
        leaf,
        ops.map(ir.And),
        ops.map(ir.Or),
        sub.map(ir.Not),
        st.builds(ir.Compare, eq, sub, sub),
    ]
    if subject == "household" and not in_agg:
        body = bool_exprs(subject, depth - 1, True, params)
        branches.append(st.builds(ir.Aggregate, st.sampled_from(["any", "all"]), body))
    return st.one_of(*branches)


# --- policies and catalogues ---------------------------------------------------------------

_LOADED = Loaded("generated.yaml", {})
_WHERE = Location("generated.yaml", 1, 1)


def _condition(expr: ir.Expr) -> CompiledCondition:
    return CompiledCondition(expr, "条件", ir.to_text(expr), _WHERE)


def expr(text: str, subject: Subject = "household") -> ir.Expr:
    """A condition written in the rule language, over `FACTS` (for hand-written cases)."""
    return parse(text, Scope(FACTS, subject), _WHERE, expect="bool")


def make_policy(
    ident: str,
    subject: Subject,
    conds: list[ir.Expr],
    *,
    regions: list[str] | None = None,
    start: date = date(2020, 1, 1),
    until: date | None = None,
    p0: dict[date, int | Decimal] | None = None,
) -> CompiledPolicy:
    """A `CompiledPolicy` built in code, with an optional dated parameter `p0`."""
    spec = PolicyFile.model_validate(
        {
            "id": ident, "title": "测试政策", "department": "测试部门", "subject": subject,
            "regions": regions, "effective": {"from": start, "until": until},
            "delivery": "auto", "basis": "测试",
            "parameters": {"p0": {"values": p0, "unit": "元", "reference": "测试"}} if p0 else {},
            "eligible": [{"when": ir.to_text(c), "says": "条件"} for c in conds],
        }
    )  # fmt: skip
    return CompiledPolicy(spec, "generated.yaml", tuple(map(_condition, conds)), None, _LOADED)


def make_bundle(ident: str, subject: Subject, gate: ir.Expr, members: list[str]) -> CompiledBundle:
    """A `CompiledBundle` built in code."""
    spec = BundleFile.model_validate(
        {"id": ident, "title": "测试一件事", "subject": subject, "basis": "测试",
         "gate": {"when": ir.to_text(gate), "says": "条件"}, "members": members}
    )  # fmt: skip
    return CompiledBundle(spec, "generated.yaml", _condition(gate), _LOADED)


def make_catalogue(
    policies: Sequence[CompiledPolicy], bundles: Sequence[CompiledBundle] = ()
) -> Catalogue:
    """A `Catalogue` over `FACTS`, its version a hash of its content."""
    found = {p.id: p for p in policies}
    found_bundles = {b.id: b for b in bundles}
    text = repr(sorted((k, p.spec, p.conditions) for k, p in found.items()))
    text += repr(sorted((k, b.spec, b.gate) for k, b in found_bundles.items()))
    version = hashlib.sha256(text.encode()).hexdigest()[:16]
    return Catalogue(FACTS, found, found_bundles, version)


# Strategy objects built once (hypothesis validates an object the first time it draws from
# it, and these are drawn from thousands of times; see `facts`).
_STARTS = st.sampled_from([date(2020, 1, 1), date(2020, 1, 1), ON, ON + timedelta(1)])
_UNTILS = st.sampled_from([None, None, ON, ON + timedelta(1)])
_P_FROMS = st.sampled_from([date(2020, 1, 1), date(2020, 1, 1), ON + timedelta(1)])
_POLICY_REGIONS = st.none() | st.lists(st.sampled_from(REGION_PREFIXES), min_size=1, max_size=2)
_P0S = st.sampled_from(NUMBERS)
_SUBJECTS: st.SearchStrategy[Subject] = st.sampled_from(["household", "enterprise"])


@cache
def _conditions(subject: Subject) -> st.SearchStrategy[list[ir.Expr]]:
    return st.lists(bool_exprs(subject), min_size=1, max_size=4)


@st.composite
def _policies(draw: st.DrawFn, ident: str, subject: Subject) -> CompiledPolicy:
    conds = draw(_conditions(subject))
    start = draw(_STARTS)
    until = draw(_UNTILS)
    if until is not None and until <= start:
        until = None
    p_from = draw(_P_FROMS)
    regions = draw(_POLICY_REGIONS)
    p0 = {p_from: draw(_P0S)}
    return make_policy(ident, subject, conds, regions=regions, start=start, until=until, p0=p0)


@cache
def policies(ident: str, subject: Subject) -> st.SearchStrategy[CompiledPolicy]:
    """A policy of `subject` with 1–4 conditions, maybe regions, dates and a parameter p0."""
    return _policies(ident, subject)


@st.composite
def catalogues(draw: st.DrawFn, max_policies: int = 12) -> Catalogue:
    """A catalogue of random household and enterprise policies and up to two bundles."""
    found = []
    for i in range(draw(st.integers(1, max_policies))):
        subject: Subject = draw(_SUBJECTS)
        found.append(draw(policies(f"t.{subject[0]}{i}", subject)))
    bundles = []
    for j in range(draw(st.integers(0, 2))):
        subject = draw(_SUBJECTS)
        gate = draw(bool_exprs(subject, 3, params=False))
        members = [p.id for p in found if p.spec.subject == subject] or [found[0].id]
        bundles.append(make_bundle(f"t.bundle{j}", subject, gate, members))
    return make_catalogue(found, bundles)


# --- facts -------------------------------------------------------------------------------


@cache
def _row(level: str) -> st.SearchStrategy[dict[str, FactValue]]:
    defs = {n: f for n, f in FACTS.facts.items() if f.level == level}
    return st.fixed_dictionaries({}, optional={n: values_for(f) for n, f in defs.items()})


_REGIONS = st.none() | st.sampled_from(REGION_CODES)


@st.composite
def _facts(draw: st.DrawFn, subject: Subject, max_members: int) -> Facts:
    region = draw(_REGIONS)
    if subject == "enterprise":
        return Facts(draw(_row("enterprise")), (), region)
    members = draw(st.lists(_row("member"), max_size=max_members))
    return Facts(draw(_row("household")), tuple(members), region)


@cache
def facts(subject: Subject, max_members: int = 4) -> st.SearchStrategy[Facts]:
    """Facts of one `subject`: any fact may be absent; households may have no members.

    One strategy object per argument (cached, as `num_exprs` and `bool_exprs` are): hypothesis
    validates a strategy object the first time it draws from it, and the differential tests
    draw ≥ 10,000 profiles; a fresh object per draw was validated per draw, which was most of
    their run time. What is drawn is the same.
    """
    return _facts(subject, max_members)


# --- raw profiles for a real catalogue -------------------------------------------------------


_RAW_FACTS: dict[tuple[int, str, date], tuple[FactCatalogue, st.SearchStrategy[Any]]] = {}


def _raw_facts(
    catalogue: FactCatalogue, level: str, on: date = ON
) -> st.SearchStrategy[dict[str, Any]]:
    """The raw facts of `level`, one strategy object per catalogue, level and date (see `facts`;
    the catalogue is kept with it, so that its id is not reused)."""
    key = (id(catalogue), level, on)
    if key not in _RAW_FACTS:
        _RAW_FACTS[key] = (catalogue, _new_raw_facts(catalogue, level, on))
    return _RAW_FACTS[key][1]


def _new_raw_facts(
    catalogue: FactCatalogue, level: str, on: date
) -> st.SearchStrategy[dict[str, Any]]:
    defs = {n: f for n, f in catalogue.facts.items() if f.level == level and not f.derived}
    strategies: dict[str, st.SearchStrategy[Any]] = {}
    for name, fact in defs.items():
        if fact.type == "number":
            strategies[name] = values_for(fact)
        elif fact.type == "date":
            low = fact.minimum if isinstance(fact.minimum, date) else date(1900, 1, 1)
            high = on if fact.maximum == "today" else fact.maximum
            last = high if isinstance(high, date) else date(2030, 12, 31)
            picks = [d for d in DATES if low <= d <= last]
            inside = st.one_of(st.sampled_from(picks or [low]), st.dates(low, last))
            strategies[name] = inside.map(date.isoformat)
        elif fact.type == "string" and not fact.values:
            strategies[name] = st.sampled_from(["A123456", "低保证2025-001"])
        else:
            strategies[name] = values_for(fact)
    return st.fixed_dictionaries({}, optional=strategies)


@st.composite
def raw_households(
    draw: st.DrawFn, catalogue: FactCatalogue, on: date = ON, max_members: int = 5
) -> dict[str, Any]:
    """A raw household (as `parse_household` reads it) with facts of `catalogue`.

    Members have valid ID numbers born up to `on` (newborns included), exactly one head.
    """
    relations = ["spouse", "child", "parent", "grandparent", "grandchild", "sibling", "other"]
    members = []
    for i in range(draw(st.integers(1, max_members))):
        born = draw(st.dates(date(1925, 1, 1), on))
        member = draw(_raw_facts(catalogue, "member", on))
        member["id_number"] = make_ric(region="520602", birth=born, seq=2 * i + 1)
        member["relation"] = "head" if i == 0 else draw(st.sampled_from(relations))
        members.append(member)
    raw = draw(_raw_facts(catalogue, "household", on))
    region = draw(st.sampled_from(REGION_CODES))
    return {**raw, "region_code": region, "members": members}


@st.composite
def raw_enterprises(draw: st.DrawFn, catalogue: FactCatalogue, on: date = ON) -> dict[str, Any]:
    """A raw enterprise (as `parse_enterprise` reads it) with facts of `catalogue` as of `on`."""
    raw = draw(_raw_facts(catalogue, "enterprise", on))
    code = make_uscc(region="520602", seq=draw(st.integers(1, 10**6)))
    region = draw(st.sampled_from([*REGION_CODES, "520602", "530102"]))
    return {**raw, "credit_code": code, "region_code": region}
