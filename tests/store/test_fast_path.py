"""The batch fast paths agree with the reference ones.

- `RowPlan` (typed cells taken as they are, each ID parsed once, models built from checked
  values) accepts exactly the households `parse_household` accepts, and builds equal ones; a
  household it cannot accept goes to `parse_household`, so refusals carry the same issues.
- `fast_converter` gives what `convert` gives, or the same `CellError`; neither ever raises
  anything else.
- `BatchMatcher` (the vectorised engine) gives the interpreter's non-ineligible results.

The catalogue is the real one with domains on its number and date facts
(`tests/sheets/domain_sheets.py`), so out-of-domain and absurd numbers are refused alike.
"""

from __future__ import annotations

import copy
import math
import random
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from matcher.interpreter.match import PolicyResult, match
from matcher.profiles.derive import household_facts
from matcher.vector.batch import BatchMatcher
from rules.catalogue import Catalogue
from sheets.cells import CellError, convert, fast_converter
from sheets.grouping import Group, RowPlan, slow_validate, validate_group
from sheets.guards import Limits
from sheets.households import HouseholdSheet, read_header
from sheets.sources import open_rows
from sheets.template import columns_for
from synth.enterprises import Enterprises
from synth.files import write_demo_data
from synth.households import Population
from tests.sheets.domain_sheets import domain_catalogue

