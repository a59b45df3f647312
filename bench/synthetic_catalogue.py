"""A province-size synthetic catalogue: 200 household policies (≈ 1,100 conditions), seeded.

    uv run python bench/synthetic_catalogue.py [--policies 200] [--seed 2025] [--out DIR]

Written as rule files over the real fact catalogue (`policies/facts.yaml`) and loaded with
`rules.catalogue.load_catalogue`, so every policy passes the loader's checks. Shapes follow the
real catalogue: income lines and ages as thresholds (often `params.X`, dated), enumerations by
equality and `in` lists, `any`/`count`/`sum` over members, some `and`/`or`/`not`, region scopes,
`excludes` pairs, amounts from parameters and facts. Conditions are drawn from a pool with a
Zipf-like weight, so that — as in a real catalogue, where 低保 status or an income line recurs in
dozens of policies — many conditions are shared between policies.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from rules.catalogue import Catalogue, load_catalogue

ROOT = Path(__file__).parents[1] / "policies"
COUNTIES = ("520602", "520625", "350322", "110105")
INCOME_LINES = (500, 600, 680, 705, 800, 1000, 1200, 1500, 2000, 3000)
OLD = (60, 65, 70, 75, 80, 90)
YOUNG = (1, 3, 6, 16, 18)
STAGES = ("preschool", "primary", "junior", "senior", "vocational", "university")
TYPES = ("visual", "hearing", "speech", "physical", "intellectual", "mental", "multiple")


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _in(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(_q(v) for v in values) + "]"


def condition_pool(rng: random.Random) -> list[tuple[str, str]]:
    """(expression, says) of every condition a policy may draw; `{line}` marks an income line."""
    pool: list[tuple[str, str]] = [
        ('dibao_status == "active"', "在册低保家庭"),
        ('tekun_status == "active"', "在册特困人员"),
        ('dibao_status == "active" or tekun_status == "active"', "低保或特困家庭"),
        ('dibao_status in ["active", "lapsed"]', "低保或近期退出低保"),
        ('dibao_status != "none"', "曾纳入低保"),
        ('not (tekun_status == "active")', "非特困供养"),
        ("local_hukou", "本地户口"),
        ("assets_within_limit", "财产符合规定"),
        ("local_hukou and assets_within_limit", "本地户口且财产符合规定"),
        ("household_size == 1", "单人户"),
        ("any(members, no_work_capacity and no_livelihood and no_able_supporter)", "三无人员"),
        ("any(members, needs_long_term_care)", "有需长期照护成员"),
        ("all(members, has_employee_medical)", "全员职工医保"),
        ("not any(members, has_employee_pension)", "无人参加职工养老保险"),
        ("any(members, age < 1 and not has_birth_certificate)", "新生儿未办出生医学证明"),
        ("any(members, age < 1 and born_in_hospital)", "医疗机构内出生的新生儿"),
        ("any(members, age < 1 and not hukou_registered)", "新生儿未登记户口"),
        ('any(members, relation in ["child", "grandchild"] and is_student)', "有在校子女"),
        ('count(members, sex == "female" and age >= 55) >= 1', "有55岁以上女性成员"),
        ("any(members, age >= 16 and age < 60 and not has_employee_pension)", "有未参保劳动力"),
    ]
    pool += [(f"per_capita_monthly_income < {v}", f"人均月收入低于{v}元") for v in INCOME_LINES]
    pool += [(f"per_capita_monthly_income <= {v}", f"人均月收入不高于{v}元") for v in INCOME_LINES]
    pool += [(f"household_size >= {k}", f"家庭人口不少于{k}人") for k in range(2, 7)]
    pool += [(f"household_size <= {k}", f"家庭人口不超过{k}人") for k in range(1, 5)]
    pool += [(f"any(members, age >= {a})", f"有{a}岁以上成员") for a in OLD]
    pool += [(f"any(members, age < {a})", f"有{a}岁以下成员") for a in YOUNG]
    pool += [(f"count(members, age < 18) >= {k}", f"未成年人不少于{k}人") for k in (1, 2, 3)]
    pool += [(f"count(members, age >= 60) >= {k}", f"老年人不少于{k}人") for k in (1, 2)]
    pool += [
        (f"sum(members, monthly_income) < {s}", f"家庭月收入低于{s}元")
        for s in (1000, 2000, 3000, 5000, 8000)
    ]
    for _ in range(40):  # age bands
        lo = rng.randrange(0, 70, 5)
        hi = lo + rng.randrange(5, 30, 5)
        pool.append((f"any(members, age >= {lo} and age < {hi})", f"有{lo}至{hi}岁成员"))
    atoms = [t for t, _ in pool if not t.startswith(("any(", "all(", "not any", "count", "sum"))]
    for _ in range(80):  # household-level combinations
        a, b = rng.sample(atoms, 2)
        op = rng.choice(("and", "and", "or"))
        pool.append((f"({a}) {op} ({b})", "组合条件"))
    pool += [
        (f'any(members, relation == "head" and age >= {a})', f"户主{a}岁以上") for a in OLD[:4]
    ]
    pool += [
        (f"any(members, has_disability and disability_grade <= {g})", f"有{g}级以上残疾成员")
        for g in (1, 2, 3, 4)
    ]
    for _ in range(12):
        kinds = tuple(sorted(rng.sample(TYPES, rng.randint(1, 3))))
        pool.append((f"any(members, disability_type in {_in(kinds)})", "有特定类别残疾成员"))
    for _ in range(12):
        stages = tuple(sorted(rng.sample(STAGES, rng.randint(1, 3))))
        pool.append(
            (f"any(members, is_student and school_stage in {_in(stages)})", "有特定学段学生")
        )
    for a, g in ((60, 2), (70, 3), (16, 2), (80, 4)):
        pool.append(
            (
                f"any(members, age >= {a} and has_disability and disability_grade <= {g})",
                "有老年重度残疾成员",
            )
        )
    for line in (800, 1000, 1500):
        pool.append(
            (
                f'per_capita_monthly_income < {line} or dibao_status == "active"',
                "低收入或低保",
            )
        )
    # Conditions with a dated income line: `{line}` becomes `params.line`.
    pool += [("per_capita_monthly_income < {line}", "人均月收入低于当地标准")] * 3
    pool += [("sum(members, monthly_income) < {line} * household_size", "家庭收入低于标准")]
    return list(dict.fromkeys(pool))


@dataclass
class Spec:
    """One synthetic policy, before it is written as a rule file."""

    id: str
    conditions: list[tuple[str, str]]
    amount: str | None
    parameters: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    regions: list[str] | None = None
    excludes: list[str] = field(default_factory=list)


_AMOUNTS = (
    ("params.amount", {"amount": (50, 2000)}),
    ("params.rate * household_size", {"rate": (20, 300)}),
    ("params.rate * count(members, age >= 60)", {"rate": (30, 200)}),
    (
        "min(params.cap, params.rate * count(members, age < 18))",
        {"cap": (500, 3000), "rate": (100, 800)},
    ),  # fmt: skip
    ("max(0, params.amount - 0.1 * sum(members, monthly_income))", {"amount": (200, 1500)}),
    ("params.amount if household_size >= 3 else params.amount / 2", {"amount": (100, 1000)}),
)


def policy_specs(count: int = 200, seed: int = 2025) -> list[Spec]:
    """The synthetic policies: ≈ 5.5 conditions each, drawn from a shared pool."""
    rng = random.Random(seed)
    pool = condition_pool(rng)
    rng.shuffle(pool)
    weights = [1 / (k + 1) ** 0.7 for k in range(len(pool))]  # Zipf-like: a few recur often
    specs: list[Spec] = []
    for i in range(count):
        n = max(2, min(9, round(rng.gauss(5.5, 1.6))))
        chosen: dict[str, str] = {}
        while len(chosen) < n:
            text, says = rng.choices(pool, weights)[0]
            chosen.setdefault(text, says)
        spec = Spec(f"household.syn.p{i:03d}", list(chosen.items()), None)
        if any("{line}" in t for t in chosen):
            first = rng.choice(INCOME_LINES[2:8])
            spec.parameters["line"] = [("2020-01-01", first), ("2024-01-01", first + 25)]
            spec.conditions = [(t.replace("{line}", "params.line"), s) for t, s in spec.conditions]
        if rng.random() < 0.85:
            text, params = rng.choice(_AMOUNTS)
            for name, (lo, hi) in params.items():
                spec.parameters[name] = [("2020-01-01", float(rng.randrange(lo, hi, 10)))]
            spec.amount = text
        if rng.random() < 0.3:
            spec.regions = sorted(rng.sample(COUNTIES, rng.randint(1, 2)))
        specs.append(spec)
    for _ in range(count // 20):  # excludes pairs, declared on one side
        a, b = rng.sample(range(count), 2)
        if specs[b].id not in specs[a].excludes and specs[a].id not in specs[b].excludes:
            specs[a].excludes.append(specs[b].id)
    return specs


def policy_yaml(spec: Spec) -> str:
    """One policy file's text."""
    lines = [
        f"id: {spec.id}",
        f"title: {_q('合成政策 ' + spec.id[-4:])}",
        "department: 合成部门",
        "subject: household",
    ]
    if spec.regions:
        lines.append(f"regions: {_in(tuple(spec.regions))}")
    lines += ["effective: {from: 2020-01-01}", "delivery: auto"]
    if spec.amount is None:
        lines.append("kind: service")
    if spec.parameters:
        lines.append("parameters:")
        for name, values in spec.parameters.items():
            dated = ", ".join(f"{d}: {v:g}" for d, v in values)
            lines += [
                f"  {name}:",
                f"    values: {{{dated}}}",
                "    unit: 元",
                "    reference: 合成参数（基准测试用）",
                "    illustrative: true",
            ]
    lines.append("eligible:")
    for text, says in spec.conditions:
        lines += [f"  - when: {_q(text)}", f"    says: {_q(says)}"]
    if spec.amount is not None:
        lines.append(f"benefit: {{amount: {_q(spec.amount)}, unit: CNY, period: month}}")
    if spec.excludes:
        lines.append(f"excludes: {_in(tuple(spec.excludes))}")
    lines.append("basis: 基准测试合成政策")
    return "\n".join(lines) + "\n"


