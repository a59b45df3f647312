"""The facts of synthetic members and households (see `synth.households`), one column at a time.

Shares are rough national orders of magnitude, not statistics of any real county: about 6% of
people hold a disability certificate (more among the elderly), 4% of households are on 低保,
0.5% are 特困 (mostly people living alone), incomes are log-normal by age and urban/rural.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from matcher.vector.frames import Columns
from synth.codes import Array

if TYPE_CHECKING:
    from synth.households import Population

__all__ = ["blank", "household_facts", "member_facts"]

_GRADES = (np.array([1, 2, 3, 4]), np.array([0.12, 0.23, 0.30, 0.35]))
_TYPES = (
    np.array(["visual", "hearing", "speech", "physical", "intellectual", "mental", "multiple"]),
    np.array([0.14, 0.24, 0.02, 0.36, 0.07, 0.09, 0.08]),
)
_STUDYING = ((3, 6, 0.85), (6, 15, 0.99), (15, 18, 0.92), (18, 22, 0.55))
_STAGES = ((3, "preschool"), (6, "primary"), (12, "junior"), (15, "senior"), (18, "university"))
_NEWBORN = (
    ("born_in_hospital", 0.98),
    ("has_birth_certificate", 0.7),
    ("has_vaccination_certificate", 0.6),
    ("hukou_registered", 0.5),
    ("has_resident_medical_insurance", 0.4),
    ("has_social_security_card", 0.3),
)
_ACCOUNTS = (
    ("benefit_bank_account", "6230-", 15, 0.92),
    ("electricity_account_no", "05", 8, 0.97),
    ("water_account_no", "SW", 7, 0.9),
    ("cable_tv_account_no", "GD", 7, 0.5),
    ("hukou_booklet_no", "HK", 9, 0.99),
)


def _income(rng: np.random.Generator, age: Array, urban: Array, student: Array) -> Array:
    n = len(age)
    working = rng.lognormal(np.log(np.where(urban, 4200, 2200)), 0.6, n)
    working[rng.random(n) < 0.12] = 0
    pension = rng.lognormal(np.log(np.where(urban, 2600, 350)), 0.45, n)
    income = np.where(age >= 60, pension, np.where(age >= 18, working, 0))
    return np.round(np.where(student, 0, income)).astype(np.int64)


def _school(rng: np.random.Generator, cols: Columns, age: Array) -> Array:
    student = np.zeros(len(age), dtype=bool)
    for lo, hi, share in _STUDYING:
        student |= (age >= lo) & (age < hi) & (rng.random(len(age)) < share)
    stage = np.full(len(age), "preschool", dtype="U10")
    for lo, name in _STAGES:
        stage[age >= lo] = name
    senior = (age >= 15) & (age < 18)
    stage[senior & (rng.random(len(age)) < 0.4)] = "vocational"
    cols.put("is_student", student)
    cols.put("school_stage", stage, ~student)
    return student


def _disability(rng: np.random.Generator, cols: Columns, age: Array, share: float) -> Array:
    n = len(age)
    disabled = rng.random(n) < share * np.where(age >= 60, 2.5, 0.45)
    grade = rng.choice(_GRADES[0], size=n, p=_GRADES[1])
    kind = rng.choice(_TYPES[0], size=n, p=_TYPES[1])
    care = disabled & (rng.random(n) < np.where(grade <= 2, 0.55, 0.12))
    cols.put("has_disability", disabled)
    cols.put("disability_grade", grade, ~disabled)
    cols.put("disability_type", kind, ~disabled)
    cols.put("needs_long_term_care", care)
    return disabled & (grade <= 2)


def member_facts(
    rng: np.random.Generator,
    pop: Population,
    age: Array,
    relation: Array,
    male: Array,
    urban: Array,
) -> Columns:
    """Member facts by catalogue name (before any cell is blanked; see `blank`)."""
    n = len(age)
    cols = Columns()
    student = _school(rng, cols, age)
    cols.put("monthly_income", _income(rng, age, urban, student))
    employed = (age >= 18) & ~student & (rng.random(n) < np.where(urban, 0.6, 0.18))
    cols.put("has_employee_pension", employed)
    cols.put("has_employee_medical", employed ^ (rng.random(n) < 0.04))
    severe = _disability(rng, cols, age, pop.disability_share)
    unable = (age < 16) | ((severe | (age >= 70)) & (rng.random(n) < 0.8))
    cols.put("no_work_capacity", unable)
    cols.put("no_livelihood", np.zeros(n, dtype=bool))
    cols.put("no_able_supporter", np.zeros(n, dtype=bool))
    baby = age < 1
    got = baby & (rng.random(n) < _NEWBORN[0][1])
    cols.put(_NEWBORN[0][0], got, ~baby)
    for name, share in _NEWBORN[1:]:
        cols.put(name, got & (rng.random(n) < share), ~baby)
    return cols


def _statuses(rng: np.random.Generator, pop: Population, size: Array, alone: Array) -> Array:
    """0 none, 1 低保 active, 2 低保 lapsed, 3 特困 active."""
    n = len(size)
    status = np.zeros(n, dtype=np.int64)
    candidates = (size == 1) & alone
    rate = min(1.0, pop.tekun_share * n / max(1, int(candidates.sum())))
    status[candidates & (rng.random(n) < rate)] = 3
    draw = rng.random(n)
    status[(status == 0) & (draw < pop.dibao_share)] = 1
    lapsed = (draw >= pop.dibao_share) & (draw < pop.dibao_share + pop.dibao_lapsed_share)
    status[(status == 0) & lapsed] = 2
    return status


def _accounts(rng: np.random.Generator, cols: Columns, n: int) -> None:
    for name, prefix, width, share in _ACCOUNTS:
        number = rng.integers(0, 10**width, n).astype(f"U{width}")
        cols.put(
            name, np.strings.add(prefix, np.strings.zfill(number, width)), rng.random(n) > share
        )


def _poor(members: Columns, hh: Array, status: Array) -> None:
    """Lower incomes of 低保 households; 特困 people have no income, capacity or supporter."""
    on_dibao = status[hh] == 1
    income = members.data["monthly_income"]
    members.data["monthly_income"] = np.where(on_dibao, np.round(income * 0.2), income).astype(
        np.int64
    )
    tekun = status[hh] == 3
    members.data["monthly_income"][tekun] = 0
    for name in ("no_work_capacity", "no_livelihood", "no_able_supporter"):
        members.data[name] = members.data[name] | tekun


def household_facts(
    rng: np.random.Generator, pop: Population, hh: Array, members: Columns, relation: Array, n: int
) -> Columns:
    """Household facts of `n` households; adjusts the members of poor households in place."""
    size = np.bincount(hh, minlength=n)
    unable_head = np.zeros(n, dtype=bool)
    unable_head[hh[relation == 0]] = members.data["no_work_capacity"][relation == 0]
    status = _statuses(rng, pop, size, unable_head)
    _poor(members, hh, status)
    cols = Columns()
    codes = np.array(["none", "active", "lapsed", "none"])
    cols.put("dibao_status", codes[status])
    cols.put("tekun_status", np.where(status == 3, "active", "none"))
    serial = np.strings.zfill(rng.integers(0, 10**6, n).astype("U6"), 6)
    cols.put("dibao_certificate_no", np.strings.add("DB-", serial), status != 1)
    poor = (status == 1) | (status == 3)
    cols.put("assets_within_limit", poor | (rng.random(n) < 0.6))
    cols.put("local_hukou", rng.random(n) < 0.96)
    _accounts(rng, cols, n)
    baby = np.zeros(n, dtype=bool)
    known = ~members.unknown.get("has_birth_certificate", np.zeros(len(hh), dtype=bool))
    baby[hh[members.data["has_birth_certificate"] & known]] = True
    number = np.strings.zfill(rng.integers(0, 10**8, n).astype("U8"), 8)
    cols.put("newborn_birth_certificate_no", np.strings.add("Q52", number), ~baby)
    cols.put("parents_marriage_certificate_no", np.strings.add("J-", number), ~baby)
    return cols


def blank(rng: np.random.Generator, cols: Columns, share: float, keep: tuple[str, ...]) -> None:
    """Leave a share of the known cells empty (unknown), except in the `keep` columns."""
    for name, values in cols.data.items():
        if name in keep:
            continue
        hole = rng.random(len(values)) < share
        old = cols.unknown.get(name)
        cols.put(name, values, hole if old is None else (old | hole))
