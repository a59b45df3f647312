"""The entitlement history: intervals that grow with changes, not days, and answer an appeal."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from cli import app
from matcher.profiles.derive import household_facts
from matcher.profiles.parse import parse_household
from matcher.vector.columns import from_facts
from matcher.vector.engine import compile_catalogue, run
from rules.catalogue import Catalogue, load_catalogue
from store.db import read_session
from store.sweep.history import entitlement_history, entitlements_on, rule_hash
from store.sweep.run import SweepConflict, SweepDateError, begin_sweep, run_sweep
from store.tables.entitlements import EntitlementPublic
from synth.identifiers import make_ric
from tests.store.test_sweep import (
    CHUNK,
    ON,
    ROOT,
    _catalogue,
    _expected,
    _ids,
    _raw_households,
    _rows,
    _store,
)

LONGEVITY = "household.elderly.longevity"
CARE = "household.disability.care_allowance"
_TABLES = ("entitlement", "entitlement_change", "outbox", "audit", "sweep_run")


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    """The test database with the synthetic households stored."""
    _store(engine, list(_raw_households()))
    return engine


def _sweep(
    engine: Engine, on: date, region: str | None = None, catalogue: Catalogue | None = None,
    root: Path = ROOT,
) -> Any:  # fmt: skip
    catalogue = catalogue or _catalogue()
    start = begin_sweep(engine=engine, catalogue=catalogue, root=root, on=on, region=region)
    return run_sweep(engine=engine, start=start, catalogue=catalogue, chunk_size=CHUNK)


def _counts(engine: Engine) -> dict[str, int]:
    return {t: _rows(engine, f"SELECT COUNT(*) FROM {t}")[0][0] for t in _TABLES}


def _elder(**facts: Any) -> dict[str, Any]:
    """A household whose head turns 80 on 2025-03-10 and whose mother is 89 on 2025-03-01."""
    return {
        "household_id": "H-ELDER", "region_code": "520602100201", "local_hukou": True,
        "members": [
            {"id_number": make_ric(birth=date(1945, 3, 10), seq=1), "relation": "head"},
            {"id_number": make_ric(birth=date(1935, 3, 20), seq=3), "relation": "parent"},
        ],
        **facts,
    }  # fmt: skip


def _on(engine: Engine, subject: int, day: date) -> dict[str, EntitlementPublic]:
    with read_session(engine) as session:
        found = entitlements_on(
            session=session, subject_kind="household", subject_id=subject, on=day
        )
    return {e.policy_id: e for e in found}


def _predicted(days: tuple[date, date], ids: dict[str, int]) -> set[tuple[int, str]]:
    """(subject, policy) pairs whose stored result differs between two dates (the engine's)."""
    catalogue, parsed = (
        _catalogue(),
        [parse_household(r, _catalogue().facts, today=ON) for r in _raw_households()],
    )
    results = []
    for day in days:
        facts = [household_facts(h, day) for h in parsed]
        result = run(
            compile_catalogue(catalogue, day, "household"), from_facts(facts, catalogue.facts)
        )
        found: dict[tuple[int, str], Any] = {}
        for row, h in enumerate(parsed):
            found |= _expected(ids[str(h.household_id)], result.results(row))
        results.append(found)
    before, after = results
    return {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


def test_a_later_sweep_writes_rows_only_for_results_that_changed(seeded: Engine) -> None:
    """Three days on nothing changes and no row is written; a week on, a baby's first birthday
    ends exactly the newborn entitlements the engine predicts, and nothing else."""
    _sweep(seeded, ON)
    ids, first = _ids(seeded, "household", "household_no"), _counts(seeded)
    later, week = ON + timedelta(days=3), ON + timedelta(days=7)
    assert _predicted((ON, later), ids) == set()
    quiet = _sweep(seeded, later)
    assert _counts(seeded) == {**first, "audit": first["audit"] + 2, "sweep_run": 2}
    assert quiet.counts["entitlements"] == {} and quiet.counts["changes"] == {}
    predicted = _predicted((later, week), ids)
    assert predicted and {p for _, p in predicted} <= {
        p for p in _catalogue().policies if p.startswith("household.newborn.")
    }
    birthday = _sweep(seeded, week)
    opened = _rows(seeded, "SELECT subject_id, policy_id, valid_from FROM entitlement "
                   "WHERE sweep_run_id = :r", r=birthday.run_id)  # fmt: skip
    assert {(o.subject_id, o.policy_id) for o in opened} == predicted
    assert {str(o.valid_from) for o in opened} == {str(week)}  # raw SQLite gives text
    closed = _rows(
        seeded, "SELECT subject_id, policy_id FROM entitlement WHERE valid_to = :d", d=str(week)
    )
    assert {(c.subject_id, c.policy_id) for c in closed} == predicted
    after = _counts(seeded)
    assert after["entitlement"] - first["entitlement"] == len(predicted)
    assert after["entitlement_change"] - first["entitlement_change"] == len(predicted)


def test_the_history_answers_entitled_on_a_date_for_a_household_that_changed_twice(
    engine: Engine,
) -> None:
    """A birthday, then a profile edit, give three intervals; each date gets the one in force,
    with its amount as an exact Decimal and the catalogue and rules that decided it."""
    _store(engine, [_elder()])
    _sweep(engine, ON)
    _sweep(engine, date(2025, 3, 10))  # the head turns 80: two members in the first tier
    _store(engine, [{k: v for k, v in _elder().items() if k != "local_hukou"}])
    _sweep(engine, date(2025, 3, 20))  # 户籍 no longer known: undetermined
    [subject] = _ids(engine, "household", "household_no").values()
    with read_session(engine) as session:
        history = entitlement_history(
            session=session, subject_kind="household", subject_id=subject, policy_id=LONGEVITY
        )
    assert [(h.valid_from, h.valid_to, h.status, h.amount) for h in history] == [
        (ON, date(2025, 3, 10), "eligible", Decimal("50.00")),
        (date(2025, 3, 10), date(2025, 3, 20), "eligible", Decimal("100.00")),
        (date(2025, 3, 20), None, "undetermined", None),
    ]
    text = (ROOT / "household/elderly/longevity.yaml").read_text(encoding="utf-8")
    assert {(h.catalogue_hash, h.rule_hash) for h in history} == {
        (_catalogue().version, rule_hash(text))
    }
    expected = {
        date(2025, 2, 28): None, ON: "50.00", date(2025, 3, 9): "50.00",
        date(2025, 3, 10): "100.00", date(2025, 3, 19): "100.00",
        date(2025, 3, 20): "undetermined", date(2026, 1, 1): "undetermined",
    }  # fmt: skip
    for day, want in expected.items():
        held = _on(engine, subject, day).get(LONGEVITY)
        got = None if held is None else (str(held.amount) if held.amount else held.status)
        assert got == want, day
    assert history[2].missing == ["local_hukou"] and history[2].conditions.startswith("U")


def test_edit_sweep_edit_back_sweep_keeps_both_transitions(engine: Engine) -> None:
    """Three sweeps on one day around an edit and its undoing keep three change rows and three
    notices (amounts as strings), and the day's last result is the one in force."""
    _store(engine, [_elder()])
    runs = [_sweep(engine, ON).run_id]
    _store(engine, [_elder(local_hukou=False)])
    runs.append(_sweep(engine, ON).run_id)
    _store(engine, [_elder()])
    runs.append(_sweep(engine, ON).run_id)
    changes = _rows(engine, "SELECT kind, sweep_run_id, after_amount FROM entitlement_change "
                    "WHERE policy_id = :p ORDER BY id", p=LONGEVITY)  # fmt: skip
    kinds = ["newly_eligible", "no_longer_eligible", "newly_eligible"]
    assert [(c.kind, c.sweep_run_id) for c in changes] == list(zip(kinds, runs, strict=True))
    notices = _rows(engine, "SELECT dedup_key, payload FROM outbox WHERE policy_id = :p "
                    "AND change_id IS NOT NULL ORDER BY id", p=LONGEVITY)  # fmt: skip
    assert len({n.dedup_key for n in notices}) == 3
    payloads = [
        orjson.loads(n.payload) if isinstance(n.payload, str) else n.payload for n in notices
    ]
    assert [p["after"]["amount"] for p in payloads] == ["50.00", None, "50.00"]
    assert payloads[1]["before"] == {"status": "eligible", "amount": "50.00"}
    audited = _rows(engine, "SELECT details FROM audit WHERE action = 'entitlement.change'")
    assert any('"amount":"50.00"' in a.details for a in audited)
    [subject] = _ids(engine, "household", "household_no").values()
    assert _on(engine, subject, ON)[LONGEVITY].status == "eligible"
    with read_session(engine) as session:
        history = entitlement_history(
            session=session, subject_kind="household", subject_id=subject, policy_id=LONGEVITY
        )
    assert [(h.status, h.valid_to) for h in history] == [
        ("eligible", ON), ("ineligible", ON), ("eligible", None),
    ]  # fmt: skip


def _without(tmp_path: Path, policy_file: str, edit: str | None = None) -> tuple[Catalogue, Path]:
    """A copy of the catalogue with one policy file removed, or with `edit` appended to it."""
    root = tmp_path / "policies"
    shutil.copytree(ROOT, root)
    if edit is None:
        (root / policy_file).unlink()
    else:
        with (root / policy_file).open("a", encoding="utf-8") as handle:
            handle.write(edit)
    return load_catalogue(root), root


def test_a_policy_removed_from_the_catalogue_ends_with_a_notice_region_by_region(
    seeded: Engine, tmp_path: Path
) -> None:
    """Removing a policy ends its open eligible and undetermined intervals, first only inside the
    swept region, each with a `no_longer_eligible` change, a notice saying why, and an audit
    record; no other policy writes a row."""
    _sweep(seeded, ON)
    open_care = (
        "SELECT e.subject_id, h.region_code FROM entitlement e JOIN household h "
        "ON h.id = e.subject_id WHERE e.policy_id = :p AND e.valid_to IS NULL "
        "AND e.status <> 'ineligible'"
    )
    held = {r.subject_id: r.region_code for r in _rows(seeded, open_care, p=CARE)}
    region = Counter(code[:9] for code in held.values()).most_common(1)[0][0]
    inside = {s for s, code in held.items() if code.startswith(region)}
    assert inside and len(inside) < len(held)
    catalogue, root = _without(tmp_path, "household/disability/care_allowance.yaml")
    day = ON + timedelta(days=1)
    regional = _sweep(seeded, day, region=region, catalogue=catalogue, root=root)
    ended = _rows(seeded, "SELECT subject_id, policy_id, status, rule_hash FROM entitlement "
                  "WHERE sweep_run_id = :r", r=regional.run_id)  # fmt: skip
    assert {(e.subject_id, e.policy_id) for e in ended} == {(s, CARE) for s in inside}
    assert {(e.status, e.rule_hash) for e in ended} == {("ineligible", None)}
    assert {tuple(r) for r in _rows(seeded, open_care, p=CARE)} == {
        (s, code) for s, code in held.items() if s not in inside
    }
    changes = _rows(seeded, "SELECT kind FROM entitlement_change WHERE sweep_run_id = :r",
                    r=regional.run_id)  # fmt: skip
    assert [c.kind for c in changes] == ["no_longer_eligible"] * len(inside)
    notices = _rows(seeded, "SELECT payload FROM outbox WHERE dedup_key LIKE :k",
                    k=f"%:{regional.run_id}")  # fmt: skip
    reasons = [
        orjson.loads(n.payload) if isinstance(n.payload, str) else n.payload for n in notices
    ]
    assert [p["reason"] for p in reasons] == ["policy_removed"] * len(inside)
    audited = _rows(seeded, "SELECT details FROM audit WHERE action = 'entitlement.change' "
                    "AND details LIKE :p", p='%"policy_removed"%')  # fmt: skip
    assert len(audited) == len(inside)
    everywhere = _sweep(seeded, day, catalogue=catalogue, root=root)
    assert everywhere.counts["changes"] == {"no_longer_eligible": len(held) - len(inside)}
    assert _rows(seeded, open_care, p=CARE) == []


def test_a_republished_policy_cuts_intervals_of_that_policy_only(
    seeded: Engine, tmp_path: Path
) -> None:
    """An edit to one policy's file cuts a new interval for each of its open results, under the
    new catalogue and without a notice; the other policies write nothing."""
    first = _sweep(seeded, ON)
    count = "SELECT COUNT(*) FROM entitlement WHERE policy_id = :p AND status <> 'ineligible'"
    held = _rows(seeded, count, p=LONGEVITY)[0][0]
    catalogue, root = _without(tmp_path, "household/elderly/longevity.yaml", "# reviewed\n")
    day = ON + timedelta(days=1)
    report = _sweep(seeded, day, catalogue=catalogue, root=root)
    cut = _rows(seeded, "SELECT subject_id, policy_id FROM entitlement WHERE sweep_run_id = :r",
                r=report.run_id)  # fmt: skip
    assert held > 0 and len(cut) == held and {c.policy_id for c in cut} == {LONGEVITY}
    assert report.counts["changes"] == {} and first.run_id != report.run_id
    subject = cut[0].subject_id
    before, after = _on(seeded, subject, ON)[LONGEVITY], _on(seeded, subject, day)[LONGEVITY]
    assert (before.catalogue_hash, after.catalogue_hash) == (
        _catalogue().version,
        catalogue.version,
    )
    assert (before.status, before.amount) == (after.status, after.amount)
    assert before.rule_hash != after.rule_hash and before.valid_to == day


def test_a_sweep_dated_before_the_latest_sweep_of_its_region_is_refused(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """History only moves forward: an earlier date is refused for an overlapping region, with a
    message naming the latest date, and allowed for a region that does not overlap."""
    _sweep(engine, ON, region="520602")
    earlier = ON - timedelta(days=1)
    for region in (None, "52", "520602100"):
        with pytest.raises(SweepDateError, match="已于 2025-03-01 普查"):
            begin_sweep(engine=engine, catalogue=_catalogue(), root=ROOT, on=earlier, region=region)
    assert _sweep(engine, earlier, region="520603").counts.get("households", 0) == 0
    assert _sweep(engine, ON, region="520602").run_id  # the same date again is fine
    monkeypatch.setenv("DATABASE_URL", database_url)
    said = CliRunner().invoke(app, ["sweep", "--on", str(earlier), "--region", "5206"])
    assert said.exit_code == 2 and "only moves forward" in said.output
    assert "Traceback" not in said.output


def test_a_new_sweep_abandons_an_unfinished_one_with_the_reason(
    engine: Engine, tmp_path: Path
) -> None:
    """A start under another region, date or catalogue marks the unfinished run abandoned with
    what differs, audits it, and the process still sweeping it stops at its next checkpoint."""
    _store(engine, [_elder()])
    catalogue, root = _catalogue(), ROOT
    starts = [begin_sweep(engine=engine, catalogue=catalogue, root=root, on=ON, region=None)]
    edited, edited_root = _without(tmp_path, "household/elderly/longevity.yaml", "# reviewed\n")
    for day, region, cat, where in [
        (ON, "5206", catalogue, root),
        (ON + timedelta(days=1), "5206", catalogue, root),
        (ON + timedelta(days=1), "5206", edited, edited_root),
    ]:
        starts.append(begin_sweep(engine=engine, catalogue=cat, root=where, on=day, region=region))
    reasons = [s.abandoned for s in starts]
    assert reasons[0] == () and all(len(r) == 1 for r in reasons[1:])
    assert "全部地区 → 地区 5206" in reasons[1][0]
    assert "日期 2025-03-01 → 2025-03-02" in reasons[2][0]
    assert "政策目录版本 1 → 2" in reasons[3][0]
    runs = _rows(engine, "SELECT state, reason FROM sweep_run ORDER BY id")
    assert [r.state for r in runs] == ["abandoned"] * 3 + ["running"]
    assert runs[0].reason == reasons[1][0].removeprefix("1：")
    assert _rows(engine, "SELECT COUNT(*) FROM audit WHERE action = 'sweep.abandoned'")[0][0] == 3
    with pytest.raises(SweepConflict, match="已被放弃（abandoned）：被普查 2 取代"):
        run_sweep(engine=engine, start=starts[0], catalogue=catalogue, chunk_size=CHUNK)
    assert _rows(engine, "SELECT COUNT(*) FROM entitlement")[0][0] == 0
    run_sweep(engine=engine, start=starts[3], catalogue=edited, chunk_size=CHUNK)
    assert _rows(engine, "SELECT state FROM sweep_run WHERE id = 4")[0][0] == "done"
