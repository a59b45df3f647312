"""The vectorised engine agrees with the interpreter exactly, row by row: status, amount to the
fen (no tolerance), missing facts, `excludes` and bundle gates — on random catalogues whose
amounts land on half fen often, and on per-capita incomes a fraction of a fen from a standard."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher.interpreter.match import match
from matcher.profiles.facts import Facts
from matcher.vector.columns import from_facts
from matcher.vector.engine import compile_catalogue, run
from rules import ir
from rules.catalogue import Catalogue, CompiledPolicy
from rules.schema import Benefit
from tests.strategies import ON, catalogues, expr, facts, make_catalogue, make_policy, num_exprs

PROFILES_PER_EXAMPLE = 40  # at least 35 each: 300 × 35 = 10,500 profiles
EXAMPLES = 300
_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)

# One strategy object each, drawn from thousands of times (see tests.strategies.facts).
_AMOUNTS = {s: st.none() | num_exprs(s, 2) for s in ("household", "enterprise")}
_SUBJECTS = st.sampled_from(["household", "enterprise"])


@st.composite
def priced(draw: st.DrawFn) -> Catalogue:
    """A random catalogue whose policies have amounts and may exclude each other."""
    base = draw(catalogues())
    policies: list[CompiledPolicy] = []
    ids = sorted(base.policies)
    for pid in ids:
        policy = base.policies[pid]
        subject = policy.spec.subject
        amount = draw(_AMOUNTS[subject])
        same = [o for o in ids if o != pid and base.policies[o].spec.subject == subject]
        excludes = draw(st.lists(st.sampled_from(same), max_size=2, unique=True)) if same else []
        spec = policy.spec.model_copy(
            update={
                "benefit": Benefit(amount="0") if amount is not None else None,
                "excludes": excludes,
            }
        )
        policies.append(replace(policy, spec=spec, amount=amount))
    return make_catalogue(policies, list(base.bundles.values()))


def _agree(catalogue: Catalogue, profiles: list[Facts], subject: str, on: date) -> Counter[str]:
    """Compare both engines on every row; count what was compared."""
    seen: Counter[str] = Counter()
    result = run(compile_catalogue(catalogue, on, subject), from_facts(profiles, catalogue.facts))
    for row, profile in enumerate(profiles):
        expected = match(catalogue, profile, on, subject)
        got = result.results(row)
        assert [r.policy_id for r in got] == [r.policy_id for r in expected.results]
        for g, e in zip(got, expected.results, strict=True):
            want = (e.status, e.amount, e.missing, e.dropped_for, e.amount_bounds)
            have = (g.status, g.amount, g.missing, g.dropped_for, g.amount_bounds)
            assert have == want, (g.policy_id, have, want, profile)
            seen["results"] += 1
            seen[e.status] += 1
        for bundle in expected.bundles:
            gate = int(result.gates[bundle.bundle_id][row])
            assert {2: True, 0: False, 1: None}[gate] == bundle.gate.verdict
    seen["profiles"] += len(profiles)
    return seen


def test_vectorised_engine_equals_interpreter_on_random_catalogues() -> None:
    """≥ 10,000 random profiles over random priced catalogues: identical results, to the fen."""
    seen: Counter[str] = Counter()

    @_SETTINGS
    @given(catalogue=priced(), data=st.data())
    def check(catalogue: Catalogue, data: st.DataObject) -> None:
        subject = data.draw(_SUBJECTS)
        size = st.lists(facts(subject), min_size=PROFILES_PER_EXAMPLE - 5, max_size=40)
        seen.update(_agree(catalogue, data.draw(size), subject, ON))

    check()
    assert seen["profiles"] >= 10_000, seen
    assert seen["eligible"] and seen["undetermined"] and seen["ineligible"], seen


def _rated_catalogue(rates: list[Decimal]) -> Catalogue:
    """Household policies paying `rate × h_num` and `rate × sum(members, m_num)`."""
    policies = []
    for i, rate in enumerate(rates):
        for j, text in enumerate(("h_num", "sum(members, m_num)")):
            policy = make_policy(f"t.rate{i}{j}", "household", [expr("h_flag or not h_flag")])
            amount = ir.Arith("*", ir.Const(rate, "number"), _amount(text))
            spec = policy.spec.model_copy(update={"benefit": Benefit(amount="0")})
            policies.append(replace(policy, spec=spec, amount=amount))
    return make_catalogue(policies)


def _amount(text: str) -> ir.Expr:
    compare = expr(f"{text} >= 0")
    assert isinstance(compare, ir.Compare)
    return compare.left


def test_rates_times_cent_values_round_half_up_in_both_engines() -> None:
    """Rates 0.3 and 0.6 times cent values: half-fen amounts are frequent and round the same."""
    catalogue = _rated_catalogue([Decimal("0.3"), Decimal("0.6"), Decimal("0.05")])
    seen: Counter[str] = Counter()
    cents = st.integers(0, 1_000_000).map(lambda c: Decimal(c).scaleb(-2))

    @_SETTINGS
    @given(
        st.lists(
            st.builds(
                lambda h, ms: Facts({"h_num": h, "h_flag": True}, tuple({"m_num": m} for m in ms)),
                cents,
                st.lists(cents, max_size=4),
            ),
            min_size=30,
            max_size=30,
        )
    )
    def check(profiles: list[Facts]) -> None:
        seen.update(_agree(catalogue, profiles, "household", ON))
        for f in profiles:
            bases = [f.subject["h_num"], sum((m["m_num"] for m in f.members), Decimal(0))]
            for rate in (Decimal("0.3"), Decimal("0.6"), Decimal("0.05")):
                # an exact amount on a half fen, which rounding alone decides
                seen["half fen"] += sum(rate * b * 1000 % 10 == 5 for b in bases)  # type: ignore[operator]

    check()
    assert seen["half fen"] >= 500, seen


def test_per_capita_a_fraction_of_a_fen_from_the_standard() -> None:
    """Households whose exact per-capita income is within a fen of the standard: below is below,
    at is not below, in every engine, and the top-up uses the exact per-capita value."""
    standard = Decimal("705.01")
    policy = make_policy(
        "t.dibao",
        "household",
        [expr("h_flag")],
        p0={date(2020, 1, 1): standard},
    )
    condition = ir.Compare(
        "<",
        ir.FactRef(
            "per_capita", "number", formula=ir.Arith(
                "/", ir.Aggregate("sum", ir.FactRef("m_num", "number", True, (), 0, 10_000)),
                ir.Aggregate("count", ir.Const(True, "bool")),
            )
        ),
        ir.ParamRef("p0", "number"),
    )  # fmt: skip
    top_up = ir.Arith(
        "*", ir.Arith("-", ir.ParamRef("p0", "number"), condition.left),
        ir.Aggregate("count", ir.Const(True, "bool")),
    )  # fmt: skip
    spec = policy.spec.model_copy(update={"benefit": Benefit(amount="0")})
    conds = (*policy.conditions, replace(policy.conditions[0], expr=condition))
    catalogue = make_catalogue([replace(policy, spec=spec, conditions=conds, amount=top_up)])
    seen: Counter[str] = Counter()

    @_SETTINGS
    @given(st.data())
    def check(data: st.DataObject) -> None:
        profiles = []
        for _ in range(20):
            size = data.draw(st.integers(1, 6))
            off = data.draw(st.integers(-size, size))  # total = size × standard + off fen
            total = standard * size + Decimal(off).scaleb(-2)
            shares = data.draw(st.lists(st.integers(0, 100), min_size=size, max_size=size))
            incomes = _split(total, shares)
            members = tuple({"m_num": x} for x in incomes)
            profiles.append(Facts({"h_flag": True}, members))
        seen.update(_agree(catalogue, profiles, "household", ON))

    check()
    assert seen["eligible"] > 0 and seen["ineligible"] > 0, seen


def _split(total: Decimal, shares: list[int]) -> list[Decimal]:
    """`total` split into cent amounts in proportion to `shares` (the last takes the rest)."""
    weight = sum(shares) or 1
    parts = [(total * s / weight).quantize(Decimal("0.01")) for s in shares[:-1]]
    return [*parts, total - sum(parts, Decimal(0))]
