"""Import jobs: a sheet uploaded through the API, waiting, being imported, or finished.

A job is the API's handle on one `zhida import` of an uploaded file (`store.ingest.jobs`):
`queued` when the upload is stored, `running` while the server's worker imports it (`rows_read`
of `rows_total` as chunks are stored), then `done` (counts, the refused rows as `errors`, the
`import_run` it made) or `failed` (`reason`: the whole file was refused, or the service
stopped and the file is gone). `role` and `region` are the uploader's: a job is seen only by
callers whose region covers the uploader's.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from store.tables.types import JSONType, UTCDateTime, utcnow

__all__ = ["ImportJob"]


class ImportJob(SQLModel, table=True):
    """One uploaded sheet and what importing it did."""

    __tablename__ = "import_job"
    __table_args__ = (
        Index("ix_import_job_state", "state"),
        Index("ix_import_job_region", "region"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # households | enterprises
    state: str = Field(default="queued", max_length=16)  # queued | running | done | failed
    uploader: str = Field(max_length=64)
    role: str = Field(max_length=24)
    region: str = Field(max_length=12)  # the uploader's region prefix, applied per row
    file_name: str = Field(max_length=300)  # as uploaded, ID numbers masked
    suffix: str = Field(max_length=16)  # .xlsx | .csv | .parquet (the stored upload's)
    file_sha256: str = Field(max_length=64)
    file_bytes: int = 0
    on_date: date
    rows_read: int = 0
    rows_total: int | None = None
    counts: dict[str, int] = Field(default_factory=dict, sa_type=JSONType)
    errors: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    warnings: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    reason: str | None = Field(default=None, max_length=1000)  # why it failed
    import_run_id: int | None = Field(default=None, foreign_key="import_run.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