def write_catalogue(out: Path, count: int = 200, seed: int = 2025) -> Path:
    """Write facts.yaml and the synthetic policy files under `out`; returns the policies root."""
    root = out / "policies"
    target = root / "household" / "syn"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "facts.yaml", root / "facts.yaml")
    for spec in policy_specs(count, seed):
        (target / f"{spec.id.rsplit('.', 1)[1]}.yaml").write_text(policy_yaml(spec), "utf-8")
    return root


def synthetic_catalogue(count: int = 200, seed: int = 2025) -> Catalogue:
    """The synthetic catalogue, loaded (and so checked) by `load_catalogue`."""
    with tempfile.TemporaryDirectory(prefix="zhida-syn-") as tmp:
        return load_catalogue(write_catalogue(Path(tmp), count, seed))


def describe(catalogue: Catalogue) -> str:
    """Policies, conditions and distinct conditions, as one line."""
    policies = catalogue.for_subject("household")
    texts = [c.text for p in policies for c in p.conditions]
    paid = sum(p.amount is not None for p in policies)
    return (
        f"{len(policies)} household policies, {len(texts)} conditions "
        f"({len(set(texts))} distinct), {paid} with amounts, "
        f"{sum(bool(p.spec.regions) for p in policies)} regional, "
        f"{sum(len(p.spec.excludes) for p in policies)} excludes pairs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policies", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--out", type=Path, help="write the rule files here (default: check only)")
    args = parser.parse_args()
    if args.out is not None:
        root = write_catalogue(args.out, args.policies, args.seed)
        print(f"wrote {root}: {describe(load_catalogue(root))}")
    else:
        print(describe(synthetic_catalogue(args.policies, args.seed)))


if __name__ == "__main__":
    main()
