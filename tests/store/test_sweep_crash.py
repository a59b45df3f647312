"""The crash test (RELIABILITY J3): a sweep SIGKILLed at random points, restarted until done,
ends exactly as an uninterrupted sweep of a copy of the same database, on SQLite and PostgreSQL.

20,000 households and 2,000 enterprises (22 chunks of 1,000; it was 80,000 in chunks of 4,000,
then 40,000 in chunks of 2,000) are seeded once per session through the import path
(`store.seeding`: `upsert_households`) into a SQLite template; PostgreSQL gets the template by
`COPY`, then each run copies a template (`cp` on SQLite, `CREATE DATABASE … TEMPLATE` on
PostgreSQL). The clean sweep runs in a second process while the crashed one is killed.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, text

from matcher.profiles.parse import parse_enterprise, parse_household
from rules.catalogue import load_catalogue
from store.audit.log import verify
from store.db import open_engine, read_session
from store.ingest.documents import document, enterprise_document
from store.seeding import (
    copy_database,
    seed_enterprises,
    seed_households,
    synthetic_enterprises,
    synthetic_households,
)
from store.testing import fresh_postgres, fresh_sqlite
from synth.enterprises import Enterprises, generate_enterprises
from synth.households import Population, generate_households, raw_households

# 22 chunks, so that the kills land mid-run and mid-chunk, each at a different chunk. What the
# test proves (resume from the checkpoint, nothing twice, nothing lost) depends on the number of
# chunks, not on their size: halving both households and chunk size (and the kill pause, which
# spans about one chunk) keeps it and halves the sweeps' and the seeding's time.
HOUSEHOLDS, ENTERPRISES, CHUNK = 20_000, 2_000, 1_000
PAUSE = 0.4  # s: at most about one chunk's sweep
ON = date(2025, 3, 1)
ZHIDA = Path(sys.executable).parent / "zhida"
_PG_TEMPLATE = "crash_template"


def test_seeded_households_are_stored_as_the_import_path_would_store_them() -> None:
    """`synthetic_households` gives the documents `parse_household` gives, so the seed is honest."""
    pop = Population(households=400, seed=3, as_of=ON, chunk_size=400)
    facts = load_catalogue(Path(__file__).parents[2] / "policies").facts
    for chunk in generate_households(pop):
        fast = [document(h) for h in synthetic_households(chunk)]
        slow = [document(parse_household(r, facts, today=ON)) for r in raw_households(chunk)]
        assert fast == slow and len(fast) == 400
    cols = generate_enterprises(Enterprises(100, seed=3, as_of=ON))
    fast_firms = [enterprise_document(e) for e in synthetic_enterprises(cols)]
    assert fast_firms == [enterprise_document(parse_enterprise(r, facts)) for r in cols.rows()]


@pytest.fixture(scope="session")
def crash_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file holding the seeded households and enterprises (built once a session)."""
    path = tmp_path_factory.mktemp("crash") / "template.db"
    engine = fresh_sqlite(path)
    pop = Population(households=HOUSEHOLDS, seed=3, as_of=ON, chunk_size=50_000)
    assert seed_households(engine=engine, chunks=generate_households(pop)) == HOUSEHOLDS
    cols = generate_enterprises(Enterprises(ENTERPRISES, seed=3, as_of=ON))
    assert seed_enterprises(engine=engine, cols=cols) == ENTERPRISES
    engine.dispose()  # the last connection checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def crash_postgres_template(postgres_server_url: str, crash_sqlite_template: Path) -> str:
    """A PostgreSQL database holding a copy of the SQLite template (built once a session)."""
    target = open_engine(fresh_postgres(postgres_server_url, _PG_TEMPLATE))
    source = open_engine(f"sqlite:///{crash_sqlite_template}")
    try:
        copied = copy_database(source=source, target=target)
    finally:
        source.dispose()
        target.dispose()
    assert (copied["household"], copied["enterprise"]) == (HOUSEHOLDS, ENTERPRISES)
    return _PG_TEMPLATE


