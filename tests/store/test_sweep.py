"""The entitlement sweep: what it stores, what it changes, what it refuses, on both databases."""

from __future__ import annotations

import copy
import re
from collections import Counter
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text, update
from typer.testing import CliRunner

from cli import app
from matcher.interpreter.match import PolicyResult, match
from matcher.profiles.derive import enterprise_facts, household_facts
from matcher.profiles.parse import parse_enterprise, parse_household
from matcher.vector.columns import from_facts
from matcher.vector.engine import compile_catalogue, run
from rules.catalogue import Catalogue, load_catalogue
from store.audit.log import verify
from store.db import read_session, write_session
from store.ingest.profiles import upsert_enterprises, upsert_households
from store.sweep.diff import INELIGIBLE, State, change_kind
from store.sweep.run import RegionError, SweepConflict, begin_sweep, run_sweep
from store.tables.entitlements import Entitlement
from store.tables.runs import SweepRun
from synth.enterprises import Enterprises, generate_enterprises
from synth.households import Population, generate_households, raw_households

ROOT = Path(__file__).parents[2] / "policies"
ON = date(2025, 3, 1)
HOUSEHOLDS, ENTERPRISES, CHUNK = 600, 120, 150
ID_NUMBER = re.compile(r"\d{17}[\dX]")
Raw = dict[str, Any]


@cache
def _catalogue() -> Catalogue:
    return load_catalogue(ROOT)


@cache
def _raw_households() -> tuple[Raw, ...]:
    pop = Population(households=HOUSEHOLDS, seed=11, as_of=ON, chunk_size=HOUSEHOLDS)
    return tuple(r for chunk in generate_households(pop) for r in raw_households(chunk))


@cache
def _raw_enterprises() -> tuple[Raw, ...]:
    return tuple(generate_enterprises(Enterprises(ENTERPRISES, seed=5, as_of=ON)).rows())


def _store(engine: Engine, households: list[Raw], enterprises: list[Raw] | None = None) -> None:
    facts = _catalogue().facts
    with write_session(engine) as session:
        parsed = [(parse_household(r, facts, today=ON), "test") for r in households]
        upsert_households(session=session, households=parsed)
        if enterprises:
            found = [(parse_enterprise(r, facts), "test") for r in enterprises]
            upsert_enterprises(session=session, enterprises=found)


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    """The test database with the synthetic households and enterprises stored."""
    _store(engine, list(_raw_households()), list(_raw_enterprises()))
    return engine


def _sweep(engine: Engine, on: date = ON, region: str | None = None) -> Any:
    start = begin_sweep(engine=engine, catalogue=_catalogue(), root=ROOT, on=on, region=region)
    return run_sweep(engine=engine, start=start, catalogue=_catalogue(), chunk_size=CHUNK)


def _rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with read_session(engine) as session:
        return list(session.execute(text(sql), params))


def _ids(engine: Engine, table: str, key: str) -> dict[str, int]:
    return {r[1]: r[0] for r in _rows(engine, f"SELECT id, {key} FROM {table}")}


def _verdicts(result: PolicyResult) -> str:
    return "".join("U" if c.verdict is None else "TF"[not c.verdict] for c in result.conditions)


def _expected(subject: int, results: Any) -> dict[tuple[int, str], tuple[Any, ...]]:
    """What a first sweep stores for one subject's results: every non-ineligible one."""
    return {
        (subject, r.policy_id): (
            r.status,
            r.amount if r.status == "eligible" else None,  # exact, to the fen, in every engine
            _verdicts(r),
            list(r.missing),
        )
        for r in results
        if r.status != "ineligible"
    }


def _stored(engine: Engine, kind: str) -> dict[tuple[int, str], tuple[Any, ...]]:
    """The stored intervals of `kind`, read through the table's types (amounts as Decimal)."""
    e = Entitlement.__table__.c  # type: ignore[attr-defined]
    with read_session(engine) as session:
        rows = session.execute(
            select(e.subject_id, e.policy_id, e.status, e.amount, e.conditions, e.missing,
                   e.dropped_for, e.valid_to).where(e.subject_kind == kind)
        ).all()  # fmt: skip
    out = {}
    for r in rows:
        assert r.dropped_for is None  # a dropped policy is ineligible: not stored on a first sweep
        assert r.valid_to is None  # a first sweep opens intervals only
        if r.amount is not None:  # exact money: a Decimal to the fen, never a float
            assert isinstance(r.amount, Decimal) and r.amount.as_tuple().exponent == -2
        out[(r.subject_id, r.policy_id)] = (r.status, r.amount, r.conditions, r.missing)
    return out


