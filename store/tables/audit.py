"""The audit log: append-only (UPDATE and DELETE refused by triggers), hash-chained.

`hash = SHA256(prev_hash ‖ canonical JSON of the record)` where the record is every column but
`hash` itself (`store.audit.log.canonical`). `at` is kept as ISO text, so the bytes hashed are the
bytes stored on SQLite and PostgreSQL alike. No ID number is ever written here: subjects are
surrogate ids (`household:12`) and inputs are hashes.
"""

from __future__ import annotations

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

__all__ = ["AuditRecord"]


class AuditRecord(SQLModel, table=True):
    """One audited action: who, when, what, on which subject, under which rules, from what."""

    __tablename__ = "audit"

    seq: int | None = Field(default=None, primary_key=True)
    at: str = Field(max_length=40)  # ISO 8601, UTC
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64)  # import, sweep.start, entitlement.change, …
    subject: str = Field(default="", max_length=120)
    catalogue_hash: str = Field(default="", max_length=64)
    inputs_hash: str = Field(default="", max_length=64)
    details: str = Field(default="{}", sa_type=Text)  # canonical JSON, hashed as stored
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)
