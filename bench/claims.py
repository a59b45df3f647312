"""Claim steps per second: `store.claims.steps.advance_many` over a batch of claims.

    .venv/bin/python bench/claims.py [--claims 2000]
                                     [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

For each database (SQLite in a temporary folder; PostgreSQL when `--database-url` or
`ZHIDA_BENCH_PG_URL` names a server where databases may be created, else a throwaway cluster
when PostgreSQL is installed; `--no-postgres` skips it): the catalogue published by a sweep of
one demo household, then N claims of one part each inserted directly in state `confirmed`, and
three batches timed, each one `advance_many` call in this process (one transaction a claim):

- accept: confirmed → village_accepted by the village operator, with the version read first
  (decide, compare-and-set on claim and part, the check deadline counted in working days, the
  step row, the hash-chained audit record);
- stale: accept again with the old version: every request refused as a conflict (what a
  losing racer costs);
- check: village_accepted → township_checked by the township checker (the part moves on its
  own from here: one deadline row per part).

Prints claims/s for each, and checks that every claim moved once per batch.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from common import REPO, machine  # type: ignore[import-not-found]

from matcher.profiles.parse import parse_household
from rules.catalogue import load_catalogue
from rules.workflow import Actor
from store.claims.errors import ClaimError
from store.claims.steps import StepDone, StepRequest, advance_many
from store.db import open_engine, read_session, write_session
from store.ingest.profiles import upsert_households
from store.sweep.run import begin_sweep, run_sweep
from store.tables.claims import Claim, ClaimPart
from store.testing import PostgresServer, find_pg_bin, fresh_postgres, fresh_sqlite
from synth.demo import VILLAGE, demo_village

ROOT = REPO / "policies"
ON = date(2025, 3, 1)
STEP_ON = date(2025, 3, 3)
_CLAIM: Any = Claim.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_PART: Any = ClaimPart.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
VILLAGER = Actor("李村干", "village", VILLAGE, None)
CHECKER = Actor("张乡审", "township", VILLAGE[:9], None)


def _seed(engine: Any, n: int) -> list[int]:
    """One demo household swept (the catalogue published), then `n` confirmed claims."""
    from sqlalchemy import insert, select, text

    catalogue = load_catalogue(ROOT)
    (_, raw), *_ = demo_village(1, ON)
    with write_session(engine) as s:
        upsert_households(session=s, households=[(parse_household(raw, catalogue.facts, today=ON),
                                                   "bench")])  # fmt: skip
    start = begin_sweep(engine=engine, catalogue=catalogue, root=ROOT, on=ON, region=None)
    run_sweep(engine=engine, start=start, catalogue=catalogue)
    with write_session(engine) as s:
        version_id = s.execute(text("SELECT MAX(id) FROM catalogue_version")).scalar()
        subject = s.execute(text("SELECT MIN(id) FROM household")).scalar()
        s.execute(insert(_CLAIM), [
            {"kind": "claim", "subject_kind": "household", "subject_id": subject,
             "subject_key": f"{VILLAGE}0001", "region": VILLAGE, "bundle_id": None,
             "title": "城乡最低生活保障金", "state": "confirmed", "version": 1,
             "entered_on": STEP_ON, "eligible_on": ON, "origin": f"bench:{i}", "form": {},
             "materials": [], "catalogue_version_id": version_id}
            for i in range(n)
        ])  # fmt: skip
        query = select(_CLAIM.c.id).where(_CLAIM.c.origin.like("bench:%")).order_by(_CLAIM.c.id)
        ids = [r.id for r in s.execute(query)]
        s.execute(insert(_PART), [
            {"claim_id": i, "department": "县民政局", "state": "confirmed", "version": 1,
             "entered_on": STEP_ON, "sections": [{"policy_id": "household.dibao.allowance"}]}
            for i in ids
        ])  # fmt: skip
    return ids


def _batch(engine: Any, ids: list[int], to: str, who: Actor, version: int | None) -> dict[str, Any]:
    requests = [
        StepRequest(claim_id=i, to_state=to, actor=who, person=who.user, on=STEP_ON,
                    version=version)
        for i in ids
    ]  # fmt: skip
    began = time.perf_counter()
    results = advance_many(engine, requests, root=ROOT)
    took = time.perf_counter() - began
    done = sum(isinstance(r, StepDone) for r in results)
    why: dict[str, int] = {}
    for r in results:
        if isinstance(r, ClaimError):
            why[r.why] = why.get(r.why, 0) + 1
    return {"claims": len(ids), "seconds": round(took, 2), "per_s": round(len(ids) / took),
            "done": done, "refused": why}  # fmt: skip


def measure(engine: Any, n: int) -> dict[str, Any]:
    """The three batches on one database."""
    from sqlalchemy import text

    ids = _seed(engine, n)
    out = {
        "accept": _batch(engine, ids, "village_accepted", VILLAGER, 1),
        "stale": _batch(engine, ids, "village_accepted", VILLAGER, 1),
        "check": _batch(engine, ids, "township_checked", CHECKER, None),
    }
    with read_session(engine) as s:
        moved = s.execute(text("SELECT COUNT(*) FROM claim WHERE state = 'township_checked' "
                               "AND version = 3")).scalar()  # fmt: skip
    assert out["accept"]["done"] == out["check"]["done"] == moved == n, (out, moved)
    assert out["stale"]["refused"] == {"conflict": n}, out["stale"]
    return out


def _show(db: str, figures: dict[str, Any]) -> None:
    for name, f in figures.items():
        print(
            f"{db:10} {name:6} {f['claims']:>6} claims  {f['seconds']:>7.2f} s  "
            f"{f['per_s']:>6} claims/s  done {f['done']}  refused {f['refused']}",
            flush=True,
        )


def main() -> None:
    """Parse the options, run each database, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=2_000)
    parser.add_argument("--database-url", default=os.environ.get("ZHIDA_BENCH_PG_URL"),
                        help="a PostgreSQL server where databases may be created")  # fmt: skip
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    print(machine(), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        engine = fresh_sqlite(Path(tmp) / "claims.db")
        _show("sqlite", measure(engine, args.claims))
        engine.dispose()
    if args.no_postgres:
        return
    server, url = None, args.database_url
    if url is None and (bin_dir := find_pg_bin()) is not None:
        server = PostgresServer(bin_dir).start()
        url = server.url
    try:
        if url is not None:
            engine = open_engine(fresh_postgres(url, f"zhida_bench_claims_{os.getpid()}"))
            _show("postgresql", measure(engine, args.claims))
            engine.dispose()
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
