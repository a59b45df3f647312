"""A small synthetic village for the demo: deterministic, valid identifiers, varied situations.

Each household is a flat profile (docs/rule-language.md, "Profiles"), as a village centre would
enter it. The archetypes cover the 低保 bundle, 特困, the elderly, a newborn, an ordinary family,
and a household whose disability grade is not yet known (its result is undetermined).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from synth.identifiers import make_ric

VILLAGE = "520602100201"  # 碧江区, a town (100) and a villagers' committee (201)
OLD_REGION = "522201"  # the code in force when the older villagers were born
Raw = dict[str, Any]


def _person(rng: random.Random, on: date, age: int, relation: str, seq: int, **facts: Any) -> Raw:
    birth = on - timedelta(days=int(age * 365.25) + rng.randint(1, 300))
    region = OLD_REGION if birth.year < 2011 else VILLAGE[:6]
    person: Raw = {
        "id_number": make_ric(region=region, birth=birth, seq=1 + seq % 998),
        "relation": relation,
    }
    person.update({k: v for k, v in facts.items() if v is not None})
    return person


def _adult(
    rng: random.Random, on: date, age: int, relation: str, seq: int, income: int, **facts: Any
) -> Raw:
    base = {
        "monthly_income": income,
        "has_employee_pension": False,
        "has_employee_medical": False,
        "is_student": False,
        "has_disability": False,
        "no_work_capacity": False,
        "no_livelihood": False,
        "no_able_supporter": False,
    }
    return _person(rng, on, age, relation, seq, **{**base, **facts})


def _dibao_family(rng: random.Random, on: date, n: int) -> Raw:
    return {
        "dibao_status": "active",
        "tekun_status": "none",
        "dibao_certificate_no": f"DB5206{n:05d}",
        "local_hukou": True,
        "assets_within_limit": True,
        "electricity_account_no": f"0520{n:07d}",
        "water_account_no": f"SW{n:06d}",
        "cable_tv_account_no": f"GD{n:06d}",
        "members": [
            _adult(
                rng,
                on,
                46,
                "head",
                3 * n + 1,
                300,
                has_disability=True,
                disability_grade=2,
                disability_type="physical",
                needs_long_term_care=True,
            ),
            _adult(rng, on, 44, "spouse", 3 * n + 2, 400),
            _adult(rng, on, 16, "child", 3 * n + 3, 0, is_student=True, school_stage="senior"),
        ],
    }


def _elderly_couple(rng: random.Random, on: date, n: int) -> Raw:
    return {
        "dibao_status": "none",
        "tekun_status": "none",
        "local_hukou": True,
        "members": [
            _adult(rng, on, 84, "head", 3 * n + 1, 900),
            _adult(rng, on, 80, "spouse", 3 * n + 2, 700),
        ],
    }


def _newborn_family(rng: random.Random, on: date, n: int) -> Raw:
    child = _person(
        rng,
        on,
        0,
        "child",
        3 * n + 3,
        born_in_hospital=True,
        has_birth_certificate=False,
        has_vaccination_certificate=False,
        hukou_registered=False,
        has_resident_medical_insurance=False,
        has_social_security_card=False,
        monthly_income=0,
        has_disability=False,
        no_work_capacity=True,
        no_livelihood=False,
        no_able_supporter=False,
    )
    child["id_number"] = make_ric(
        region=VILLAGE[:6], birth=on - timedelta(days=40), seq=1 + (3 * n + 3) % 998
    )
    return {
        "dibao_status": "none",
        "tekun_status": "none",
        "local_hukou": True,
        "hukou_booklet_no": f"HK{n:06d}",
        "parents_marriage_certificate_no": f"J5206-{n:05d}",
        "members": [
            _adult(
                rng,
                on,
                29,
                "head",
                3 * n + 1,
                4200,
                has_employee_pension=True,
                has_employee_medical=True,
            ),
            _adult(rng, on, 27, "spouse", 3 * n + 2, 3600),
            child,
        ],
    }


def _ordinary_family(rng: random.Random, on: date, n: int) -> Raw:
    return {
        "dibao_status": "none",
        "tekun_status": "none",
        "local_hukou": True,
        "assets_within_limit": True,
        "members": [
            _adult(
                rng,
                on,
                41,
                "head",
                3 * n + 1,
                rng.randint(2500, 5000),
                has_employee_pension=True,
                has_employee_medical=True,
            ),
            _adult(rng, on, 39, "spouse", 3 * n + 2, rng.randint(1500, 3500)),
            _adult(rng, on, 12, "child", 3 * n + 3, 0, is_student=True, school_stage="primary"),
        ],
    }


def _tekun_elder(rng: random.Random, on: date, n: int) -> Raw:
    return {
        "dibao_status": "none",
        "tekun_status": "active",
        "local_hukou": True,
        "assets_within_limit": True,
        "members": [
            _adult(
                rng,
                on,
                72,
                "head",
                3 * n + 1,
                0,
                no_work_capacity=True,
                no_livelihood=True,
                no_able_supporter=True,
            )
        ],
    }


def _grade_unknown(rng: random.Random, on: date, n: int) -> Raw:
    family = _dibao_family(rng, on, n)
    del family["members"][0]["disability_grade"]
    return family


def _low_income_unrecognised(rng: random.Random, on: date, n: int) -> Raw:
    return {
        "dibao_status": "none",
        "tekun_status": "none",
        "local_hukou": True,
        "assets_within_limit": True,
        "members": [
            _adult(rng, on, 58, "head", 3 * n + 1, 500),
            _adult(rng, on, 31, "child", 3 * n + 2, 600),
        ],
    }


ARCHETYPES: tuple[tuple[str, Callable[[random.Random, date, int], Raw]], ...] = (
    ("低保户（含残疾人、高中生）", _dibao_family),
    ("高龄老人户", _elderly_couple),
    ("新生儿家庭", _newborn_family),
    ("普通家庭", _ordinary_family),
    ("特困供养户", _tekun_elder),
    ("低保户（残疾等级待核）", _grade_unknown),
    ("低收入未认定户", _low_income_unrecognised),
)


def demo_village(households: int, on: date, seed: int = 2026) -> list[tuple[str, Raw]]:
    """`households` synthetic households as (label, flat profile), the same for the same seed."""
    rng = random.Random(seed)
    village: list[tuple[str, Raw]] = []
    for n in range(households):
        label, build = ARCHETYPES[n % len(ARCHETYPES)]
        raw = build(rng, on, n)
        raw.update(household_id=f"{VILLAGE}{n + 1:04d}", region_code=VILLAGE)
        village.append((f"{n + 1:02d} {label}", raw))
    return village
