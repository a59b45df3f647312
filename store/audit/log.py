"""The audit log: appending hash-chained records, and verifying the chain (RELIABILITY D6).

Every record carries who (`actor`), when (`at`, UTC), what (`action`), on what (`subject`: a
surrogate id such as `household:12`, never an ID number), under which rules (`catalogue_hash`)
and from what (`inputs_hash`: SHA-256 of the canonical inputs). Its text (actor, action,
subject, every string and key of `details`) is stored with everything ID-shaped masked
(`matcher.profiles.masking.mask_ids_in_text`, RELIABILITY P1): a file named after a person or a
refused number quoted in a detail never enters the log in full. Its `hash` is
`SHA256(prev_hash ‖ canonical_json(record))`, the record being every column but `hash`,
`seq` included, so an altered field, a deleted row and reordered rows all break the chain at
the first record concerned. Records are appended under a lock (BEGIN IMMEDIATE on SQLite, a
table lock on PostgreSQL), with `seq` = last + 1, so the chain has no gaps.

    append(session=s, entry=AuditEntry(actor="cli", action="import", subject="file:…"))
    report = verify(session=s)      # report.first_bad names the first broken record
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import insert, select
from sqlmodel import Session, col

from matcher.profiles.masking import mask_ids_in_data, mask_ids_in_text
from store.bulk import execute_many
from store.tables.audit import AuditRecord

__all__ = [
    "GENESIS",
    "AuditEntry",
    "VerifyReport",
    "append",
    "append_many",
    "canonical",
    "current_head",
    "inputs_hash",
    "verify",
]

GENESIS = "0" * 64  # the prev_hash of the first record
_AUDIT = AuditRecord.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__
_FIELDS = (
    "seq",
    "at",
    "actor",
    "action",
    "subject",
    "catalogue_hash",
    "inputs_hash",
    "details",
    "prev_hash",
)


def canonical(value: Any) -> bytes:
    """Canonical JSON bytes: sorted keys, no spaces, UTF-8 (dates as ISO strings)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def inputs_hash(value: Any) -> str:
    """SHA-256 (hex) of a value's canonical JSON: what an audit record says it was computed from."""
    return hashlib.sha256(canonical(value)).hexdigest()


@dataclass(frozen=True)
class AuditEntry:
    """An action to audit (the chain fields are filled by `append`)."""

    actor: str
    action: str
    subject: str = ""
    catalogue_hash: str = ""
    inputs_hash: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)


def _record_hash(row: Mapping[str, Any]) -> str:
    body = canonical({k: row[k] for k in _FIELDS})
    return hashlib.sha256(row["prev_hash"].encode() + body).hexdigest()


def current_head(*, session: Session) -> tuple[int, str]:
    """The last record's (seq, hash), or (0, GENESIS) for an empty log (what is exported daily)."""
    last = session.execute(
        select(col(AuditRecord.seq), col(AuditRecord.hash))
        .order_by(col(AuditRecord.seq).desc())
        .limit(1)
    ).first()
    return (0, GENESIS) if last is None else (int(last[0]), str(last[1]))


def _head(session: Session) -> tuple[int, str]:
    """The last (seq, hash), with the log locked against other appenders until commit."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection().exec_driver_sql("LOCK TABLE audit IN SHARE ROW EXCLUSIVE MODE")
    return current_head(session=session)


def append_many(
    *, session: Session, entries: Sequence[AuditEntry], at: datetime | None = None
) -> str:
    """Append entries in order, chained to the current head; returns the new head hash.

    Runs inside the caller's transaction: the records commit (or roll back) with the work
    they describe.
    """
    if not entries:
        return _head(session)[1]
    seq, prev = _head(session)
    stamp = (at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds")
    rows: list[tuple[Any, ...]] = []
    for entry in entries:
        seq += 1
        row = {
            "seq": seq,
            "at": stamp,
            "actor": mask_ids_in_text(entry.actor),
            "action": mask_ids_in_text(entry.action),
            "subject": mask_ids_in_text(entry.subject),
            "catalogue_hash": entry.catalogue_hash,
            "inputs_hash": entry.inputs_hash,
            "details": canonical(mask_ids_in_data(dict(entry.details))).decode(),
            "prev_hash": prev,
        }
        prev = _record_hash(row)
        rows.append((*row.values(), prev))
    # Core's executemany (COPY on PostgreSQL for many), not the ORM's bulk insert: a sweep
    # chunk appends thousands, and the ORM's per-row parameter handling was most of their cost.
    execute_many(session=session, stmt=insert(_AUDIT), columns=(*_FIELDS, "hash"), rows=rows)
    return prev


def append(*, session: Session, entry: AuditEntry, at: datetime | None = None) -> str:
    """Append one entry (see `append_many`); returns its hash."""
    return append_many(session=session, entries=[entry], at=at)


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of `verify`: records checked, and the first broken one (None when intact)."""

    checked: int
    head_seq: int
    head_hash: str
    first_bad: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        """True when every record checks out."""
        return self.first_bad is None


def _rows(session: Session, batch: int) -> Iterable[Mapping[str, Any]]:
    """Every record in seq order, as dicts (Core rows: through the ORM, verify is ~25% slower)."""
    names = (*_FIELDS, "hash")
    query = select(*[getattr(AuditRecord, name) for name in names]).order_by(col(AuditRecord.seq))
    result = session.connection().execute(query.execution_options(yield_per=batch))
    for row in result:
        yield dict(zip(names, row, strict=True))


def verify(*, session: Session, head: str | None = None, batch: int = 10_000) -> VerifyReport:
    """Recompute the chain from the first record and name the first that does not check out.

    Args:
        session: a (read) session.
        head: an exported head hash; when given, a log that ends before it (a truncated tail)
            is reported too.
        batch: rows fetched at a time.

    Returns:
        The count checked, the head, and the first bad `seq` with the reason: the altered,
        moved or replaced record; for a deleted record, its (missing) seq; for a truncated
        tail, the seq after the last record left.
    """
    prev, expected_seq, checked, last_seq = GENESIS, 1, 0, 0
    seen_head = head is None
    for row in _rows(session, batch):
        seq = int(row["seq"])
        if seq != expected_seq:  # a deleted or renumbered record: name the first seq wrong
            bad = expected_seq if seq > expected_seq else seq
            return VerifyReport(checked, last_seq, prev, bad, _gap(seq, expected_seq))
        problem = ""
        if row["prev_hash"] != prev:
            problem = "its prev_hash is not the previous record's hash (reordered or replaced)"
        elif _record_hash(row) != row["hash"]:
            problem = "its content does not match its hash (a field was altered)"
        if problem:
            return VerifyReport(checked, last_seq, prev, seq, problem)
        prev, last_seq, expected_seq = row["hash"], seq, seq + 1
        checked += 1
        seen_head = seen_head or prev == head
    if not seen_head:
        reason = (
            f"the exported head {head} is not in the log: records after it were removed, "
            "or the chain was rewritten"
        )
        return VerifyReport(checked, last_seq, prev, last_seq + 1, reason)
    return VerifyReport(checked, last_seq, prev)


def _gap(seq: int, expected: int) -> str:
    if seq > expected:
        return f"record {expected} is missing (the next record is seq {seq})"
    return f"seq {seq} is out of sequence where seq {expected} was expected (renumbered)"
