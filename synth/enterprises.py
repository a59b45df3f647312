"""Synthetic enterprises (市场主体) by size and industry, with valid, unique credit codes.

Sizes follow the shape of China's enterprise census (most are micro); industries are GB/T 4754
sections weighted towards trade (F), manufacturing (C) and services. Deterministic for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from matcher.profiles.regions import RegionTable, load_regions
from matcher.vector.frames import Columns
from synth.codes import Array, uscc_codes
from synth.facts import blank
from synth.households import DEFAULT_AS_OF

__all__ = ["Enterprises", "generate_enterprises"]

_SIZES = (np.array(["micro", "small", "medium", "large"]), np.array([0.80, 0.15, 0.04, 0.01]))
_EMPLOYEES = {"micro": (1, 9), "small": (10, 99), "medium": (100, 999), "large": (1000, 9999)}
_INDUSTRY = (
    np.array(list("ACEFGHIKLMORS")),
    np.array([0.06, 0.18, 0.08, 0.30, 0.04, 0.08, 0.05, 0.03, 0.05, 0.04, 0.03, 0.02, 0.04]),
)
# GB/T 4754—2017: the first and last two-digit division of each section (门类)
_DIVISIONS = {
    "A": (1, 5), "B": (6, 12), "C": (13, 43), "D": (44, 46), "E": (47, 50), "F": (51, 52),
    "G": (53, 60), "H": (61, 62), "I": (63, 65), "J": (66, 69), "K": (70, 70), "L": (71, 72),
    "M": (73, 75), "N": (76, 79), "O": (80, 82), "P": (83, 83), "Q": (84, 85), "R": (86, 90),
    "S": (91, 96), "T": (97, 97),
}  # fmt: skip
_FOUNDERS = (
    np.array(["college_graduate", "hard_to_employ", "returning_migrant", "veteran", "other"]),
    np.array([0.12, 0.05, 0.10, 0.03, 0.70]),
)
_WORDS = np.array(list("鑫源盛达华丰瑞恒兴隆泰安顺宏远"))
_TRADES = {"A": "农业", "C": "制造", "E": "建筑", "F": "商贸", "I": "信息技术", "M": "科技"}


@dataclass(frozen=True)
class Enterprises:
    """What to generate: how many, the seed, the reference date, the share of empty cells."""

    count: int
    seed: int = 1
    as_of: date = DEFAULT_AS_OF
    unknown_share: float = 0.01
    regions: RegionTable | None = None


def _identity(rng: np.random.Generator, spec: Enterprises, industry: Array) -> Columns:
    n = spec.count
    counties = (spec.regions or load_regions()).counties
    pick = rng.integers(0, len(counties), n)
    county = np.array([c.code for c in counties])[pick]
    place = np.array([c.name[:2] for c in counties])[pick]
    serial = rng.permutation(10**7)[:n] + 10**7 * (spec.seed % 9)  # unique organisation codes
    cols = Columns()
    cols.put("credit_code", uscc_codes(np.full(n, "91"), county, serial))
    trade = np.array([_TRADES.get(str(i), "服务") for i in industry])
    brand = np.strings.add(_WORDS[rng.integers(0, 15, n)], _WORDS[rng.integers(0, 15, n)])
    cols.put(
        "name", np.strings.add(np.strings.add(np.strings.add(place, brand), trade), "有限公司")
    )
    cols.put("region_code", county)
    return cols


def _dates(rng: np.random.Generator, as_of: date, n: int, years: float) -> Array:
    back = np.round(rng.exponential(years * 365.25, n)).astype("timedelta64[D]")
    days: Array = np.datetime64(as_of, "D") - np.minimum(back, np.timedelta64(30 * 365, "D"))
    return days


def _workforce(rng: np.random.Generator, cols: Columns, size: Array) -> Array:
    n = len(size)
    low = np.select([size == s for s in _EMPLOYEES], [lo for lo, _ in _EMPLOYEES.values()])
    employees = np.round(low * np.exp(rng.uniform(0, np.log(10), n))).astype(np.int64)
    insured = np.round(employees * rng.uniform(0.6, 1.0, n)).astype(np.int64)
    cols.put("employees", employees)
    cols.put("insured_employees", insured)
    cols.put("ui_contributions_last_year", np.round(insured * 12 * 4000 * 0.01, 2))
    cols.put("layoff_rate", np.round(rng.exponential(2.0, n), 2))
    cols.put("new_graduate_hires_insured", rng.poisson(np.minimum(employees / 20, 10)))
    cols.put(
        "graduate_hires_employer_si", np.round(cols.data["new_graduate_hires_insured"] * 9600.0)
    )
    cols.put("new_qualifying_hires_share", np.round(rng.uniform(0, 40, n), 1))
    youth = rng.poisson(np.minimum(employees / 25, 8))
    cols.put("youth_hires_paid_1m", youth)
    cols.put("youth_hires_paid_3m", rng.binomial(youth, 0.8))
    return employees


def _division(rng: np.random.Generator, industry: Array) -> Array:
    """A GB/T 4754 division (two digits) inside each enterprise's section."""
    low = np.array([_DIVISIONS[s][0] for s in industry.tolist()], dtype=np.int64)
    high = np.array([_DIVISIONS[s][1] for s in industry.tolist()], dtype=np.int64)
    picked = low + np.floor(rng.random(industry.shape[0]) * (high - low + 1)).astype(np.int64)
    return np.char.zfill(picked.astype(str), 2)