ON = date(2025, 3, 1)
LIMITS = Limits(max_cell_chars=40)


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Catalogue:
    return domain_catalogue(tmp_path_factory.mktemp("domains"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, catalogue: Catalogue) -> Path:
    out = tmp_path_factory.mktemp("demo")
    write_demo_data(out, catalogue.facts, Population(households=300, seed=11, as_of=ON),
                    Enterprises(0))  # fmt: skip
    return out


def _groups(path: Path, catalogue: Catalogue) -> tuple[list[Group], Any]:
    source = open_rows(path, LIMITS)
    index, _ = read_header(source.header, columns_for(catalogue.facts, "household"), "household")
    key = next(i for i, c in index if c.key == "household_id")
    groups: dict[str, Group] = {}
    for number, cells in source.rows:
        hid = cells[key]
        groups.setdefault(hid, Group(hid, number, index)).rows.append((number, cells))
    return list(groups.values()), index


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


def _id_mutations(value: str, rng: random.Random) -> list[Any]:
    i = rng.randrange(17)
    digit = str((int(value[i]) + rng.randrange(1, 10)) % 10)
    j = rng.randrange(16)
    swapped = value[:j] + value[j + 1] + value[j] + value[j + 2 :]
    return [
        value[:i] + digit + value[i + 1 :],  # one substitution
        swapped,  # adjacent swap (may be a no-op)
        _full_width(value),
        value.lower(),
        f"  {value} ",
        float(value[:17]) * 10,
        f"{value[0]}.{value[1:12]}E+17",
        value[:6] + "20300101" + value[14:],  # born after ON (check digit wrong too)
        value[:6] + value[8:17],  # 15 digits
        value[:17],
        "   ",
    ]


MUTATIONS: dict[str, list[Any]] = {
    "relation": ["表哥", "head", " 户主 ", "HEAD", "Head", "户主", "配偶", 1.0, True],
    "region_code": ["52062510020", _full_width("520625100201"), "520625000201", 5.2e11, " x "],
    "name": ["王\u200b芳", " 王芳 ", "买买提.艾力", "Ｊｏｈｎ", 123.0, "李·四", "A b", "\t"],
    "number": [
        "很多",
        "1,200",
        " 300 ",
        math.nan,
        math.inf,
        True,
        12,
        "1e3",
        "٣٠٠",
        "  ",
        # outside a domain, or no number zhida can hold (a bank card, an ID):
        -5,
        -1,
        1.5,
        2.0,
        0.1 + 0.2,
        1e30,
        "1e30",
        99999999999999999999,
        "99999999999999999999",
        6.222021234567891e18,
        "-0.01",
        1000001,
        "1e-400",
    ],
    "bool": ["是", "Y", "yes ", 1.0, 2, "maybe", "否", "TRUE", 0, datetime(2020, 1, 1)],
    "string": ["ACTIVE", " active", "actve", "ａｃｔｉｖｅ", 7.0, "none", "x" * 50, "=1+1"],
}


def _mutate(group: Group, index: Any, rng: random.Random) -> str:
    number, cells = rng.choice(group.rows)
    at, column = rng.choice([(i, c) for i, c in index if c.key != "household_id"])
    if column.key == "id_number" and isinstance(cells[at], str) and len(cells[at]) == 18:
        value = rng.choice(_id_mutations(cells[at], rng))
    elif column.key in MUTATIONS:
        value = rng.choice(MUTATIONS[column.key])
    else:
        value = rng.choice(MUTATIONS.get(column.type, MUTATIONS["string"]))
    new = list(cells)
    new[at] = value
    group.rows[group.rows.index((number, cells))] = (number, new)
    return column.key


def _household_level(group: Group, index: Any, rng: random.Random) -> None:
    """Two heads, a repeated ID, or two different values of a household fact."""
    if len(group.rows) < 2:
        return
    first, second = group.rows[0][1], list(group.rows[1][1])
    keys = {c.key: i for i, c in index}
    kind = rng.choice(["head", "id", "fact"])
    if kind == "head":
        second[keys["relation"]] = "户主"
    elif kind == "id":
        second[keys["id_number"]] = first[keys["id_number"]]
    else:
        second[keys["dibao_status"]] = "lapsed" if first[keys["dibao_status"]] != "lapsed" else ""
    group.rows[1] = (group.rows[1][0], second)


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_fast_path_accepts_and_refuses_as_parse_household(
    suffix: str, demo: Path, catalogue: Catalogue
) -> None:
    """Valid and mutated generated households: same acceptance, equal households, same issues."""
    groups, index = _groups(demo / f"households{suffix}", catalogue)
    plan = RowPlan(index, catalogue.facts, ON, LIMITS)
    rng = random.Random(7)
    cases = [(g, "valid") for g in groups]
    for _ in range(6):
        for g in groups:
            mutated = copy.deepcopy(g)
            what = _mutate(mutated, index, rng)
            if rng.random() < 0.3:
                _household_level(mutated, index, rng)
                what += "+household"
            cases.append((mutated, what))
    accepted = refused = 0
    domains: set[str] = set()
    for group, what in cases:
        fast = plan.household(copy.deepcopy(group))
        reference = slow_validate(copy.deepcopy(group), catalogue.facts, ON, LIMITS)
        if what == "valid":
            assert fast is not None, group.household_id  # valid households take the fast path
        if fast is not None:
            assert reference == (fast, []), (what, group.household_id)
            accepted += 1
        else:
            refused += reference[0] is None
        domains |= {p.column for p in reference[1] if _outside(p.reason)}
        both = copy.deepcopy(group)
        assert validate_group(both, catalogue.facts, ON, LIMITS, plan) == reference, what
    assert accepted > len(groups) and refused > len(groups)  # both sides well exercised
    assert domains == {"月收入", "残疾等级"}  # out-of-domain and absurd numbers among them


def _outside(reason: str) -> bool:
    """Whether a refusal is a number outside its domain, or one zhida cannot hold."""
    return any(words in reason for words in ("超出取值范围", "应为整数", "过大", "有效数字"))


@pytest.mark.parametrize("kind", ["identity", "bool", "number", "date", "string"])
def test_fast_converter_equals_convert(kind: str, catalogue: Catalogue) -> None:
    """Every kind of cell a sheet can hold: the same value, or the same CellError message, and
    never another exception."""
    values: list[Any] = [
        "", " ", "是", "否", "true", "FALSE", "1", "0", "y", "有", "active", " none ",
        "ａｃｔｉｖｅ",
        "300", " 1,200 ", "1e3", "5.2E+17", "很多", "nan", "inf", "1_000", "٣٠٠", "2024-02-29",
        "2023-02-29", "2024/3/1", "户主", " 配偶", "HEAD", "外孙子女", "表哥", "x" * 41,
        "520625100201", " 522226197409248731 ", _full_width("520625100201"), "=1+1",
        True, False, 0, 1, 2, -3, 10**30, 0.0, 1.0, 2.5, -0.5, math.nan, math.inf, 5.2e17,
        date(2020, 1, 1), datetime(2020, 1, 1), datetime(2020, 1, 1, 8, 30), None, b"x",
        # domains and magnitudes (docs/rule-language.md, "Numbers and money"):
        -5, -1, 1.5, 2.0, 4, 5, 1000000, 1000001, 0.1 + 0.2, 1e30, "1e30", 10**20, 10**400,
        "99999999999999999999", "1e400", "1e-400", 1e-320, "-0", -0.0, 999999999999999,
        10**15, 1e15, 999999999999999.9, Decimal("1.5"), Decimal("NaN"), Decimal("1E+999999"),
        10**5000, -(10**70), 1.7976931348623157e308,
        "1,234.50", "１２３４．５", " 300 ", "+5", "1_0", "\x1f7\x1f", "7\x00", "ab\x00",
        date(2030, 1, 1), date(1900, 1, 1), ON, datetime(2030, 1, 1), "2030-01-01",
    ]  # fmt: skip
    every = [
        *columns_for(catalogue.facts, "household"),
        *columns_for(catalogue.facts, "enterprise"),
    ]
    columns = [c for c in every
               if (c.kind == "identity") == (kind == "identity")
               and (kind == "identity" or c.type == kind)]  # fmt: skip
    assert columns, f"the templates have no column of kind {kind}"
    for column in columns:
        fast = fast_converter(column, 40, ON)
        for value in values:
            try:
                expected: Any = ("ok", convert(column, value, 40, ON))
            except CellError as error:
                expected = ("error", str(error))
            try:
                got: Any = ("ok", fast(value))
            except CellError as error:
                got = ("error", str(error))
            assert got == expected and type(got[1]) is type(expected[1]), (column.key, value)


def _written(r: PolicyResult) -> tuple[Any, ...]:
    """What the result workbook takes of a result (the vector engine's reasons are shorter)."""
    return (r.policy_id, r.title, r.department, r.delivery, r.status, r.amount, r.unit,
            r.period, r.missing, r.bundle, r.dropped_for)  # fmt: skip


def test_batch_matcher_equals_the_interpreter(demo: Path, catalogue: Catalogue) -> None:
    """Generated households, matched in chunks: the interpreter's non-ineligible results."""
    sheet = HouseholdSheet(demo / "households.csv", catalogue.facts, on=ON, chunk=128)
    matcher = BatchMatcher(catalogue, ON)
    seen = 0
    for chunk in sheet:
        matched = matcher.match([v.household for v in chunk])
        counts: dict[str, list[int]] = {}
        for household, results in matched.outcomes:
            full = match(catalogue, household_facts(household, ON), ON, "household").results
            assert [_written(r) for r in results] == [
                _written(r) for r in full if r.status != "ineligible"
            ]
            for r in full:
                slot = ("eligible", "undetermined", "ineligible").index(r.status)
                counts.setdefault(r.policy_id, [0, 0, 0])[slot] += 1
            seen += 1
        assert {k: tuple(v) for k, v in counts.items()} == matched.counts
    assert seen == 300
