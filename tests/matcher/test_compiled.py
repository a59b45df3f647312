"""The compiled explainer gives exactly the interpreter's `MatchResult` (the reference)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher.interpreter.compiled import _cached, _key, _rows, explain_plan, match_compiled
from matcher.interpreter.evaluate import Range, evaluate_expr
from matcher.interpreter.kleene import HELPERS, KleeneGen, Slow
from matcher.interpreter.match import match
from matcher.interpreter.results import ConditionResult, MatchResult, PolicyResult, build
from matcher.profiles.derive import enterprise_facts, household_facts
from matcher.profiles.facts import Facts
from matcher.profiles.parse import parse_enterprise, parse_household
from rules import ir
from rules.catalogue import Catalogue, load_catalogue
from synth.demo import demo_village
from synth.households import Population, generate_households, raw_households
from tests.strategies import (
    ON,
    Subject,
    bool_exprs,
    catalogues,
    facts,
    make_catalogue,
    make_policy,
    num_exprs,
)
from tests.strategies import raw_enterprises as raw_enterprise_profiles
from tests.strategies import raw_households as raw_household_profiles

POLICIES = Path(__file__).resolve().parents[2] / "policies"
_SETTINGS = settings(
    deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


def _same(catalogue: Catalogue, f: Facts, on: date, subject: str) -> MatchResult:
    expected = match(catalogue, f, on, subject)
    got = match_compiled(catalogue, f, on, subject)
    assert got == expected, f
    assert [type(r) for r in got.results] == [PolicyResult] * len(got.results)
    return got


def test_random_catalogues_and_profiles_match_the_interpreter() -> None:
    """Random policies (unknown facts, ranges, regions, dates, parameters, bundles) × profiles."""
    counted = {"undetermined": 0, "eligible": 0}

    @settings(_SETTINGS, max_examples=30)
    @given(data=st.data(), catalogue=catalogues())
    def check(data: st.DataObject, catalogue: Catalogue) -> None:
        for _ in range(12):
            subject: Subject = data.draw(st.sampled_from(["household", "enterprise"]))
            f = data.draw(facts(subject))
            for r in _same(catalogue, f, ON, subject).results:
                if r.status in counted:
                    counted[r.status] += 1

    check()
    assert counted["undetermined"] > 10 and counted["eligible"] > 10, counted


def test_real_catalogue_generated_profiles_match_at_several_dates() -> None:
    """The real catalogue (amounts, formulas, excludes, bundles) on generated raw profiles."""
    catalogue = load_catalogue(POLICIES)
    days = (date(2024, 1, 1), ON, date(2026, 7, 1))

    @settings(_SETTINGS, max_examples=40)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        on = data.draw(st.sampled_from(days))
        raw = data.draw(raw_household_profiles(catalogue.facts, on))
        h = household_facts(parse_household(raw, catalogue.facts, today=on), on)
        _same(catalogue, h, on, "household")
        e_raw = data.draw(raw_enterprise_profiles(catalogue.facts, on))
        e = enterprise_facts(parse_enterprise(e_raw, catalogue.facts, today=on), on)
        _same(catalogue, e, on, "enterprise")

    check()


def test_real_catalogue_demo_village_and_synthetic_population_match() -> None:
    """The demo village and 300 households of the synthetic population (1 % blank cells)."""
    catalogue = load_catalogue(POLICIES)
    profiles = [parse_household(raw, catalogue.facts, today=ON) for _, raw in demo_village(60, ON)]
    chunk = next(generate_households(Population(households=300, seed=3, as_of=ON)))
    profiles += [parse_household(raw, catalogue.facts, today=ON) for raw in raw_households(chunk)]
    amounts = 0
    for household in profiles:
        results = _same(catalogue, household_facts(household, ON), ON, "household").results
        amounts += sum(r.amount is not None for r in results)
    assert amounts > 50


def test_a_division_by_zero_and_unknown_members_go_to_the_interpreter() -> None:
    """Values the fast path cannot give (x / 0, a member fact outside a member) are the
    interpreter's: a per-capita income over no members is unknown, not an error."""
    catalogue = load_catalogue(POLICIES)
    alone = Facts({"household_size": 0, "local_hukou": True}, (), "520602100201")
    nobody = Facts({}, (), None)
    some = Facts({"local_hukou": True}, ({"age": 70}, {"monthly_income": Decimal("0.5")}), "52")
    for f in (alone, nobody, some):
        _same(catalogue, f, ON, "household")