def _copy(kind: str, name: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new database holding the seeded template; returns its URL."""
    if kind == "sqlite":
        path = tmp_path / f"{name}.db"
        shutil.copyfile(request.getfixturevalue("crash_sqlite_template"), path)
        return f"sqlite:///{path}"
    template = request.getfixturevalue("crash_postgres_template")
    server = request.getfixturevalue("postgres_server_url")
    admin = open_engine(server, isolation_level="AUTOCOMMIT")
    db = f"crash_{name}_{os.getpid()}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db}"')
        conn.exec_driver_sql(f'CREATE DATABASE "{db}" TEMPLATE "{template}"')
    admin.dispose()
    return server.rsplit("/", 1)[0] + "/" + db


def _sweep(url: str, tmp_path: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    # Compiled modules cached under tmp_path: each restart would otherwise recompile every one.
    env |= {"DATABASE_URL": url, "PYTHONPYCACHEPREFIX": str(tmp_path / "pycache")}
    env["PYTHONUNBUFFERED"] = "1"  # a killed sweep's last words are in the pipe, not a buffer
    command = [str(ZHIDA), "sweep", "--on", ON.isoformat(), "--chunk-size", str(CHUNK)]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _scalar(engine: Engine, sql: str) -> Any:
    with read_session(engine) as session:
        return session.execute(text(sql)).scalar()


def _kill_after(
    engine: Engine, url: str, tmp_path: Path, target: int, pause: float
) -> tuple[str, bool]:
    """Start a sweep and SIGKILL it once its household checkpoint reaches `target`, after a
    random pause (so the kill lands anywhere in the next chunk); returns what it printed and
    whether it was killed (a sweep that finished first is let be: the caller restarts)."""
    process = _sweep(url, tmp_path)
    while process.poll() is None:
        if (_scalar(engine, "SELECT MAX(last_household_id) FROM sweep_run") or 0) >= target:
            time.sleep(random.uniform(0, pause))
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    said, _ = process.communicate(timeout=600)
    assert process.returncode in (0, -signal.SIGKILL), said
    return said, process.returncode == -signal.SIGKILL


def _json(value: Any) -> str:
    if isinstance(value, str):
        value = orjson.loads(value)
    if isinstance(value, dict) and isinstance(value.get("claim"), dict):
        # a notice names its claim by id: a surrogate, like the outbox's own id (PostgreSQL
        # sequences skip the ids a killed chunk took), so the claim is compared by its row
        value = {**value, "claim": {k: v for k, v in value["claim"].items() if k != "id"}}
    if isinstance(value, list):  # a part's sections name their change by id: a surrogate too
        value = [
            {k: v for k, v in x.items() if k != "change_id"} if isinstance(x, dict) else x
            for x in value
        ]
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


_QUERIES = {
    "entitlement": "SELECT subject_kind, subject_id, policy_id, valid_from, valid_to, "
    "catalogue_version_id, rule_hash, status, amount, conditions, missing, dropped_for, "
    "inputs_hash, sweep_run_id FROM entitlement",
    "entitlement_change": "SELECT subject_kind, subject_id, policy_id, catalogue_version_id, "
    "on_date, kind, before_status, after_status, before_amount, after_amount, sweep_run_id "
    "FROM entitlement_change",
    "outbox": "SELECT o.dedup_key, o.payload, o.kind, o.state, o.subject_kind, o.subject_id, "
    "o.policy_id, c.subject_id, c.policy_id, c.kind FROM outbox o "
    "JOIN entitlement_change c ON c.id = o.change_id",
    "audit": "SELECT action, subject, catalogue_hash, inputs_hash, details FROM audit "
    "WHERE action IN ('entitlement.change', 'sweep.start', 'sweep.done')",
    "sweep_run": "SELECT id, catalogue_version_id, on_date, region_prefix, state, "
    "last_household_id, last_enterprise_id, counts, reason FROM sweep_run",
    # the claims the sweep opened (ids and origins — which name change ids — left out)
    "claim": "SELECT c.kind, c.subject_kind, c.subject_id, c.bundle_id, c.title, c.state, "
    "c.version, c.form, c.materials, p.department, p.state, p.sections FROM claim c "
    "JOIN claim_part p ON p.claim_id = c.id",
}
_JSON = {("entitlement", 10), ("outbox", 1), ("audit", 4), ("sweep_run", 7), ("claim", 7),
         ("claim", 8), ("claim", 11)}  # fmt: skip


def _snapshot(engine: Engine) -> dict[str, Counter[tuple[Any, ...]]]:
    """Every table the sweep writes, as a multiset of rows (ids and timestamps left out)."""
    out = {}
    with read_session(engine) as session:
        for table, sql in _QUERIES.items():
            rows = Counter()
            for row in session.execute(text(sql)):
                values = [
                    _json(v) if (table, i) in _JSON else (float(v) if hasattr(v, "as_tuple") else v)
                    for i, v in enumerate(row)
                ]
                rows[tuple(values)] += 1
            out[table] = rows
    return out


@pytest.fixture
def crash_urls(
    database_kind: str, database_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, str]]:
    """Two copies of the seeded template: one swept cleanly, one swept with kills."""
    del database_url  # only there to run this test on each database
    yield (
        _copy(database_kind, "clean", request, tmp_path),
        _copy(database_kind, "killed", request, tmp_path),
    )


def test_a_sweep_killed_at_random_points_ends_as_a_clean_one(
    crash_urls: tuple[str, str], tmp_path: Path
) -> None:
    """SIGKILLs at three random points of the households and one at the enterprise phase, then
    restarts until done, give the clean run's entitlement intervals, changes, outbox rows, audit
    records and run counts, none twice."""
    clean_url, killed_url = crash_urls
    clean = _sweep(clean_url, tmp_path)  # the reference, swept alongside on the other core
    killed = open_engine(killed_url)
    last = _scalar(killed, "SELECT MAX(id) FROM household")
    rng = random.Random(20250301)
    targets = [int(last * rng.uniform(lo, lo + 0.2)) for lo in (0.1, 0.4, 0.7)]
    said, checkpoints = [], []
    for target in targets:
        words, was_killed = _kill_after(killed, killed_url, tmp_path, target, pause=PAUSE)
        assert was_killed, f"the sweep finished before its kill at household {target}"
        said.append(words)
        checkpoints.append(_scalar(killed, "SELECT last_household_id FROM sweep_run"))
    said.append(_kill_after(killed, killed_url, tmp_path, last, pause=0.05)[0])
    while _scalar(killed, "SELECT state FROM sweep_run WHERE id = 1") != "done":
        final = _sweep(killed_url, tmp_path)
        said.append(final.communicate(timeout=600)[0])
        assert final.returncode == 0, said[-1]
    clean_said, _ = clean.communicate(timeout=600)
    assert clean.returncode == 0, clean_said
    assert checkpoints == sorted(checkpoints) and 0 < checkpoints[0] <= checkpoints[-1] < last
    assert _scalar(killed, "SELECT COUNT(*) FROM sweep_run") == 1
    assert all("续跑普查 1：从户 id " in s for s in said[1:]), said
    reference, after_kills = _snapshot(open_engine(clean_url)), _snapshot(killed)
    for table, rows in reference.items():
        assert after_kills[table] == rows, table
        assert max(rows.values()) == 1, f"{table} holds a row twice"
    changes = sum(reference["entitlement_change"].values())
    assert sum(reference["outbox"].values()) == changes > HOUSEHOLDS // 10
    assert all(row[4] is None for row in reference["entitlement"])  # a first sweep opens only
    with read_session(killed) as session:
        assert verify(session=session).ok
    [run] = reference["sweep_run"]
    assert run[4] == "done" and orjson.loads(run[7])["households"] == HOUSEHOLDS
    killed.dispose()
