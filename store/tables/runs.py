"""Runs of the long jobs, with their checkpoints: an import and a sweep resume where they stopped.

A checkpoint is updated in the same transaction as the chunk's outputs (RELIABILITY J3), so
after a crash it names exactly the last chunk that was stored. A run is `running`, `done`, or
`abandoned` (with its `reason`) when a new run started under another date, region, catalogue
or file version: an abandoned run is never resumed, and what it stored stays.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Field, SQLModel

from store.tables.types import JSONType, UTCDateTime, utcnow

__all__ = ["ImportRun", "SweepRun"]


class ImportRun(SQLModel, table=True):
    """One import of a profile file; `last_row` is the last sheet row committed."""

    __tablename__ = "import_run"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # households | enterprises
    file_name: str = Field(max_length=300)
    file_sha256: str = Field(max_length=64, index=True)
    on_date: date | None = None  # the date rows were validated against (None: enterprises)
    state: str = Field(default="running", max_length=16)  # running | done | abandoned
    reason: str | None = Field(default=None, max_length=300)  # why it was abandoned
    last_row: int = 0
    counts: dict[str, int] = Field(default_factory=dict, sa_type=JSONType)
    actor: str = Field(default="cli", max_length=64)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SweepRun(SQLModel, table=True):
    """One sweep at (catalogue version, on-date, region prefix); `last_*_id` are its checkpoints."""

    __tablename__ = "sweep_run"

    id: int | None = Field(default=None, primary_key=True)
    catalogue_version_id: int = Field(foreign_key="catalogue_version.id")
    on_date: date
    region_prefix: str = Field(default="", max_length=12)
    state: str = Field(default="running", max_length=16)  # running | done | abandoned
    reason: str | None = Field(default=None, max_length=300)  # why it was abandoned
    last_household_id: int = 0
    last_enterprise_id: int = 0
    counts: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    actor: str = Field(default="cli", max_length=64)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