def test_the_plan_is_kept_per_catalogue_date_and_subject() -> None:
    """The same plan is reused; another date, subject or catalogue object gets its own."""
    catalogue = load_catalogue(POLICIES)
    plan = explain_plan(catalogue, ON, "household")
    assert explain_plan(catalogue, ON, "household") is plan
    assert explain_plan(catalogue, date(2024, 1, 1), "household") is not plan
    assert explain_plan(catalogue, ON, "enterprise") is not plan
    assert explain_plan(load_catalogue(POLICIES), ON, "household") is not plan


def test_match_compiled_interprets_the_first_profile_of_a_date_and_compiles_on_the_second() -> None:
    """A date used once costs no compilation; the second use builds and keeps the plan."""
    catalogue = load_catalogue(POLICIES)
    f = Facts({"household_size": 1}, ({"age": 80},), "520602100201")
    day = date(2025, 6, 7)
    assert match_compiled(catalogue, f, day, "household") == match(catalogue, f, day, "household")
    assert _cached(_key(catalogue, day, "household"), catalogue) is None
    assert match_compiled(catalogue, f, day, "household") == match(catalogue, f, day, "household")
    assert _cached(_key(catalogue, day, "household"), catalogue) is not None


def test_build_makes_the_object_the_constructor_makes() -> None:
    """`build` is `cls(**values)` without `__init__`: equal, hashing alike, still frozen."""
    values: dict[str, Any] = {
        "says": "年满 60 周岁", "text": "age >= 60", "verdict": True,
        "seen": (("age", "61"),), "threshold": ">= 60", "missing": (),
    }  # fmt: skip
    made = build(ConditionResult, values)
    assert made == ConditionResult(**values) and hash(made) == hash(ConditionResult(**values))
    try:
        made.verdict = False  # type: ignore[misc]
    except AttributeError:
        pass
    else:  # pragma: no cover
        raise AssertionError("a built result must stay frozen")


def test_a_plan_spells_out_only_the_irs_own_operators() -> None:
    """No text from a rule can become code: an operator outside the IR's closed set (as a
    future node or a tampered IR might carry) is refused when the plan is generated."""
    from matcher.interpreter.compiled import _Gen

    one = ir.Const(1, "number")
    ok = _Gen({}, None).expr(ir.Compare("<=", one, one), None)
    assert "<=" in ok
    bad = ir.Compare("== 1 or __import__('os').system('true') ==", one, one)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cannot appear in a compiled plan"):
        _Gen({}, None).expr(bad, None)
    call = ir.Call("exec", (one,))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cannot appear in a compiled plan"):
        _Gen({}, None).expr(call, None)
    x = ir.FactRef("h_num2", "number")  # the Kleene path spells out the same words only
    for e in (bad, ir.Call("exec", (x,)), ir.Arith("+ 1 +", x, one)):  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="cannot appear in a compiled plan"):
            KleeneGen(lambda value: "k0", {}).function("f", e)


# --- the Kleene path: unknown facts, ranges, Kleene logic, generated ---------------------------


def _kleene(e: ir.Expr) -> Callable[..., Any]:
    """The generated Kleene function for `e` alone (no fast path, no interpreter behind it)."""
    consts: dict[str, Any] = {}

    def const(value: Any, prefix: str = "k") -> str:
        consts[f"k{len(consts)}"] = value
        return f"k{len(consts) - 1}"

    lines = KleeneGen(const, {}).function("f", e)
    namespace = {**HELPERS, **consts, "EMPTY": frozenset()}
    exec("\n".join(lines) + "\n", namespace)  # noqa: S102
    return namespace["f"]  # type: ignore[no-any-return]


