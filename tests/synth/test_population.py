"""The synthetic population: deterministic, valid identifiers, ages consistent with relations."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from matcher.profiles.identifiers import parse_region_code, parse_ric, parse_uscc
from matcher.profiles.regions import load_regions
from matcher.vector.frames import PopulationChunk
from synth.enterprises import Enterprises, generate_enterprises
from synth.households import Population, generate_households

AS_OF = date(2025, 3, 1)
POP = Population(households=6000, seed=7, as_of=AS_OF, chunk_size=2500)


@pytest.fixture(scope="module")
def chunks() -> list[PopulationChunk]:
    return list(generate_households(POP))


def _all(chunks: list[PopulationChunk], name: str, level: str = "members") -> np.ndarray:
    return np.concatenate([getattr(c, level).data[name] for c in chunks])


def test_the_same_seed_gives_the_same_population(chunks: list[PopulationChunk]) -> None:
    """Generating twice with one seed yields identical IDs and incomes; another seed differs."""
    again = list(generate_households(POP))
    assert (_all(again, "id_number") == _all(chunks, "id_number")).all()
    assert (_all(again, "monthly_income") == _all(chunks, "monthly_income")).all()
    other = list(generate_households(Population(households=6000, seed=8, as_of=AS_OF)))
    assert not (_all(other, "id_number")[:100] == _all(chunks, "id_number")[:100]).all()


def test_every_id_number_is_valid_and_unique(chunks: list[PopulationChunk]) -> None:
    """Every generated ID passes the production parser, none repeats across chunks."""
    ids = _all(chunks, "id_number")
    assert len(set(ids)) == len(ids)
    for number in ids:
        assert parse_ric(str(number), today=AS_OF).number == number


def test_ids_carry_a_known_county_code(chunks: list[PopulationChunk]) -> None:
    """The region prefix is a county of the table or its former code."""
    counties = load_regions().counties
    allowed = {c.code for c in counties} | {c.former_code for c in counties if c.former_code}
    assert {str(n)[:6] for n in _all(chunks, "id_number")} <= allowed


def test_ages_are_consistent_with_relations(chunks: list[PopulationChunk]) -> None:
    """Children are at least 18 years younger than head and spouse; parents older than the head."""
    for chunk in chunks:
        members = chunk.members.data
        born = [parse_ric(str(n), today=AS_OF).birth_date for n in members["id_number"]]
        households: dict[str, dict[str, list[date]]] = {}
        for hid, rel, day in zip(members["household_id"], members["relation"], born, strict=True):
            households.setdefault(str(hid), {}).setdefault(str(rel), []).append(day)
        for people in households.values():
            assert len(people["head"]) == 1
            elders = people["head"] + people.get("spouse", [])
            for child in people.get("child", []):
                assert all((child - p).days >= 18 * 365 for p in elders)
            for parent in people.get("parent", []):
                assert (people["head"][0] - parent).days >= 18 * 365


def test_sex_in_the_id_matches_spouses(chunks: list[PopulationChunk]) -> None:
    """Heads and spouses have opposite sexes by the ID number's 17th digit."""
    members = chunks[0].members.data
    sex = np.array([int(str(n)[16]) % 2 for n in members["id_number"]])
    heads = np.flatnonzero(members["relation"] == "head")
    spouses = np.flatnonzero(members["relation"] == "spouse")
    assert (sex[spouses] != sex[spouses - 1]).all()  # a spouse always follows the head
    assert set(spouses - 1) <= set(heads)


def test_codes_are_valid_village_codes(chunks: list[PopulationChunk]) -> None:
    """Household region codes are 12-digit codes of the table; household ids are unique."""
    villages = {r.code for r in load_regions().regions if r.level == "village"}
    codes = _all(chunks, "region_code", "households")
    assert set(codes) <= villages
    for code in set(codes):
        parse_region_code(str(code), lengths=(12,))
    ids = _all(chunks, "household_id", "households")
    assert len(set(ids)) == len(ids)


def test_shares_are_roughly_as_configured(chunks: list[PopulationChunk]) -> None:
    """低保 ≈ 4%, 特困 ≈ 0.5%, disability ≈ 6%, about 2.8 members a household, newborns exist."""
    dibao = _all(chunks, "dibao_status", "households")
    tekun = _all(chunks, "tekun_status", "households")
    disabled = _all(chunks, "has_disability")
    members = sum(len(c.members) for c in chunks)
    assert 0.025 < np.mean(dibao == "active") < 0.055
    assert 0.002 < np.mean(tekun == "active") < 0.01
    assert 0.035 < np.mean(disabled) < 0.085
    assert 2.5 < members / POP.households < 3.2
    ids = _all(chunks, "id_number")
    assert any(parse_ric(str(n), today=AS_OF).birth_date.year == 2024 for n in ids)


def test_some_cells_are_left_unknown(chunks: list[PopulationChunk]) -> None:
    """About 1% of the income cells are empty, so some results are undetermined."""
    unknown = np.concatenate([c.members.unknown["monthly_income"] for c in chunks])
    assert 0.003 < unknown.mean() < 0.03


def test_enterprises_have_valid_unique_credit_codes() -> None:
    """Every credit code passes GB 32100; sizes are mostly micro; the seed fixes the output."""
    cols = generate_enterprises(Enterprises(500, seed=3, as_of=AS_OF))
    codes = [parse_uscc(str(c)) for c in cols.data["credit_code"]]
    assert len(set(codes)) == 500
    assert np.mean(cols.data["enterprise_size"] == "micro") > 0.6
    again = generate_enterprises(Enterprises(500, seed=3, as_of=AS_OF))
    assert (again.data["credit_code"] == cols.data["credit_code"]).all()
