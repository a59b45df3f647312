"""The audit chain names the first tampered record, on SQLite and PostgreSQL (RELIABILITY D6).

Tampering goes around the append-only triggers as an attacker with database access would (SQLite:
DROP TRIGGER; PostgreSQL: DISABLE TRIGGER USER); the chain still catches it. Each case runs
inside one transaction that is rolled back, so the hypothesis test reuses one filled log.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlmodel import Session
from typer.testing import CliRunner

from cli import app
from store.audit.log import (
    AuditEntry,
    VerifyReport,
    _record_hash,
    append_many,
    current_head,
    inputs_hash,
    verify,
)
from store.db import read_session, write_session
from store.tables.audit import AuditRecord

RECORDS = 40
K = 17  # the record tampered with
TEXT_FIELDS = ("at", "actor", "action", "subject", "catalogue_hash", "inputs_hash", "details")
CHAIN_FIELDS = ("prev_hash", "hash")
audit = AuditRecord.__table__  # type: ignore[attr-defined]


def _entries(n: int, start: int = 0) -> list[AuditEntry]:
    return [
        AuditEntry(
            actor=f"operator{i % 5}",
            action=("import", "sweep.start", "entitlement.change")[i % 3],
            subject=f"household:{i}",
            catalogue_hash=inputs_hash({"catalogue": i // 10}),
            inputs_hash=inputs_hash({"row": i}),
            details={"amount": i * 1.5, "note": "低保 · 𠀀"},
        )
        for i in range(start, start + n)
    ]


def _fill(engine: Engine, n: int = RECORDS) -> str:
    with write_session(engine) as session:
        return append_many(session=session, entries=_entries(n))


@contextmanager
def _tampering(engine: Engine) -> Iterator[Connection]:
    """A connection past the triggers, in a transaction rolled back at the end."""
    with engine.connect() as conn:
        transaction = conn.begin()
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit DISABLE TRIGGER USER")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_no_delete")
        try:
            yield conn
        finally:
            transaction.rollback()


def _verify(conn: Connection, head: str | None = None) -> VerifyReport:
    with Session(bind=conn) as session:
        return verify(session=session, head=head)


def _set(field: str, value: Any) -> Callable[[Connection, int], None]:
    def tamper(conn: Connection, k: int) -> None:
        conn.execute(update(audit).where(audit.c.seq == k).values({field: value}))

    return tamper


def _delete(conn: Connection, k: int) -> None:
    conn.execute(delete(audit).where(audit.c.seq == k))


def _truncate_after(conn: Connection, k: int) -> None:
    conn.execute(delete(audit).where(audit.c.seq > k))


def _swap(conn: Connection, k: int) -> None:
    """Records k and k+2 exchange everything but their seq."""
    a, b = (
        dict(conn.execute(select(audit).where(audit.c.seq == s)).mappings().one())
        for s in (k, k + 2)
    )
    conn.execute(delete(audit).where(audit.c.seq.in_([k, k + 2])))
    conn.execute(insert(audit), [{**b, "seq": k}, {**a, "seq": k + 2}])


def _rehash(conn: Connection, k: int) -> None:
    """Alter record k's actor and recompute its own hash, as a careful attacker would."""
    row = dict(conn.execute(select(audit).where(audit.c.seq == k)).mappings().one())
    row["actor"] = "mallory"
    values = {"actor": "mallory", "hash": _record_hash(row)}
    conn.execute(update(audit).where(audit.c.seq == k).values(values))


TAMPERINGS = [
    pytest.param(_set("actor", "mallory"), 0, id="an altered actor"),
    pytest.param(_set("details", '{"amount":9999.0}'), 0, id="altered details"),
    pytest.param(_set("at", "2020-01-01T00:00:00.000000+00:00"), 0, id="an altered time"),
    pytest.param(_set("catalogue_hash", "f" * 64), 0, id="a changed rule version"),
    pytest.param(_delete, 0, id="a deleted record"),
    pytest.param(_swap, 0, id="two records swapped"),
    pytest.param(_rehash, 1, id="an altered record with its own hash recomputed"),
    pytest.param(_truncate_after, 1, id="a truncated tail against the exported head"),
]


@pytest.mark.parametrize(("tamper", "offset"), TAMPERINGS)
def test_verify_names_the_first_tampered_record(
    engine: Engine, tamper: Callable[[Connection, int], None], offset: int
) -> None:
    """Each kind of tampering is reported at exactly the first record it breaks."""
    exported = _fill(engine)
    with _tampering(engine) as conn:
        tamper(conn, K)
        report = _verify(conn, head=exported)
    assert (report.ok, report.first_bad, report.checked) == (False, K + offset, K - 1 + offset)
    assert report.reason