def test_a_sweep_stores_what_the_interpreter_and_the_vectorised_engine_decide(
    seeded: Engine,
) -> None:
    """Every stored household's and enterprise's entitlements equal both engines' results."""
    catalogue, report = _catalogue(), _sweep(seeded)
    assert report.counts["households"] == HOUSEHOLDS
    assert report.counts["enterprises"] == ENTERPRISES
    ids = _ids(seeded, "household", "household_no")
    parsed = [parse_household(r, catalogue.facts, today=ON) for r in _raw_households()]
    facts = [household_facts(h, ON) for h in parsed]
    interpreted, vectorised = {}, {}
    result = run(compile_catalogue(catalogue, ON, "household"), from_facts(facts, catalogue.facts))
    for row, (h, f) in enumerate(zip(parsed, facts, strict=True)):
        subject = ids[str(h.household_id)]
        interpreted |= _expected(subject, match(catalogue, f, ON, "household").results)
        vectorised |= _expected(subject, result.results(row))
    stored = _stored(seeded, "household")
    assert stored == interpreted == vectorised
    assert {"eligible", "undetermined"} <= {s for s, *_ in stored.values()}
    credit = _ids(seeded, "enterprise", "credit_code")
    expected_firms: dict[tuple[int, str], tuple[Any, ...]] = {}
    for raw in _raw_enterprises():
        e = parse_enterprise(raw, catalogue.facts)
        results = match(catalogue, enterprise_facts(e, ON), ON, "enterprise").results
        expected_firms |= _expected(credit[e.credit_code], results)
    firms = _stored(seeded, "enterprise")
    assert firms == expected_firms and firms
    statuses = Counter(s for s, *_ in [*stored.values(), *firms.values()])
    assert statuses == Counter(report.counts["entitlements"])


def test_a_first_sweep_queues_one_notice_per_change_without_id_numbers(seeded: Engine) -> None:
    """From an empty state every stored decision is a change with one outbox row and one audit."""
    _sweep(seeded)
    stored = _rows(seeded, "SELECT subject_kind, subject_id, policy_id, status FROM entitlement")
    changes = _rows(seeded, "SELECT id, subject_id, policy_id, kind FROM entitlement_change")
    outbox = _rows(seeded, "SELECT change_id, dedup_key, kind, payload FROM outbox")
    current = _rows(seeded, "SELECT id FROM entitlement WHERE valid_to IS NULL")
    assert len(changes) == len(stored) == len(outbox) == len(current) > 0
    kinds = Counter(c.kind for c in changes)
    assert set(kinds) == {"newly_eligible", "became_undetermined"}
    assert kinds["newly_eligible"] == sum(s.status == "eligible" for s in stored)
    by_change = {c.id: c for c in changes}
    hash_ = _catalogue().version
    for o in outbox:
        c = by_change[o.change_id]
        assert (
            o.dedup_key.startswith(f"{c.kind}:") and f":{c.policy_id}:{hash_}:{ON}:" in o.dedup_key
        )
        assert o.kind == c.kind
        assert not ID_NUMBER.search(str(o.payload))
    audited = _rows(
        seeded, "SELECT subject, details FROM audit WHERE action = 'entitlement.change'"
    )
    assert len(audited) == len(changes)
    assert all(not ID_NUMBER.search(a.details) for a in audited)


def test_sweeping_again_with_the_same_inputs_writes_nothing(seeded: Engine) -> None:
    """A second sweep of unchanged profiles adds no change or outbox row and rewrites nothing."""
    first = _sweep(seeded)
    counts = [
        _rows(seeded, f"SELECT COUNT(*) FROM {t}")[0][0]
        for t in ("entitlement", "entitlement_change", "outbox")
    ]
    second = _sweep(seeded)
    again = [
        _rows(seeded, f"SELECT COUNT(*) FROM {t}")[0][0]
        for t in ("entitlement", "entitlement_change", "outbox")
    ]
    assert again == counts
    assert second.run_id != first.run_id and second.counts["changes"] == {}
    assert {r[0] for r in _rows(seeded, "SELECT DISTINCT sweep_run_id FROM entitlement")} == {
        first.run_id
    }


