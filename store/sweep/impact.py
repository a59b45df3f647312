"""`zhida impact`: a candidate catalogue against the stored caseload, before publishing.

Reads the stored profiles of the changed policy's subject kind chunk by chunk (one read
transaction: nothing is written, not even an audit record), evaluates each chunk under the
current and the candidate catalogue with the vectorised engine, and adds up, per policy and
village, who gains, who loses and whose amount changes (`matcher.explain.impact`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Engine

from matcher.explain.impact import ImpactTally, Key, compare
from matcher.vector.engine import compile_catalogue, run
from rules.catalogue import Catalogue
from store.db import read_session
from store.sweep.columns import iter_enterprises, iter_households, program_facts

__all__ = ["ImpactReport", "measure_impact"]

_ITERATORS = {"household": iter_households, "enterprise": iter_enterprises}


@dataclass
class ImpactReport:
    """What a candidate would change: tallies per (policy, village), and subjects read."""

    subject: str
    subjects: int = 0
    villages: dict[Key, ImpactTally] = field(default_factory=dict)

    def totals(self) -> dict[str, ImpactTally]:
        """Per policy, over every village."""
        out: dict[str, ImpactTally] = {}
        for (pid, _), tally in self.villages.items():
            out.setdefault(pid, ImpactTally()).add(tally)
        return out


def measure_impact(
    *,
    engine: Engine,
    current: Catalogue,
    candidate: Catalogue,
    subject: str,
    on: date,
    region: str | None = None,
    limit: int = 20_000,
    progress: Callable[[int], None] | None = None,
) -> ImpactReport:
    """Compare `candidate` with `current` over every stored subject of kind `subject`.

    Args:
        engine: the database (only read).
        current: the catalogue in force.
        candidate: the same with the changed policy (`rules.candidate.load_candidate`).
        subject: `household` or `enterprise`: the changed policy's subject kind.
        on: the evaluation date.
        region: a validated region prefix, or None for every region.
        limit: subjects per chunk.
        progress: called with the number of subjects read so far.

    Returns:
        The tallies per (policy, village) where anything changes.
    """
    before = compile_catalogue(current, on, subject)
    after = compile_catalogue(candidate, on, subject)
    only = program_facts(before) | program_facts(after)
    report = ImpactReport(subject)
    with read_session(engine) as session:
        chunks = _ITERATORS[subject](
            session, on=on, region=region, after_id=0, limit=limit, facts=current.facts, only=only
        )
        for chunk in chunks:
            found = compare(run(before, chunk.population), run(after, chunk.population))
            for key, tally in found.items():
                report.villages.setdefault(key, ImpactTally()).add(tally)
            report.subjects += chunk.population.size
            if progress is not None:
                progress(report.subjects)
    return report