def generate_enterprises(spec: Enterprises) -> Columns:
    """`spec.count` enterprises as columns by catalogue name (the same for the same seed).

    Args:
        spec: how many, the seed, the reference date and the share of empty cells.

    Returns:
        Columns `credit_code`, `name`, `region_code` and the enterprise facts.
    """
    rng = np.random.default_rng([spec.seed, 1_000_003])
    n = spec.count
    size = rng.choice(_SIZES[0], size=n, p=_SIZES[1])
    industry = rng.choice(_INDUSTRY[0], size=n, p=_INDUSTRY[1])
    cols = _identity(rng, spec, industry)
    facts = Columns()
    facts.put("enterprise_size", size)
    facts.put("industry", industry)
    facts.put("industry_division", _division(rng, industry))
    founded = _dates(rng, spec.as_of, n, 6)
    facts.put("founded_on", founded)
    facts.put("founder_category", rng.choice(_FOUNDERS[0], size=n, p=_FOUNDERS[1]))
    facts.put("founder_first_business", rng.random(n) < 0.6)
    _workforce(rng, facts, size)
    months = ((np.datetime64(spec.as_of, "D") - founded).astype(np.int64) // 30).clip(0, 120)
    facts.put("ui_full_contribution_months", np.minimum(months, rng.integers(0, 121, n)))
    facts.put("in_dishonest_list", rng.random(n) < 0.02)
    facts.put("wage_or_si_arrears", rng.random(n) < 0.03)
    loan = rng.random(n) < 0.1
    facts.put("guaranteed_loan_amount", np.round(rng.uniform(1, 30, n)) * 100_000.0, ~loan)
    facts.put("guaranteed_loan_rate", np.round(rng.uniform(3.45, 4.35, n), 2), ~loan)
    tech = rng.random(n) < np.where(np.isin(industry, ["C", "I", "M"]), 0.12, 0.01)
    facts.put("is_high_tech", tech)
    facts.put("high_tech_certified_on", _dates(rng, spec.as_of, n, 1.5), ~tech)
    facts.put("high_tech_first_time", rng.random(n) < 0.6, ~tech)
    level = np.where(tech & (rng.random(n) < 0.3), "province", "none")
    level = np.where(tech & (rng.random(n) < 0.05), "national", level)
    facts.put("specialized_new_level", level)
    facts.put("specialized_new_recognized_on", _dates(rng, spec.as_of, n, 1.5), level == "none")
    facts.put("rd_expense_last_year", np.round(rng.exponential(5e5, n)) * tech)
    blank(rng, facts, spec.unknown_share, keep=())
    cols.data.update(facts.data)
    cols.unknown.update(facts.unknown)
    return cols
