"""The demo county's users, one per role, for `make run` (`zhida demo-users`).

Each is placed where the demo data has something to do: the village of county 520602 with the
most households, its township, the county, one clerk per county department that has claim
parts there, the county's enterprise with the most claims, a policy writer and a supervisor.
A user that exists already is left as it is (its password is not shown again).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlmodel import Session, col

from store.accounts import set_password
from store.tables.claims import Claim, ClaimPart
from store.tables.profiles import EnterpriseRow, HouseholdRow
from store.users import add_user, get_user

__all__ = ["DemoUser", "ensure_demo_users"]


@dataclass(frozen=True)
class DemoUser:
    """A demo user: name, role, where, and the password when it was made now (else None)."""

    name: str
    role: str
    region: str | None
    department: str | None
    subject_key: str | None
    password: str | None


_Row = tuple[str, str, str | None, str | None, str | None]  # name, role, region, dept, subject


def _plan(session: Session, county: str) -> list[_Row]:
    prefix = county + "%"
    village = session.execute(
        select(col(HouseholdRow.region_code))
        .where(col(HouseholdRow.region_code).like(prefix))
        .group_by(col(HouseholdRow.region_code))
        .order_by(func.count().desc(), col(HouseholdRow.region_code))
    ).scalar()
    departments = (
        session.execute(
            select(col(ClaimPart.department))
            .join(Claim, col(Claim.id) == col(ClaimPart.claim_id))
            .where(col(Claim.region).like(prefix))
            .distinct()
            .order_by(col(ClaimPart.department))
        )
        .scalars()
        .all()
    )
    firm = (
        session.execute(
            select(col(Claim.subject_key))
            .where(col(Claim.subject_kind) == "enterprise", col(Claim.region).like(prefix))
            .group_by(col(Claim.subject_key))
            .order_by(func.count().desc(), col(Claim.subject_key))
        ).scalar()
        or session.execute(
            select(col(EnterpriseRow.credit_code))
            .where(col(EnterpriseRow.region_code).like(prefix))
            .order_by(col(EnterpriseRow.credit_code))
        ).scalar()
    )
    plan: list[_Row] = []
    if village:
        plan += [("demo-village", "village", village, None, None),
                 ("demo-township", "township", village[:9], None, None)]  # fmt: skip
    plan += [("demo-county", "county", county, None, None),
             ("demo-county2", "county", county, None, None)]  # fmt: skip
    plan += [
        (f"demo-dept{i + 1}", "department", county, dept, None)
        for i, dept in enumerate(departments)
    ]
    if firm:
        plan.append(("demo-enterprise", "enterprise", None, None, firm))
    plan += [("demo-writer", "policy_writer", county, None, None),
             ("demo-supervisor", "supervisor", county, None, None)]  # fmt: skip
    return plan


def ensure_demo_users(session: Session, *, county: str = "520602") -> list[DemoUser]:
    """The demo users of `county`, made (with a fresh random password each) when absent."""
    made: list[DemoUser] = []
    for name, role, region, dept, subject in _plan(session, county):
        password: str | None = None
        existing = get_user(session=session, name=name)
        if existing is None:
            add_user(session=session, name=name, role=role, region=region, department=dept,
                     subject_key=subject)  # fmt: skip
            password = secrets.token_urlsafe(9)
            set_password(session=session, name=name, password=password)
        elif (held := existing.role(role)) is not None:
            region, dept, subject = held.region_code, held.department, held.subject_key
        made.append(DemoUser(name, role, region, dept, subject, password))
    return made
