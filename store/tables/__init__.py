"""The tables, one module per concept; importing this package registers them all on
`SQLModel.metadata` (what Alembic compares the migrations against)."""

from store.tables.audit import AuditRecord
from store.tables.catalogue import CatalogueVersion
from store.tables.claims import Claim, ClaimDeadline, ClaimPart, ClaimStep, IdempotencyKey
from store.tables.delivery import Delivery, DeliveryAttempt, Subscription
from store.tables.entitlements import (
    Entitlement,
    EntitlementChange,
    EntitlementPublic,
    OutboxMessage,
)
from store.tables.events import DeadlineRow, EventRow
from store.tables.import_jobs import ImportJob
from store.tables.profiles import (
    EnterpriseRow,
    HouseholdRow,
    MemberRow,
    ProfileChange,
)
from store.tables.runs import ImportRun, SweepRun
from store.tables.users import UserAccount, UserRole

__all__ = [
    "AuditRecord",
    "CatalogueVersion",
    "Claim",
    "ClaimDeadline",
    "ClaimPart",
    "ClaimStep",
    "DeadlineRow",
    "Delivery",
    "DeliveryAttempt",
    "EnterpriseRow",
    "Entitlement",
    "EntitlementChange",
    "EntitlementPublic",
    "EventRow",
    "HouseholdRow",
    "IdempotencyKey",
    "ImportJob",
    "ImportRun",
    "MemberRow",
    "OutboxMessage",
    "ProfileChange",
    "Subscription",
    "SweepRun",
    "UserAccount",
    "UserRole",
]
