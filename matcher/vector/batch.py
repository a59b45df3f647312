"""Matching many validated households at once: the one place a batch calls an engine.

`BatchMatcher` compiles the household catalogue for the vectorised engine once (at one date)
and matches chunk after chunk: each chunk becomes a columnar `Population` and is evaluated
whole by `matcher.vector.engine.run`. Interpreter-shaped `PolicyResult`s are built only for the
(household, policy) pairs that are eligible or undetermined — what a batch writes out — while
the per-policy counts come from the status array itself.

    matcher = BatchMatcher(catalogue, on)
    for chunk in chunks:
        matched = matcher.match(chunk)     # outcomes in order, and counts per policy
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from matcher.interpreter.compiled import match_compiled
from matcher.interpreter.match import PolicyResult
from matcher.profiles.derive import enterprise_facts, household_facts
from matcher.profiles.parse import Enterprise, Household
from matcher.vector.columns import Vocabulary, from_facts
from matcher.vector.engine import compile_catalogue, run
from rules.catalogue import Catalogue
from rules.facts import FactCatalogue

__all__ = ["BatchMatcher", "Counts", "MatchedChunk", "Outcome", "match_chunk", "match_enterprises"]

Outcome = tuple[Household | Enterprise, list[PolicyResult]]
Counts = dict[str, tuple[int, int, int]]  # policy id → (eligible, undetermined, ineligible)

# A vocabulary is shared by the chunks of a batch; string facts that are free text (account
# numbers) add a code per household, so it is started afresh past this many values (codes are
# looked up per population, so chunks need not share them).
_VOCABULARY_CAP = 200_000


@dataclass(frozen=True)
class MatchedChunk:
    """One chunk's results: every household with its non-ineligible results, and the counts."""

    outcomes: list[Outcome]
    counts: Counts


class BatchMatcher:
    """The household catalogue compiled once for the vectorised engine, at one date."""

    def __init__(self, catalogue: Catalogue, on: date) -> None:
        self.catalogue = catalogue
        self.on = on
        self.engine = compile_catalogue(catalogue, on, "household")
        read = {s.data[0] for s in self.engine.program.steps if s.op == "fact"}  # type: ignore[index]
        # Only the facts the program reads become columns (others would be encoded for nothing).
        self.facts = FactCatalogue.model_construct(
            facts={n: f for n, f in catalogue.facts.facts.items() if n in read}
        )
        self.vocabulary = Vocabulary()

    def match(self, households: Sequence[Household]) -> MatchedChunk:
        """Every household's results that are not ineligible (eligible or undetermined).

        Args:
            households: validated households.

        Returns:
            One `(household, results)` per household, in order — `results` leaves out
            ineligible policies (and those dropped by `excludes`), so it may be empty — and
            the per-policy counts of the chunk.
        """
        if len(self.vocabulary.codes) > _VOCABULARY_CAP:
            self.vocabulary = Vocabulary()
        facts = [household_facts(h, self.on) for h in households]
        population = from_facts(facts, self.facts, self.vocabulary)
        result = run(self.engine, population)
        outcomes: list[Outcome] = [(h, []) for h in households]
        rows, columns = np.nonzero(result.status)  # row by row, policies in catalogue order
        for row, j in zip(rows.tolist(), columns.tolist(), strict=True):
            outcomes[row][1].append(result.result(row, j))
        return MatchedChunk(outcomes, result.counts())


def match_chunk(catalogue: Catalogue, households: Sequence[Household], on: date) -> list[Outcome]:
    """One chunk matched with a fresh `BatchMatcher` (a batch keeps one for all its chunks).

    Args:
        catalogue: the policy catalogue.
        households: validated households.
        on: the evaluation date.

    Returns:
        One `(household, results)` per household, in order; `results` leaves out ineligible
        policies (and those dropped by `excludes`), so it may be empty.
    """
    return BatchMatcher(catalogue, on).match(households).outcomes


def match_enterprises(
    catalogue: Catalogue, enterprises: Sequence[Enterprise], on: date
) -> MatchedChunk:
    """A chunk of enterprises matched by the explaining interpreter, shaped as a batch chunk.

    An enterprise sheet is a county's firms (thousands, not millions): the interpreter's
    exact results need no vectorised program (they come from its compiled form,
    `matcher.interpreter.compiled`, the same results).

    Args:
        catalogue: the policy catalogue.
        enterprises: validated enterprises.
        on: the evaluation date.

    Returns:
        One `(enterprise, results)` per enterprise, in order (ineligible results left out),
        and the per-policy counts.
    """
    counts: dict[str, list[int]] = {p.id: [0, 0, 0] for p in catalogue.for_subject("enterprise")}
    where = {"eligible": 0, "undetermined": 1, "ineligible": 2}
    outcomes: list[Outcome] = []
    for e in enterprises:
        results = match_compiled(catalogue, enterprise_facts(e, on), on, "enterprise").results
        for r in results:
            counts[r.policy_id][where[r.status]] += 1
        outcomes.append((e, [r for r in results if r.status != "ineligible"]))
    return MatchedChunk(outcomes, {pid: (a, b, c) for pid, (a, b, c) in counts.items()})
