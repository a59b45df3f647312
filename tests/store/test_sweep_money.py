"""A stored sweep keeps the interpreter's fen: amounts on a half fen before rounding, and
per-capita incomes a fraction of a fen from the 低保 line, on both databases."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from matcher.interpreter.evaluate import evaluate_expr
from matcher.interpreter.match import match
from matcher.profiles.derive import enterprise_facts, household_facts
from matcher.profiles.parse import parse_enterprise, parse_household
from rules.catalogue import Catalogue, load_catalogue
from store.db import read_session, write_session
from store.ingest.profiles import upsert_enterprises, upsert_households
from store.sweep.run import begin_sweep, run_sweep
from store.tables.entitlements import Entitlement
from store.tables.profiles import EnterpriseRow, HouseholdRow
from synth.identifiers import make_ric, make_uscc

ROOT = Path(__file__).parents[2] / "policies"
ON = date(2025, 3, 1)
LINE = Decimal(705)  # 碧江区 低保 standard in force on ON (policies/household/dibao/allowance.yaml)


@cache
def _catalogue() -> Catalogue:
    return load_catalogue(ROOT)


def _enterprises() -> list[dict[str, Any]]:
    """Large and small firms whose contributions end in 5 fen: × 0.3 lands on a half fen."""
    out = []
    for k in range(40):
        out.append(
            {
                "credit_code": make_uscc(region="520602", seq=9000 + k),
                "region_code": "520602",
                "enterprise_size": "large" if k % 2 else "small",
                "insured_employees": 400,
                "ui_full_contribution_months": 24,
                "ui_contributions_last_year": Decimal(10_012_345 + 10 * k).scaleb(-2),
                "layoff_rate": 1,
                "in_dishonest_list": False,
            }
        )  # fmt: skip
    return out


def _households() -> list[dict[str, Any]]:
    """Three-person 低保 households whose incomes total 3 × 705 − 2, −1, 0, +1, +2 fen."""
    out = []
    for k, off in enumerate((-2, -1, 0, 1, 2, -3, 3)):
        total = LINE * 3 + Decimal(off).scaleb(-2)
        incomes = [Decimal("700.01"), Decimal("709.99"), total - Decimal("1410.00")]
        out.append(
            {
                "household_id": f"5206020012010{k:03d}",
                "region_code": "520602001201",
                "local_hukou": True,
                "assets_within_limit": True,
                "members": [
                    {
                        "id_number": make_ric(birth=date(1970, 1, 1), seq=2 * (3 * k + i) + 1),
                        "relation": "head" if i == 0 else "spouse" if i == 1 else "child",
                        "monthly_income": x,
                    }
                    for i, x in enumerate(incomes)
                ],
            }
        )  # fmt: skip
    return out


def _half_fen(policy_id: str, facts: Any) -> bool:
    """Whether the policy's exact amount, before rounding, lies on a half fen."""
    bound = _catalogue().policies[policy_id].bind(ON)
    assert bound is not None and bound.amount is not None
    value, _ = evaluate_expr(bound.amount, facts)
    return isinstance(value, Fraction | int) and Fraction(value * 100).denominator == 2


def test_half_fen_amounts_and_per_capita_by_a_fraction_of_a_fen_are_stored_exactly(
    engine: Engine,
) -> None:
    """The stored amounts equal the interpreter's to the fen: half fen round up, a per-capita
    income 1/3 fen under the line is under it, and one on the line is not."""
    catalogue = _catalogue()
    households = [parse_household(r, catalogue.facts, today=ON) for r in _households()]
    firms = [parse_enterprise(r, catalogue.facts, today=ON) for r in _enterprises()]
    with write_session(engine) as session:
        upsert_households(session=session, households=[(h, "test") for h in households])
        upsert_enterprises(session=session, enterprises=[(e, "test") for e in firms])
    start = begin_sweep(engine=engine, catalogue=catalogue, root=ROOT, on=ON, region=None)
    run_sweep(engine=engine, start=start, catalogue=catalogue)
    tables = [t.__table__ for t in (Entitlement, HouseholdRow, EnterpriseRow)]  # type: ignore[attr-defined]
    ent, hh_t, firm_t = tables
    e, h, f = ent.c, hh_t.c, firm_t.c
    query = select(e.subject_kind, h.household_no, e.policy_id, e.amount).join(
        hh_t, (e.subject_id == h.id) & (e.subject_kind == "household")
    )
    firms_query = select(e.subject_kind, f.credit_code, e.policy_id, e.amount).join(
        firm_t, (e.subject_id == f.id) & (e.subject_kind == "enterprise")
    )
    with read_session(engine) as session:
        rows = [*session.execute(query), *session.execute(firms_query)]
    stored = {(kind, key, pid): amount for kind, key, pid, amount in rows}
    expected, half = {}, 0
    for hh in households:
        for r in match(catalogue, household_facts(hh, ON), ON, "household").results:
            if r.status == "eligible":
                expected[("household", hh.household_id, r.policy_id)] = r.amount
    for firm in firms:
        facts = enterprise_facts(firm, ON)
        for r in match(catalogue, facts, ON, "enterprise").results:
            if r.status == "eligible":
                expected[("enterprise", firm.credit_code, r.policy_id)] = r.amount
                half += r.amount is not None and _half_fen(r.policy_id, facts)
    assert {k: stored.get(k) for k in expected} == expected
    assert all(isinstance(v, Decimal) for v in expected.values() if v is not None)
    assert half >= 20, half  # the large firms' 30 % lands on a half fen
    allowance = {
        key: stored.get(("household", key, "household.dibao.allowance"))
        for key in (f"5206020012010{k:03d}" for k in range(7))
    }
    # −2, −1 fen under 3 × 705 in all: eligible, paid the exact top-up; on or over the line: no
    assert allowance["5206020012010000"] == Decimal("0.02")
    assert allowance["5206020012010001"] == Decimal("0.01")
    assert allowance["5206020012010002"] is None
    assert allowance["5206020012010003"] is None