def _edits(raws: list[Raw]) -> dict[str, tuple[str, Raw]]:
    """Four households edited so that each change kind occurs (found by the interpreter)."""
    catalogue, picked, out = _catalogue(), [], {}
    for raw in raws:
        f = household_facts(parse_household(raw, catalogue.facts, today=ON), ON)
        by_id = {r.policy_id: r for r in match(catalogue, f, ON, "household").results}
        head = raw["members"][0]
        incomes = [m.get("monthly_income") for m in f.members]
        known = all(x is not None for x in incomes) and incomes
        poor = known and sum(incomes) / len(incomes) < 690  # type: ignore[operator]  # +3: < 705
        if (
            by_id["household.dibao.allowance"].status == "eligible"
            and poor
            and "monthly_income" in head
        ):
            picked.append(raw)
        elif raw.get("dibao_status") == "none" and "dibao" not in out:
            out["dibao"] = ("newly_eligible", {**raw, "dibao_status": "active"})
    income, assets, hukou = (copy.deepcopy(r) for r in picked[:3])
    income["members"][0]["monthly_income"] += 3
    assets["assets_within_limit"] = False
    del hukou["local_hukou"]
    out |= {
        "income": ("amount_changed", income),
        "assets": ("no_longer_eligible", assets),
        "hukou": ("became_undetermined", hukou),
    }
    return out


def test_edited_profiles_give_exactly_the_expected_changes(seeded: Engine) -> None:
    """Edits after a sweep give the four change kinds the interpreter predicts, one notice each."""
    catalogue, first = _catalogue(), _sweep(seeded)
    raws = {r["household_id"]: r for r in _raw_households()}
    edits = _edits(list(raws.values()))
    _store(seeded, [raw for _, raw in edits.values()])
    second = _sweep(seeded)
    ids = _ids(seeded, "household", "household_no")
    expected = set()
    for _, raw in edits.values():
        before, after = (
            match(
                catalogue,
                household_facts(parse_household(r, catalogue.facts, today=ON), ON),
                ON,
                "household",
            )
            for r in (raws[raw["household_id"]], raw)
        )
        for b, a in zip(before.results, after.results, strict=True):
            kind = change_kind(
                State(b.status, b.amount) if b.status != "ineligible" else INELIGIBLE,
                State(a.status, a.amount),
            )
            if kind is not None:
                expected.add((ids[raw["household_id"]], a.policy_id, kind))
    run_changes = _rows(
        seeded,
        "SELECT subject_id, policy_id, kind FROM entitlement_change WHERE sweep_run_id = :r",
        r=second.run_id,
    )
    assert {tuple(c) for c in run_changes} == expected
    assert {k for _, _, k in expected} == {k for k, _ in edits.values()}
    notices = _rows(
        seeded,
        "SELECT subject_id, policy_id, kind, dedup_key FROM outbox WHERE dedup_key LIKE :run",
        run=f"%:{second.run_id}",
    )
    assert {(n.subject_id, n.policy_id, n.kind) for n in notices} == expected
    assert len(notices) == len(expected)
    ended = _rows(seeded, "SELECT status FROM entitlement WHERE sweep_run_id = :r", r=second.run_id)
    assert "ineligible" in {e.status for e in ended}
    assert first.run_id != second.run_id


def test_a_chunk_that_fails_at_its_last_statement_leaves_nothing_behind(seeded: Engine) -> None:
    """A chunk rolled back at its checkpoint leaves no entitlement, change, outbox or audit row."""
    start = begin_sweep(engine=seeded, catalogue=_catalogue(), root=ROOT, on=ON, region=None)
    first = min(_ids(seeded, "household", "household_no").values())
    audit_before = _rows(seeded, "SELECT COUNT(*) FROM audit")[0][0]
    with write_session(seeded) as session:  # another process moved the checkpoint meanwhile
        session.execute(
            update(SweepRun).where(SweepRun.id == start.run_id).values(last_household_id=first)
        )
    with pytest.raises(SweepConflict, match="已被另一进程推进"):
        run_sweep(engine=seeded, start=start, catalogue=_catalogue(), chunk_size=CHUNK)
    for table in ("entitlement", "entitlement_change", "outbox"):
        assert _rows(seeded, f"SELECT COUNT(*) FROM {table}")[0][0] == 0, table
    assert _rows(seeded, "SELECT COUNT(*) FROM audit")[0][0] == audit_before
    resumed = _sweep(seeded)  # the run resumes after the first household, from its checkpoint
    assert resumed.run_id == start.run_id and resumed.counts["households"] == HOUSEHOLDS - 1


def test_a_region_sweep_touches_only_that_prefix(seeded: Engine) -> None:
    """`region` limits the sweep to households and enterprises whose code starts with it."""
    report = _sweep(seeded, region="520602")
    regions = dict(_rows(seeded, "SELECT id, region_code FROM household"))
    inside = sum(code.startswith("520602") for code in regions.values())
    assert 0 < inside < HOUSEHOLDS and report.counts["households"] == inside
    subjects = _rows(seeded, "SELECT subject_id FROM entitlement WHERE subject_kind = 'household'")
    assert subjects and all(regions[s.subject_id].startswith("520602") for s in subjects)
    runs = _rows(seeded, "SELECT region_prefix, state FROM sweep_run")
    assert [tuple(r) for r in runs] == [("520602", "done")]