def test_a_truncated_tail_passes_without_the_exported_head(engine: Engine) -> None:
    """Without an exported head a shortened log looks intact: the reason to export it daily."""
    _fill(engine)
    with _tampering(engine) as conn:
        _truncate_after(conn, K)
        assert (_verify(conn).ok, _verify(conn).head_seq) == (True, K)


def test_a_rewritten_chain_is_caught_against_the_exported_head(engine: Engine) -> None:
    """A log rewritten from record k with every hash recomputed no longer holds the old head."""
    exported = _fill(engine)
    with _tampering(engine) as conn:
        _truncate_after(conn, K - 1)
        with Session(bind=conn) as session:
            append_many(session=session, entries=_entries(RECORDS - K + 1, start=K - 1))
        assert _verify(conn).ok
        report = _verify(conn, head=exported)
    assert (report.ok, report.first_bad) == (False, RECORDS + 1)
    assert "rewritten" in report.reason


def test_an_intact_chain_of_thousands_of_records_verifies(engine: Engine) -> None:
    """3,000 records appended in 30 transactions verify, and the head is the last appended."""
    for start in range(0, 3000, 100):
        with write_session(engine) as session:
            last = append_many(session=session, entries=_entries(100, start))
    with read_session(engine) as session:
        report = verify(session=session, head=last, batch=500)
        assert current_head(session=session) == (3000, last)
    assert (report.ok, report.checked, report.head_seq, report.head_hash) == (
        True,
        3000,
        3000,
        last,
    )


def test_audit_text_is_stored_with_every_id_shape_masked(engine: Engine) -> None:
    """Actor, subject and details holding a mistyped ID (text, key or int) are stored masked."""
    wrong = "520602198001010011"  # the check digit is 0: what an import refuses, then audits
    entry = AuditEntry(
        actor=wrong,
        action="import",
        subject=f"file:{wrong}.csv",
        inputs_hash=inputs_hash({"row": 1}),
        details={"refused": [wrong, "6222020200012345678"], wrong: 1, "as_int": int(wrong),
                 "household": "5206020012010001", "rows": 3},
    )  # fmt: skip
    with write_session(engine) as session:
        head = append_many(session=session, entries=[entry])
    with read_session(engine) as session:
        fields = (AuditRecord.actor, AuditRecord.subject, AuditRecord.details)
        row = session.execute(select(*fields, AuditRecord.inputs_hash)).one()
        assert verify(session=session, head=head).ok
    assert (row.actor, row.subject) == ("520***********0011", "file:520***********0011.csv")
    assert json.loads(row.details) == {
        "refused": ["520***********0011", "622************5678"],
        "520***********0011": 1,
        "as_int": "520***********0011",
        "household": "5206020012010001",
        "rows": 3,
    }
    assert row.inputs_hash == inputs_hash({"row": 1})


def test_the_cli_names_the_broken_record_and_exits_1(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`audit verify` prints the head when intact, and `seq N: reason` with exit 1 when not."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    exported = _fill(engine)
    runner = CliRunner()
    head = runner.invoke(app, ["audit", "head"])
    intact = runner.invoke(app, ["audit", "verify", "--head", exported])
    assert (head.exit_code, intact.exit_code) == (0, 0)
    assert f"head seq {RECORDS} hash {exported}" in head.output
    assert f"核验 {RECORDS} 条记录" in intact.output and exported in intact.output
    with engine.begin() as conn:  # committed this time: the CLI reads through its own engine
        conn.exec_driver_sql(
            "ALTER TABLE audit DISABLE TRIGGER USER"
            if conn.dialect.name == "postgresql"
            else "DROP TRIGGER audit_no_update"
        )
        _set("actor", "mallory")(conn, K)
    broken = runner.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1
    assert f"seq {K}：its content does not match its hash" in broken.output


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    k=st.integers(1, RECORDS),
    field=st.sampled_from(TEXT_FIELDS + CHAIN_FIELDS + ("seq",)),
    text=st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\0"), max_size=30),
    jump=st.integers(1, 10_000),
)
def test_any_single_altered_field_is_caught_at_its_record(
    engine: Engine, k: int, field: str, text: str, jump: int
) -> None:
    """Whatever field of whichever record changes, verify names that record."""
    with read_session(engine) as session:
        if current_head(session=session)[0] == 0:
            _fill(engine)
    with _tampering(engine) as conn:
        old = conn.execute(select(audit.c[field]).where(audit.c.seq == k)).scalar_one()
        new = RECORDS + jump if field == "seq" else text
        if new == old:
            new = f"{old}x"
        _set(field, new)(conn, k)
        report = _verify(conn)
    assert (report.ok, report.first_bad) == (False, k)
