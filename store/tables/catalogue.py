"""Published catalogues: every decision names the exact rules it used by this row's hash."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from store.tables.types import JSONType, UTCDateTime, utcnow

__all__ = ["CatalogueVersion"]


class CatalogueVersion(SQLModel, table=True):
    """One published catalogue: its content hash and the text of every file, as published."""

    __tablename__ = "catalogue_version"

    id: int | None = Field(default=None, primary_key=True)
    content_hash: str = Field(max_length=64, unique=True)
    policy_ids: list[str] = Field(default_factory=list, sa_type=JSONType)
    files: dict[str, str] = Field(default_factory=dict, sa_type=JSONType)  # path → text
    published_by: str = Field(max_length=64)
    published_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