@pytest.mark.parametrize(
    "prefix", ["' OR '1'='1", "%", "_", "52%", "5206_", "52 ", "５２", "1234567890123", "52'--"]
)
def test_a_hostile_region_prefix_is_refused(
    engine: Engine, database_url: str, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A prefix that is not 1–12 digits is refused before anything is read or written."""
    with pytest.raises(RegionError, match="1–12 digits"):
        begin_sweep(engine=engine, catalogue=_catalogue(), root=ROOT, on=ON, region=prefix)
    monkeypatch.setenv("DATABASE_URL", database_url)
    result = CliRunner().invoke(app, ["sweep", "--region", prefix, "--on", str(ON)])
    assert result.exit_code == 2 and "1–12 digits" in result.output
    assert _rows(engine, "SELECT COUNT(*) FROM sweep_run")[0][0] == 0
    assert _rows(engine, "SELECT COUNT(*) FROM entitlement")[0][0] == 0


def test_the_audit_chain_verifies_after_sweeps(seeded: Engine) -> None:
    """After sweeps on two dates the chain verifies, with each run's start, end and changes."""
    _sweep(seeded)
    _sweep(seeded, on=date(2025, 3, 2))
    with read_session(seeded) as session:
        report = verify(session=session)
    assert report.ok and report.checked == _rows(seeded, "SELECT COUNT(*) FROM audit")[0][0]
    actions = Counter(r[0] for r in _rows(seeded, "SELECT action FROM audit"))
    assert actions["sweep.start"] == actions["sweep.done"] == 2
    changes = _rows(seeded, "SELECT COUNT(*) FROM entitlement_change")[0][0]
    assert actions["entitlement.change"] >= changes > 0


@pytest.mark.parametrize(
    ("before", "after", "kind"),
    [
        (INELIGIBLE, State("eligible", Decimal("100.00")), "newly_eligible"),
        (State("undetermined"), State("eligible", None), "newly_eligible"),
        (State("eligible", Decimal("100.00")), State("eligible", Decimal("100.0")), None),
        (
            State("eligible", Decimal("100.00")),
            State("eligible", Decimal("100.01")),
            "amount_changed",
        ),
        (
            State("eligible", Decimal("300.02")),
            State("eligible", Decimal("300.03")),
            "amount_changed",
        ),
        (State("eligible", None), State("eligible", Decimal("5.00")), "amount_changed"),
        (State("eligible", Decimal("100.00")), INELIGIBLE, "no_longer_eligible"),
        (State("eligible", Decimal("100.00")), State("undetermined"), "became_undetermined"),
        (INELIGIBLE, State("undetermined"), "became_undetermined"),
        (State("undetermined"), State("undetermined"), None),
        (State("undetermined"), INELIGIBLE, None),
        (INELIGIBLE, INELIGIBLE, None),
    ],
)
def test_the_change_between_two_states(before: State, after: State, kind: str | None) -> None:
    """Each pair of states gives the change the diff table names (amounts compared exactly)."""
    assert change_kind(before, after) == kind


def test_a_household_left_without_members_loses_its_entitlements(seeded: Engine) -> None:
    """When every member moves to another household, the old one's entitlements end."""
    _sweep(seeded)
    ids = _ids(seeded, "household", "household_no")
    held = (
        "SELECT subject_id FROM entitlement "
        "WHERE status = 'eligible' AND subject_kind = 'household'"
    )
    eligible = Counter(r.subject_id for r in _rows(seeded, held))
    left = next(r for r in _raw_households() if eligible[ids[r["household_id"]]] >= 2)
    _store(seeded, [{**left, "household_id": "moved-001"}])  # the same people, a new 户编号
    second = _sweep(seeded)
    gone = ids[left["household_id"]]
    changes = _rows(
        seeded,
        "SELECT subject_id, kind FROM entitlement_change "
        "WHERE sweep_run_id = :r AND subject_kind = 'household'",
        r=second.run_id,
    )
    ended = {c.kind for c in changes if c.subject_id == gone}
    assert ended == {"no_longer_eligible"}
    assert sum(c.subject_id == gone for c in changes) == eligible[gone]
    current = (
        "SELECT 1 FROM entitlement WHERE subject_id = :s AND subject_kind = 'household' "
        "AND valid_to IS NULL AND status <> 'ineligible'"
    )
    assert not _rows(seeded, current, s=gone)
    newcomer = max(_ids(seeded, "household", "household_no").values())
    assert {c.kind for c in changes if c.subject_id == newcomer} >= {"newly_eligible"}
