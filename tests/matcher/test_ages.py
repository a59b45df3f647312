"""Ages of people born on 29 February, in every engine (民法典 第二百零二条): the anniversary in a
common year is 28 February — in the interpreter, the vectorised engine from profiles and from
stored columns, and durable-rules."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from matcher.events.runtime import EventEngine
from matcher.interpreter.match import evaluate_policy
from matcher.profiles.derive import household_facts
from matcher.profiles.parse import parse_household
from matcher.vector.columns import from_facts
from matcher.vector.engine import compile_catalogue, run
from matcher.vector.frames import Columns, PopulationChunk, from_chunk
from rules import ir
from rules.catalogue import Catalogue, load_facts
from synth.identifiers import make_ric
from tests.strategies import make_policy

FACTS = load_facts(Path(__file__).parents[2] / "policies")
BORN = date(2008, 2, 29)
ADULT = ir.Aggregate(
    "any", ir.Compare(">=", ir.FactRef("age", "number", True), ir.Const(18, "number"))
)
CATALOGUE = Catalogue(FACTS, {"t.adult": make_policy("t.adult", "household", [ADULT])}, {}, "v")
NUMBER = make_ric(region="520602", birth=BORN, seq=3)


def _chunk() -> PopulationChunk:
    """The household as the generator and the store hand it to the engine: columns."""
    return PopulationChunk(
        Columns({"household_id": np.array(["h1"]), "region_code": np.array(["520602001201"])}),
        Columns(
            {
                "household_id": np.array(["h1"]),
                "id_number": np.array([NUMBER]),
                "relation": np.array(["head"]),
            }
        ),
    )


@pytest.mark.parametrize(
    ("on", "adult"),
    [
        (date(2026, 2, 27), False),
        (date(2026, 2, 28), True),  # a common year: no 29th, the 28th ends the period
        (date(2026, 3, 1), True),
        (date(2024, 2, 28), False),  # a leap year, and 16 anyway
        (date(2028, 2, 28), True),
    ],
)
def test_a_leap_day_birth_comes_of_age_on_28_february_in_every_engine(
    on: date, adult: bool
) -> None:
    """18 on 28 Feb 2026 for a 29 Feb 2008 birth: interpreter, vectorised (two ways), durable."""
    raw = {"region_code": "520602001201", "members": [{"id_number": NUMBER, "relation": "head"}]}
    facts = household_facts(parse_household(raw, FACTS, today=on), on)
    policy = CATALOGUE.policies["t.adult"]
    want = "eligible" if adult else "ineligible"
    assert evaluate_policy(policy, facts, on).status == want
    engine = compile_catalogue(CATALOGUE, on, "household")
    assert run(engine, from_facts([facts], FACTS)).results(0)[0].status == want
    assert run(engine, from_chunk(_chunk(), FACTS, on)).results(0)[0].status == want
    assert (policy.id in EventEngine(CATALOGUE, on).eligible(facts, "household")) == adult
