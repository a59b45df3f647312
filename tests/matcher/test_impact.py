"""Impact of a candidate policy: the vectorised comparison agrees with the interpreter."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from matcher.explain.impact import ImpactTally, by_township, compare
from matcher.interpreter.match import match
from matcher.profiles.derive import household_facts
from matcher.profiles.parse import parse_household
from matcher.vector.engine import compile_catalogue, run
from matcher.vector.frames import from_chunk
from rules.candidate import load_candidate
from rules.catalogue import load_catalogue
from rules.errors import RuleError
from synth.households import Population, generate_households, raw_households

ROOT = Path("policies")
ON = date(2025, 3, 1)
ALLOWANCE = ROOT / "household" / "dibao" / "allowance.yaml"


def _raised_copy(
    tmp_path: Path, old: str = "2024-01-01: 705", new: str = "2024-01-01: 900"
) -> Path:
    text = ALLOWANCE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "allowance.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def _interpreted(catalogue, households):  # type: ignore[no-untyped-def]
    return [
        {r.policy_id: r for r in match(catalogue, household_facts(h, ON), ON, "household").results}
        for h in households
    ]


def test_a_raised_standard_counts_the_same_gains_and_amounts_as_the_interpreter(
    tmp_path: Path,
) -> None:
    """Raising the 低保 standard: per-village gains and amounts equal a one-by-one count."""
    current = load_catalogue(ROOT)
    candidate = load_candidate(ROOT, _raised_copy(tmp_path))
    assert candidate.policy_id == "household.dibao.allowance" and candidate.replaced is not None
    chunk = next(generate_households(Population(households=3000, chunk_size=3000, dibao_share=0.2)))
    population = from_chunk(chunk, current.facts, ON)
    got = compare(
        run(compile_catalogue(current, ON, "household"), population),
        run(compile_catalogue(candidate.catalogue, ON, "household"), population),
    )
    households = [parse_household(r, current.facts) for r in raw_households(chunk)]
    expected: dict[tuple[str, str], ImpactTally] = {}
    before, after = _interpreted(current, households), _interpreted(candidate.catalogue, households)
    for h, old, new in zip(households, before, after, strict=True):
        for pid in old:
            was, will = old[pid].status == "eligible", new[pid].status == "eligible"
            a, b = (
                (old[pid].amount or Decimal(0)) if was else Decimal(0),
                (new[pid].amount or Decimal(0)) if will else Decimal(0),
            )
            tally = ImpactTally(int(will and not was), int(was and not will))
            tally.raised, tally.lowered = int(was and will and b > a), int(was and will and b < a)
            tally.amount_delta = b - a
            if tally.changed:
                expected.setdefault((pid, h.region_code or ""), ImpactTally()).add(tally)
    assert {k: (t.gain, t.loss, t.raised, t.lowered) for k, t in got.items()} == {
        k: (t.gain, t.loss, t.raised, t.lowered) for k, t in expected.items()
    }
    assert sum(t.gain for t in got.values()) > 0  # the raised threshold really admits households
    for key, tally in got.items():
        assert tally.amount_delta == expected[key].amount_delta  # to the fen, exactly


def test_townships_add_up_their_villages(tmp_path: Path) -> None:
    """A township's tally is the sum of its villages' tallies."""
    villages = {
        ("p", "520602001001"): ImpactTally(gain=2, amount_delta=Decimal("10.00")),
        ("p", "520602001002"): ImpactTally(loss=1, amount_delta=Decimal("-3.50")),
        ("p", "520602002001"): ImpactTally(raised=4),
    }
    towns = by_township(villages)
    assert towns[("p", "520602001")] == ImpactTally(gain=2, loss=1, amount_delta=Decimal("6.50"))
    assert towns[("p", "520602002")] == ImpactTally(raised=4)


def test_a_new_policy_file_is_added_and_a_bundle_file_is_refused(tmp_path: Path) -> None:
    """A policy with a new id is added to the candidate; a bundle file gets a clear error."""
    text = ALLOWANCE.read_text(encoding="utf-8").replace(
        "id: household.dibao.allowance", "id: household.dibao.allowance_pilot"
    )
    text = text.replace("excludes: [household.tekun.support]\n", "")
    path = tmp_path / "pilot.yaml"
    path.write_text(text, encoding="utf-8")
    candidate = load_candidate(ROOT, path)
    assert candidate.replaced is None
    assert "household.dibao.allowance_pilot" in candidate.catalogue.policies
    with pytest.raises(RuleError, match="not a bundle"):
        load_candidate(ROOT, ROOT / "bundles" / "dibao.yaml")
