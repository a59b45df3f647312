"""The supervision and inbox queries run on both databases (their JSON reads differ by dialect)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine

from store.db import read_session
from store.delivery.inbox import inbox, inbox_count
from store.delivery.manage import subscriptions_for
from store.scope import Scope
from store.supervision import coverage, narrowed, overdue_count


def test_coverage_and_the_inbox_run_on_both_databases(engine: Engine) -> None:
    """On an empty database each query runs (PostgreSQL checks the JSON functions) and is empty."""
    county = Scope(user="x", role="county", region="520602")
    with read_session(engine) as session:
        assert coverage(session, prefix="520602", on=date(2025, 3, 1)) == []
        assert coverage(session, prefix="520602100", on=date(2025, 3, 1)) == []
        assert inbox(session=session, scope=county, limit=10) == []
        assert inbox_count(session=session, scope=county) == 0
        assert inbox_count(session=session, scope=county, state="pending") == 0
        assert overdue_count(session, prefix="520602", on=date(2025, 3, 1)) == 0
        assert list(subscriptions_for(session=session, scope=county)) == []


def test_a_region_is_narrowed_to_the_callers_county() -> None:
    """Inside: the asked prefix; a parent: the county; elsewhere: nothing."""
    assert narrowed("520602", "520602100") == "520602100"
    assert narrowed("520602", "52") == "520602"
    assert narrowed("520602", None) == "520602"
    assert narrowed("520602", "520625") is None
