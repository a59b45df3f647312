"""`matcher.vector.frames` gives the engine the columns of the profile path, so the same results."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from matcher.profiles.derive import enterprise_facts, household_facts
from matcher.profiles.parse import parse_enterprise, parse_household
from matcher.vector.columns import Population, Vocabulary, from_facts
from matcher.vector.engine import VectorResult, compile_catalogue, run
from matcher.vector.frames import Columns, PopulationChunk, from_chunk, from_enterprises
from rules.catalogue import load_catalogue
from synth.enterprises import Enterprises, generate_enterprises
from synth.households import Population as Spec
from synth.households import generate_households, raw_households

ROOT = Path(__file__).parents[2] / "policies"
CATALOGUE = load_catalogue(ROOT)
AS_OF = date(2025, 3, 1)
# Many unknown cells, more 低保/特困/disability than real life, so every policy sees all statuses.
SPEC = Spec(
    households=400,
    seed=11,
    as_of=AS_OF,
    unknown_share=0.08,
    dibao_share=0.25,
    tekun_share=0.05,
    disability_share=0.3,
    newborn_share=0.2,
    chunk_size=160,
)


@pytest.fixture(scope="module")
def chunks() -> list[PopulationChunk]:
    return list(generate_households(SPEC))


def _same_columns(got: Population, want: Population) -> None:
    decode = {v: k for k, v in want.vocabulary.codes.items()}
    mine = {v: k for k, v in got.vocabulary.codes.items()}
    for table in ("subject", "members"):
        ours, theirs = getattr(got, table), getattr(want, table)
        for name, column in theirs.items():
            if name not in ours:  # an absent column reads as all unknown
                assert np.isnan(column).all(), name
                continue
            a, b = ours[name], column
            assert np.array_equal(np.isnan(a), np.isnan(b)), name
            known = ~np.isnan(b)
            if name in CATALOGUE.facts.facts and CATALOGUE.facts.facts[name].type == "string":
                assert [mine[int(x)] for x in a[known]] == [decode[int(x)] for x in b[known]], name
            else:
                assert np.array_equal(a[known], b[known]), name
    assert np.array_equal(got.member_of, want.member_of)
    assert np.array_equal(got.starts, want.starts)
    assert np.array_equal(got.counts, want.counts)
    assert (got.regions == want.regions).all()


def _same_results(got: VectorResult, want: VectorResult) -> None:
    assert np.array_equal(got.status, want.status)
    assert np.array_equal(got.fen, want.fen, equal_nan=True)
    assert got.verdicts.keys() == want.verdicts.keys()
    for slot, verdict in want.verdicts.items():
        assert np.array_equal(got.verdicts[slot], verdict)
    for bundle, gate in want.gates.items():
        assert np.array_equal(got.gates[bundle], gate)
    assert np.array_equal(got.dropped_for, want.dropped_for)
    for j in range(got.status.shape[1]):
        for row in range(got.status.shape[0]):
            assert got.missing(row, j) == want.missing(row, j)


@pytest.mark.parametrize("on", [AS_OF, date(2025, 9, 30)])
def test_chunk_columns_equal_the_profile_path(chunks: list[PopulationChunk], on: date) -> None:
    """Every column, and every engine result, equals `from_facts` of the parsed profiles."""
    engine = compile_catalogue(CATALOGUE, on, "household")
    vocab = Vocabulary()  # shared across chunks, as a batch does
    for chunk in chunks:
        profiles = [
            household_facts(parse_household(raw, CATALOGUE.facts, today=on), on)
            for raw in raw_households(chunk)
        ]
        want = from_facts(profiles, CATALOGUE.facts)
        got = from_chunk(chunk, CATALOGUE.facts, on, vocab)
        _same_columns(got, want)
        _same_results(run(engine, got), run(engine, want))


def test_only_the_facts_a_program_reads(chunks: list[PopulationChunk]) -> None:
    """`only` builds fewer columns and still gives the same results."""
    engine = compile_catalogue(CATALOGUE, AS_OF, "household")
    used = {s.data[0] for s in engine.program.steps if s.op == "fact"}  # type: ignore[index]
    full = from_chunk(chunks[0], CATALOGUE.facts, AS_OF)
    slim = from_chunk(chunks[0], CATALOGUE.facts, AS_OF, only=used)
    assert set(slim.subject) | set(slim.members) <= used
    _same_results(run(engine, slim), run(engine, full))


def test_fractional_incomes_give_the_profile_path_results() -> None:
    """Incomes with fractions of a fen (thirds of a yuan included) give the same results on
    both paths: per-capita income is no column, the engine computes it exactly."""
    chunk = next(generate_households(Spec(households=30, seed=3, as_of=AS_OF)))
    members = chunk.members
    income = members.data["monthly_income"].astype(np.float64)
    income[::2] += np.array([0.005, 0.015, 0.1, 0.125, 1 / 3])[np.arange(len(income[::2])) % 5]
    patched = PopulationChunk(chunk.households, Columns({**members.data, "monthly_income": income},
                                                        dict(members.unknown)))  # fmt: skip
    profiles = [
        household_facts(parse_household(raw, CATALOGUE.facts, today=AS_OF), AS_OF)
        for raw in raw_households(patched)
    ]
    engine = compile_catalogue(CATALOGUE, AS_OF, "household")
    want = from_facts(profiles, CATALOGUE.facts)
    got = from_chunk(patched, CATALOGUE.facts, AS_OF)
    assert "per_capita_monthly_income" not in got.subject
    _same_results(run(engine, got), run(engine, want))


def test_enterprises_equal_the_profile_path() -> None:
    """Enterprise columns (with `years_since_founded`) and results equal the profile path."""
    on = date(2025, 6, 30)
    cols = generate_enterprises(Enterprises(300, seed=5, as_of=AS_OF, unknown_share=0.1))
    rows = list(cols.rows())
    profiles = [enterprise_facts(parse_enterprise(r, CATALOGUE.facts), on) for r in rows]
    want = from_facts(profiles, CATALOGUE.facts)
    got = from_enterprises(cols, CATALOGUE.facts, on)
    _same_columns(got, want)
    engine = compile_catalogue(CATALOGUE, on, "enterprise")
    _same_results(run(engine, got), run(engine, want))


def test_members_out_of_order_are_refused(chunks: list[PopulationChunk]) -> None:
    """Members must be grouped by household in the households' order."""
    chunk = chunks[0]
    order = np.arange(len(chunk.members))[::-1]
    shuffled = Columns({k: v[order] for k, v in chunk.members.data.items()}, {})
    with pytest.raises(ValueError, match="grouped by household"):
        from_chunk(PopulationChunk(chunk.households, shuffled), CATALOGUE.facts, AS_OF)