def _typed(value: Any) -> Any:
    """A value with its type, ends included: 5 and Fraction(5) are shown differently."""
    if isinstance(value, Range):
        return ("range", type(value.lo), value.lo, type(value.hi), value.hi)
    return (type(value), value)


_NUM = num_exprs("household", 3, params=False)
_BOOL = bool_exprs("household", 3, params=False)
_AMOUNTS = st.one_of(
    _NUM,
    st.builds(
        ir.Call, st.sampled_from(["min", "max"]), st.lists(_NUM, min_size=1, max_size=3).map(tuple)
    ),
    st.builds(ir.IfElse, _BOOL, _NUM, _NUM),
    st.builds(ir.Arith, st.sampled_from(["*", "+"]), st.builds(ir.IfElse, _BOOL, _NUM, _NUM), _NUM),
)


def test_kleene_code_gives_the_interpreters_values_ranges_and_missing_facts() -> None:
    """Random conditions and amounts (ranges through + - * / **, min/max, if-else hulls,
    count/sum/any/all over members with unknowns, Kleene and/or/not, `in` over a range,
    x / 0) on random profiles with facts missing: the generated Kleene code gives the
    interpreter's value — to the type and each end of a range — and the same missing facts."""
    seen = {"range": 0, "unknown": 0, "decided": 0}

    @settings(_SETTINGS, max_examples=60)
    @given(data=st.data(), e=st.one_of(_BOOL, _AMOUNTS))
    def check(data: st.DataObject, e: ir.Expr) -> None:
        run = _kleene(e)
        for _ in range(8):
            f = data.draw(facts("household"))
            expected = evaluate_expr(e, f)
            value, missing = run(*_rows(f))
            assert (_typed(value), missing) == (_typed(expected[0]), expected[1]), (e, f)
            kind = "range" if isinstance(value, Range) else "unknown" if value is None else None
            seen[kind or "decided"] += 1

    check()
    assert min(seen.values()) > 30, seen  # each kind of result is exercised


