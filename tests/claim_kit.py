"""Claims and their deadlines written straight into the tables (no sweep, no workflow step),
for the tests of what the scheduler does with the deadlines."""

from __future__ import annotations

import time
from datetime import date

from sqlalchemy import Engine, update

from store.db import write_session
from store.tables.catalogue import CatalogueVersion
from store.tables.claims import Claim, ClaimDeadline, ClaimPart

VILLAGE = "520602100201"


def add_claim(
    engine: Engine,
    *,
    state: str,
    entered_on: date,
    title: str = "城乡居民医疗保险缴费资助",
    department: str = "县医疗保障局",
    region: str = VILLAGE,
    subject_kind: str = "household",
    subject_key: str = "5206021002010002",
) -> tuple[int, int]:
    """A single-policy claim (of household 5206021002010002 unless told) with one part;
    (claim id, part id)."""
    with write_session(engine) as session:
        version = CatalogueVersion(
            content_hash=f"{time.time_ns():064x}"[-64:], policy_ids=[], files={},
            published_by="test",
        )  # fmt: skip
        session.add(version)
        session.flush()
        claim = Claim(
            kind="claim", subject_kind=subject_kind, subject_id=1,
            subject_key=subject_key, region=region, title=title, state=state,
            entered_on=entered_on, eligible_on=entered_on, origin=f"test:{time.time_ns()}",
            catalogue_version_id=version.id or 0,
        )  # fmt: skip
        session.add(claim)
        session.flush()
        part = ClaimPart(
            claim_id=claim.id or 0, department=department, state=state, entered_on=entered_on
        )
        session.add(part)
        session.flush()
        return int(claim.id or 0), int(part.id or 0)


def add_deadline(
    engine: Engine,
    claim_id: int,
    *,
    state: str,
    entered_on: date,
    remind_on: date,
    due_on: date,
    part_id: int | None = None,
    department: str | None = None,
    version: int = 1,
) -> int:
    """A deadline row as `store.claims.steps` writes it; its id."""
    with write_session(engine) as session:
        row = ClaimDeadline(
            claim_id=claim_id, part_id=part_id, state=state, version=version, region=VILLAGE,
            department=department, entered_on=entered_on, due_on=due_on, remind_on=remind_on,
        )  # fmt: skip
        session.add(row)
        session.flush()
        return int(row.id or 0)


def move_claim(engine: Engine, claim_id: int, state: str) -> None:
    """The claim moved on (a step taken behind the deadline's back): new state and version."""
    with write_session(engine) as session:
        session.execute(
            update(Claim).where(Claim.id == claim_id).values(state=state, version=2)  # type: ignore[arg-type]
        )
