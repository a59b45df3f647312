"""Parameter types shared by the routes: bounded ids and pages (an unbounded integer in a path
reaches the database as a number it cannot hold, and a query would fail with a 500)."""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

__all__ = ["ID_MAX", "IdPath", "Limit", "Offset"]

ID_MAX = 2**31 - 1  # the largest id a row of ours can have (an INTEGER primary key on both)

IdPath = Annotated[int, Parameter(ge=1, le=ID_MAX, description="编号（1 至 2147483647）")]
Limit = Annotated[int, Parameter(ge=1, le=500, description="每页条数（1–500）")]
Offset = Annotated[int, Parameter(ge=0, le=ID_MAX, description="跳过的条数")]