def test_kleene_code_hand_written_ranges() -> None:
    """Cases a wrong end, a lost missing fact or a Kleene slip would change, written out."""
    n = ir.FactRef("h_num", "number", lo=0, hi=10_000)  # unknown: [0, 10000]
    free = ir.FactRef("h_num2", "number")  # unknown: unbounded
    flag = ir.FactRef("h_flag", "bool")
    m_flag = ir.FactRef("m_flag", "bool", member=True)
    m_num = ir.FactRef("m_num", "number", member=True, lo=0, hi=10_000)

    def k(x: Any) -> ir.Const:
        return ir.Const(x, "number")

    nobody = Facts({}, ({}, {"m_flag": True, "m_num": 3}), None)
    cases: list[tuple[ir.Expr, Any, frozenset[str]]] = [
        (ir.Arith("-", k(5), n), Range(-9995, 5), frozenset({"h_num"})),
        (ir.Arith("*", k(Decimal("0.5")), n), Range(0, 5000), frozenset({"h_num"})),
        (ir.Arith("*", k(-2), n), Range(-20000, 0), frozenset({"h_num"})),
        (ir.Arith("*", k(0), free), 0, frozenset()),  # every value gives 0: known
        (ir.Arith("*", k(25), k(Decimal("0.5"))), Fraction(25, 2), frozenset()),  # folded
        (ir.Arith("/", k(1), k(0)), Range(), frozenset()),  # not folded: undefined
        (ir.Arith("-", n, n), Range(-10000, 10000), frozenset({"h_num"})),
        (ir.Compare("==", n, k(-1)), False, frozenset()),
        (ir.Compare("==", n, k(10_000)), None, frozenset({"h_num"})),  # an end is a value
        (ir.Compare("!=", k(0), n), None, frozenset({"h_num"})),
        (ir.Compare("!=", free, k(3)), None, frozenset({"h_num2"})),
        (ir.Compare(">", k(10_001), n), True, frozenset()),
        (ir.Arith("/", k(1), ir.Arith("-", n, k(1))), Range(), frozenset({"h_num"})),
        (ir.Arith("/", n, k(0)), Range(), frozenset()),  # undefined, nothing to ask
        (ir.Arith("**", n, k(0)), 1, frozenset()),
        (ir.Neg(n), Range(-10000, 0), frozenset({"h_num"})),
        (ir.Call("min", (n, k(7))), Range(0, 7), frozenset({"h_num"})),
        (ir.Call("max", (free, k(7))), Range(7, None), frozenset({"h_num2"})),
        (ir.IfElse(flag, k(1), k(3)), Range(1, 3), frozenset({"h_flag"})),
        (ir.IfElse(flag, k(2), k(2)), 2, frozenset()),
        (ir.Compare(">=", n, k(-1)), True, frozenset()),  # decided over the whole range
        (ir.Compare("<", n, k(5)), None, frozenset({"h_num"})),
        (ir.And((flag, ir.Compare("<", n, k(0)))), False, frozenset()),  # U ∧ F = F
        (ir.Or((flag, ir.Compare("<", n, k(5)))), None, frozenset({"h_flag", "h_num"})),
        (ir.Not(flag), None, frozenset({"h_flag"})),
        (ir.InSet(n, (-1, -2)), False, frozenset()),  # no listed value in [0, 10000]
        (ir.Aggregate("any", m_flag), True, frozenset()),
        (ir.Aggregate("all", m_flag), None, frozenset({"m_flag"})),
        (ir.Aggregate("count", m_flag, "number"), Range(1, 2), frozenset({"m_flag"})),
        (ir.Aggregate("sum", m_num, "number"), Range(3, 10003), frozenset({"m_num"})),
        (
            ir.Arith("*", k(Decimal("0.2")), ir.Aggregate("count", m_flag, "number")),
            Range(Fraction(1, 5), Fraction(2, 5)),
            frozenset({"m_flag"}),
        ),
    ]
    for e, value, missing in cases:
        expected = evaluate_expr(e, nobody)
        assert expected == (value, missing), e  # the reference itself, as written here
        got = _kleene(e)(*_rows(nobody))
        assert (_typed(got[0]), got[1]) == (_typed(expected[0]), missing), e


def test_the_kleene_path_leaves_to_the_interpreter_what_it_does_not_mirror() -> None:
    """A fact whose domain is one point is known yet reports itself missing (the interpreter's
    rule), and a refused value must reach the interpreter: both are sent there."""
    point = ir.FactRef("h_num", "number", lo=5, hi=5)
    with pytest.raises(Slow):
        _kleene(point)(*_rows(Facts({}, (), None)))
    refused = Facts({"h_num2": Decimal("NaN")}, (), None)
    with pytest.raises(Slow):
        _kleene(ir.FactRef("h_num", "number"))(*_rows(refused))
    deep: ir.Expr = ir.FactRef("h_flag", "bool")
    for _ in range(120):  # deeper than Python compiles nested blocks
        deep = ir.And((ir.FactRef("h_flag", "bool"), deep))
    catalogue = make_catalogue([make_policy("t.deep", "household", [deep])], [])
    for f in (Facts({"h_flag": True}, (), None), Facts({}, (), None)):
        _same(catalogue, f, ON, "household")
        _same(catalogue, f, ON, "household")
    assert explain_plan(catalogue, ON, "household").interpreted == [deep]


def test_every_expression_of_the_real_catalogue_has_kleene_code() -> None:
    """None of the real catalogue's conditions and amounts is left to the interpreter."""
    catalogue = load_catalogue(POLICIES)
    for subject in ("household", "enterprise"):
        assert explain_plan(catalogue, ON, subject).interpreted == []
