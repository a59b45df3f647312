"""Migration 0002 on a database populated under 0001: every stored row lands in the new shape."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from store.audit.catalogues import catalogue_files
from store.db import migrate, open_engine, read_session, write_session
from store.sweep.history import entitlement_history, rule_hash
from store.tables.types import JSONType, UTCDateTime

ROOT = Path(__file__).parents[2] / "policies"
LONGEVITY = "household/elderly/longevity.yaml"
_counter = itertools.count()
D1, D2, D3, D4 = (date(2025, 3, d) for d in (1, 2, 3, 4))


@pytest.fixture
def old_engine(
    database_kind: str, database_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Engine]:
    """An empty database of `database_kind` migrated to 0001 only."""
    del database_url  # only there to run this test on each database
    if database_kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        server = request.getfixturevalue("postgres_server_url")
        name = f"m0001_{os.getpid()}_{next(_counter)}"
        admin = open_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        admin.dispose()
        url = server.rsplit("/", 1)[0] + "/" + name
    engine = open_engine(url)
    migrate(engine, "0001")
    yield engine
    engine.dispose()


def _table(name: str, *columns: str, **typed: Any) -> sa.TableClause:
    return sa.table(
        name, *(sa.column(c) for c in columns), *(sa.column(c, t) for c, t in typed.items())
    )


_DAY, _AT, _MONEY = sa.Date(), UTCDateTime, sa.Numeric(14, 2)
_VERSION = _table("catalogue_version", "id", "content_hash", "published_by",
                  published_at=_AT, policy_ids=JSONType, files=JSONType)  # fmt: skip
_RUN = _table("sweep_run", "id", "catalogue_version_id", "region_prefix", "state",
              "last_household_id", "last_enterprise_id", "actor", on_date=_DAY, started_at=_AT,
              counts=JSONType)  # fmt: skip
_ROW = _table("entitlement", "subject_kind", "subject_id", "policy_id", "catalogue_version_id",
              "status", "conditions", "dropped_for", "sweep_run_id", on_date=_DAY,
              amount=_MONEY, missing=JSONType)  # fmt: skip
_CURRENT = _table("entitlement_current", "subject_kind", "subject_id", "policy_id", "status",
                  "catalogue_version_id", on_date=_DAY, amount=_MONEY)  # fmt: skip
_CHANGE = _table("entitlement_change", "id", "subject_kind", "subject_id", "policy_id",
                 "catalogue_version_id", "kind", "before_status", "after_status",
                 "sweep_run_id", on_date=_DAY, at=_AT)  # fmt: skip
_OUTBOX = _table("outbox", "id", "dedup_key", "change_id", "subject_kind", "subject_id",
                 "policy_id", "kind", "state", "attempts", created_at=_AT,
                 payload=JSONType)  # fmt: skip
_IMPORT = _table("import_run", "kind", "file_name", "file_sha256", "state", "last_row", "actor",
                 started_at=_AT, counts=JSONType)  # fmt: skip

# (policy, version, date, run, status, amount, missing) as 0001 stored them for household 7:
# a copy per swept date, and an ineligible row where an entitlement ended.
_OLD_ROWS = [
    ("household.dibao.electricity", 1, D1, 1, "eligible", "8.40", []),
    ("household.dibao.electricity", 1, D2, 2, "eligible", "8.40", []),
    ("household.dibao.electricity", 2, D3, 3, "eligible", "8.40", []),  # its file is unchanged
    ("household.elderly.longevity", 1, D1, 1, "eligible", "50.00", []),
    ("household.elderly.longevity", 1, D2, 2, "eligible", "50.00", []),
    ("household.elderly.longevity", 2, D3, 3, "eligible", "50.00", []),  # its file was edited
    ("household.dibao.water", 1, D1, 1, "eligible", "5.00", []),
    ("household.dibao.water", 1, D2, 2, "ineligible", None, []),
    ("household.dibao.water", 2, D4, 4, "eligible", "5.00", []),
    ("household.dibao.cable_tv", 1, D1, 1, "undetermined", None, ["dibao_status"]),
    ("household.dibao.cable_tv", 1, D2, 2, "undetermined", None, ["local_hukou"]),
]


def _populate(engine: Engine) -> dict[int, dict[str, str]]:
    """Two catalogue versions (v2 edits one policy file), four runs, the rows above, their
    current state, two changes with their notices, and a running import; returns the files."""
    files = catalogue_files(ROOT)
    edited = {**files, LONGEVITY: files[LONGEVITY] + "# reviewed\n"}
    now = datetime(2025, 3, 4, tzinfo=UTC)
    with write_session(engine) as s:
        for vid, f in ((1, files), (2, edited)):
            s.execute(sa.insert(_VERSION).values(id=vid, content_hash=f"v{vid}", files=f,
                      policy_ids=[], published_by="t", published_at=now))  # fmt: skip
        for rid, (vid, day) in enumerate([(1, D1), (1, D2), (2, D3), (2, D4)], start=1):
            s.execute(sa.insert(_RUN).values(id=rid, catalogue_version_id=vid, on_date=day,
                      region_prefix="", state="running" if rid == 4 else "done",
                      last_household_id=0, last_enterprise_id=0, actor="t", started_at=now,
                      counts={}))  # fmt: skip
        for pid, vid, day, rid, status, text, missing in _OLD_ROWS:
            amount = None if text is None else Decimal(text)
            s.execute(sa.insert(_ROW).values(subject_kind="household", subject_id=7,
                      policy_id=pid, catalogue_version_id=vid, on_date=day, status=status,
                      conditions="T", dropped_for=None, sweep_run_id=rid, amount=amount,
                      missing=missing))  # fmt: skip
            s.execute(sa.delete(_CURRENT).where(sa.column("policy_id") == pid))
            if status != "ineligible":  # 0001's current state: the latest non-ineligible row
                s.execute(sa.insert(_CURRENT).values(subject_kind="household", subject_id=7,
                          policy_id=pid, status=status, catalogue_version_id=vid,
                          on_date=day, amount=amount))  # fmt: skip
        for cid, (kind, day, rid) in enumerate([("no_longer_eligible", D2, 2),
                                                ("newly_eligible", D4, 4)], start=1):  # fmt: skip
            s.execute(sa.insert(_CHANGE).values(id=cid, subject_kind="household", subject_id=7,
                      policy_id="household.dibao.water", catalogue_version_id=1, on_date=day,
                      kind=kind, before_status="x", after_status="y", sweep_run_id=rid,
                      at=now))  # fmt: skip
            s.execute(sa.insert(_OUTBOX).values(id=cid, dedup_key=f"k{cid}", change_id=cid,
                      subject_kind="household", subject_id=7, policy_id="household.dibao.water",
                      kind=kind, state="pending", attempts=0, created_at=now,
                      payload={}))  # fmt: skip
        s.execute(sa.insert(_IMPORT).values(kind="households", file_name="h.csv",
                  file_sha256="a" * 64, state="running", last_row=9, actor="t",
                  started_at=now, counts={}))  # fmt: skip
    return {1: files, 2: edited}


def test_0002_folds_daily_rows_into_intervals_and_keeps_every_other_row(
    old_engine: Engine,
) -> None:
    """Rows copied per date become one interval per result, cut where the result or the
    policy's file changed; changes, notices and runs survive; the change key takes the run."""
    files = _populate(old_engine)
    migrate(old_engine)
    with read_session(old_engine) as session:
        history = entitlement_history(session=session, subject_kind="household", subject_id=7)
        tables = set(sa.inspect(session.connection()).get_table_names())
        outbox = session.execute(sa.text("SELECT id, change_id FROM outbox ORDER BY id")).all()
        runs = session.execute(sa.text("SELECT reason FROM sweep_run")).scalars().all()
        imports = session.execute(sa.text("SELECT on_date, reason, state FROM import_run")).all()
    got = [
        (h.policy_id.rsplit(".", 1)[1], h.valid_from, h.valid_to, h.catalogue_version_id,
         h.status, h.amount, h.missing, h.sweep_run_id, h.inputs_hash)
        for h in history
    ]  # fmt: skip
    assert got == [
        ("cable_tv", D1, D2, 1, "undetermined", None, ["dibao_status"], 1, None),
        ("cable_tv", D2, None, 1, "undetermined", None, ["local_hukou"], 2, None),
        ("electricity", D1, None, 1, "eligible", Decimal("8.40"), [], 1, None),
        ("water", D1, D2, 1, "eligible", Decimal("5.00"), [], 1, None),
        ("water", D2, D4, 1, "ineligible", None, [], 2, None),
        ("water", D4, None, 2, "eligible", Decimal("5.00"), [], 4, None),
        ("longevity", D1, D3, 1, "eligible", Decimal("50.00"), [], 1, None),
        ("longevity", D3, None, 2, "eligible", Decimal("50.00"), [], 3, None),
    ]
    by_version = {
        h.catalogue_version_id: h.rule_hash for h in history if "longevity" in h.policy_id
    }
    assert by_version == {v: rule_hash(f[LONGEVITY]) for v, f in files.items()}
    assert "entitlement_current" not in tables and "entitlement_0001" not in tables
    assert [tuple(o) for o in outbox] == [(1, 1), (2, 2)]
    assert runs == [None] * 4 and [tuple(i) for i in imports] == [(None, None, "running")]
    with write_session(old_engine) as s:  # the same transition again, in another run: kept
        s.execute(sa.insert(_CHANGE).values(id=3, subject_kind="household", subject_id=7,
                  policy_id="household.dibao.water", catalogue_version_id=1, on_date=D2,
                  kind="no_longer_eligible", before_status="x", after_status="y",
                  sweep_run_id=3, at=datetime(2025, 3, 4, tzinfo=UTC)))  # fmt: skip
