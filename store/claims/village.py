"""The village's batch: confirm claims on the households' behalf and send them to the township.

    results = submit_to_township(engine, scope, [Pick(12, 1), Pick(15, 3)], actor=actor,
                                 person="cun", on=date(2025, 3, 3), root=Path("policies"))

A village centre (村便民服务中心) confirms a prepared claim on the household's behalf (`confirm`,
recorded `on_behalf`) and accepts it (`accept`), which puts it in the township's queue
(`village_accepted`); a claim returned for 补正 goes back the same way (`resubmit`). For each
claim picked, `submit_to_township` takes those steps, each in its own transaction
(`store.claims.scoped.advance_many_in_scope`: outside the scope a claim is `not_found`):

1. the confirmation, for the claims still `prepared`, on the version the operator saw;
2. then the step that leads to `village_accepted` from where the claim now is — the workflow
   table names it (`accept` from confirmed, `resubmit` from returned) — on the version the
   confirmation left (the one seen, plus one), so a claim someone else moved in between is a
   conflict, never a step on something the operator did not see.

A claim that cannot get there answers its first refusal (`ClaimError`: invalid, refused,
conflict, calendar, not_found), and one claim's refusal never stops the others. A claim that
was confirmed but then refused at the second step stays confirmed (the confirmation holds; the
next batch sends it on). Confirming is not a review step, so the person who confirmed may accept
(policies/workflow.yaml); separation of duties still holds for the review steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path

from sqlalchemy import Engine, Table, select

from rules.workflow import Actor
from store.claims.errors import ClaimError
from store.claims.scoped import advance_many_in_scope, visible_clause
from store.claims.steps import StepDone, StepRequest
from store.db import read_session
from store.scope import Scope
from store.tables.claims import Claim

__all__ = ["SUBMITTED", "Pick", "submit_to_township"]

_CLAIM: Table = Claim.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
SUBMITTED = "village_accepted"  # in the township's queue
_TO_CONFIRM = "prepared"


@dataclass(frozen=True)
class Pick:
    """A claim picked for the batch, with the version the operator saw (None: any)."""

    claim_id: int
    version: int | None = None


def _states(engine: Engine, scope: Scope, ids: Sequence[int]) -> dict[int, str]:
    c = _CLAIM.c
    with read_session(engine) as session:
        rows = session.connection().execute(
            select(c.id, c.state).where(c.id.in_(list(ids)), visible_clause(scope))
        )
        return {r.id: r.state for r in rows}


def submit_to_township(
    engine: Engine,
    scope: Scope,
    picks: Sequence[Pick],
    *,
    actor: Actor,
    person: str,
    on: date,
    root: Path,
) -> list[StepDone | ClaimError]:
    """Confirm (on the households' behalf) and send each picked claim to the township.

    Args:
        engine: the database.
        scope: the village login's scope.
        picks: the claims, each with the version the operator saw.
        actor: the workflow actor (the village operator).
        person: the user's name.
        on: the day of the steps.
        root: the policies folder (workflow.yaml, holidays.yaml).

    Returns:
        Per pick, in order: the last step taken (to `village_accepted`), or the first refusal.
    """
    states = _states(engine, scope, [p.claim_id for p in picks])
    step = partial(StepRequest, actor=actor, person=person, on=on)
    first = [p for p in picks if states.get(p.claim_id) == _TO_CONFIRM]
    asked = [step(p.claim_id, action="confirm", version=p.version) for p in first]
    confirmed = dict(
        zip(
            [p.claim_id for p in first],
            advance_many_in_scope(engine, scope, asked, root=root),
            strict=True,
        )
    )
    onward = [p for p in picks if not isinstance(confirmed.get(p.claim_id), ClaimError)]
    asked = [
        step(p.claim_id, to_state=SUBMITTED, version=_left(p, p.claim_id in confirmed))
        for p in onward
    ]
    sent = dict(
        zip(
            [p.claim_id for p in onward],
            advance_many_in_scope(engine, scope, asked, root=root),
            strict=True,
        )
    )
    return [sent.get(p.claim_id) or confirmed[p.claim_id] for p in picks]


def _left(pick: Pick, confirmed: bool) -> int | None:
    """The version a claim is at after this batch's confirmation (each step adds one)."""
    return pick.version + 1 if confirmed and pick.version is not None else pick.version
