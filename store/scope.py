"""Whose data a caller may see and change: the region, department and subject of one login.

Every read and write the API makes on behalf of a person takes a `Scope` and filters **in the
SQL query** (RELIABILITY P2: guards never see the row). What is outside the scope is simply
not found, so the API answers 404 and existence is not revealed.

| role | households | enterprises | claims | supervision |
|---|---|---|---|---|
| village | its village (12 digits) | — | its households' | — |
| township | its township (9) | — | its villages' | — |
| county | its county (6) | its county's | its county's | — |
| department | — | — | its county's with a part of its department | — |
| enterprise | — | itself (credit code) | its own | — |
| policy_writer | — | — | — | the catalogue; impact as totals |
| supervisor | its county's, read only | its county's, read only | read only | its county |

    scope = Scope.of(role="village", region="520602001001", user="cun01")
    query = query.where(scope.region_clause(HouseholdRow.region_code))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false

__all__ = ["READS_CLAIMS", "READS_ENTERPRISES", "READS_HOUSEHOLDS", "WRITES_PROFILES", "Scope"]

READS_HOUSEHOLDS = frozenset({"village", "township", "county", "supervisor"})
READS_ENTERPRISES = frozenset({"county", "enterprise", "supervisor"})
WRITES_PROFILES = frozenset({"village", "township", "county"})  # enterprises: the county
READS_CLAIMS = frozenset(
    {"village", "township", "county", "department", "enterprise", "supervisor"}
)


@dataclass(frozen=True)
class Scope:
    """One login's reach: who (`user`), as what (`role`), where (`region`, a code prefix),
    for which department and, for an enterprise, which subject (its credit code)."""

    user: str
    role: str
    region: str  # the role's region code; every row outside its prefix is out of scope
    department: str | None = None
    subject_key: str | None = None  # an enterprise login's credit code

    @property
    def is_enterprise(self) -> bool:
        return self.role == "enterprise"

    def region_clause(self, column: Any) -> ColumnElement[bool]:
        """`column` (a region code) inside this scope's region, as a SQL condition."""
        if not self.region:
            return false()
        clause: ColumnElement[bool] = column.like(self.region + "%")  # digits (checked at grant)
        return clause

    def households_clause(self, region_column: Any) -> ColumnElement[bool]:
        """Households this scope may read."""
        if self.role not in READS_HOUSEHOLDS:
            return false()
        return self.region_clause(region_column)

    def enterprises_clause(
        self, region_column: Any, credit_code_column: Any
    ) -> ColumnElement[bool]:
        """Enterprises this scope may read: itself for an enterprise, the county's for others."""
        if self.role == "enterprise":
            if not self.subject_key:
                return false()
            itself: ColumnElement[bool] = credit_code_column == self.subject_key
            return itself
        if self.role not in READS_ENTERPRISES:
            return false()
        return self.region_clause(region_column)

    def subject_clause(
        self, kind_column: Any, key_column: Any, region_column: Any
    ) -> ColumnElement[bool]:
        """Rows of a subject (household or enterprise, by kind and key) this scope may read."""
        if self.role == "enterprise":
            if not self.subject_key:
                return false()
            own: ColumnElement[bool] = (kind_column == "enterprise") & (
                key_column == self.subject_key
            )
            return own
        if self.role in {"village", "township"}:
            mine: ColumnElement[bool] = (kind_column == "household") & self.region_clause(
                region_column
            )
            return mine
        if self.role in {"county", "supervisor", "department"}:
            return self.region_clause(region_column)
        return false()

    def writes_profiles(self) -> bool:
        return self.role in WRITES_PROFILES
