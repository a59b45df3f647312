"""The tables, one module per concept; importing this package registers them all on
`SQLModel.metadata` (what Alembic compares the migrations against)."""

from store.models.audit import AuditRecord
from store.models.catalogue import CatalogueVersion
from store.models.entitlements import (
    Entitlement,
    EntitlementChange,
    EntitlementPublic,
    OutboxMessage,
)
from store.models.profiles import (
    EnterpriseRow,
    HouseholdRow,
    MemberRow,
    ProfileChange,
)
from store.models.runs import ImportRun, SweepRun

__all__ = [
    "AuditRecord",
    "CatalogueVersion",
    "EnterpriseRow",
    "Entitlement",
    "EntitlementChange",
    "EntitlementPublic",
    "HouseholdRow",
    "ImportRun",
    "MemberRow",
    "OutboxMessage",
    "ProfileChange",
    "SweepRun",
]
