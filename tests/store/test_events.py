"""The live event path: one profile change → events → reactions → entitlements and notices, in
one transaction, agreeing with the nightly sweep (both databases)."""

from __future__ import annotations

import json
import re
import time
from datetime import date, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from cli import app
from jobs.tasks import fire_deadlines
from matcher.events.reactions import Reactions
from matcher.profiles.parse import parse_household
from rules.catalogue import Catalogue, load_catalogue
from rules.clock import today
from store.db import read_session, write_session
from store.events.apply import ProfileChangeError, apply_change, change_in, setup_in
from store.events.deadlines import fire_due
from store.ingest.profiles import upsert_households
from store.sweep.run import SweepDateError, begin_sweep, run_sweep
from synth.demo import demo_village

ROOT = Path(__file__).parents[2] / "policies"
ON = date(2025, 3, 1)
ELDERLY = "5206021002010002"  # the demo village's second household: not 低保
ID_NUMBER = re.compile(r"\d{17}[\dX]")
runner = CliRunner()


@cache
def _catalogue() -> Catalogue:
    return load_catalogue(ROOT)


@cache
def _reactions() -> Reactions:
    return Reactions.load(ROOT, _catalogue())


def seed_demo(engine: Engine, households: int = 12) -> None:
    """The demo village stored (as an import stores it) and swept on ON."""
    facts = _catalogue().facts
    village = [
        (parse_household(r, facts, today=ON), "demo") for _, r in demo_village(households, ON)
    ]
    with write_session(engine) as session:
        upsert_households(session=session, households=village)
    sweep(engine)


def sweep(engine: Engine, on: date = ON) -> dict[str, Any]:
    """A full sweep; its counts."""
    start = begin_sweep(engine=engine, catalogue=_catalogue(), root=ROOT, on=on, region=None)
    counts: dict[str, Any] = run_sweep(engine=engine, start=start, catalogue=_catalogue()).counts
    return counts


def change(engine: Engine, key: str, on: date = ON, **facts: Any) -> Any:
    """`apply_change` on a household with the test's catalogue and reactions."""
    return apply_change(
        engine, catalogue=_catalogue(), root=ROOT, reactions=_reactions(), kind="household",
        key=key, facts=facts, on=on, actor="test", source="test",
    )  # fmt: skip


def count(engine: Engine, table: str, where: str = "1 = 1") -> int:
    with read_session(engine) as session:
        return int(
            session.execute(text(f"SELECT COUNT(*) FROM {table} WHERE {where}")).scalar_one()
        )


def _facts(engine: Engine, key: str) -> dict[str, Any]:
    with read_session(engine) as session:
        found = session.execute(
            text("SELECT facts FROM household WHERE household_no = :k"), {"k": key}
        ).scalar_one()
    return found if isinstance(found, dict) else dict(json.loads(found))


def _bundle() -> set[str]:
    return set(_catalogue().bundles["household.dibao"].spec.members)


def test_profile_set_dibao_active_queues_the_bundle_and_a_sweep_then_changes_nothing(
    engine: Engine, database_url: str
) -> None:
    """`zhida profile set … dibao_status=active` on a demo household writes the 低保 bundle's
    changes with one self-contained notice each (keyed by the event), and a sweep on the same
    date writes nothing more."""
    seed_demo(engine)
    before = count(engine, "outbox")
    result = runner.invoke(
        app,
        ["profile", "set", "household", ELDERLY, "dibao_status=在册", "--on", str(ON),
         "--root", str(ROOT)],
        env={"DATABASE_URL": database_url},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "dibao_granted" in result.output
    with read_session(engine) as session:
        rows = session.execute(
            text("SELECT o.dedup_key, o.payload, o.policy_id, c.event_id, c.kind FROM outbox o "
                 "JOIN entitlement_change c ON c.id = o.change_id WHERE o.id > :n"),
            {"n": before},
        ).all()  # fmt: skip
    assert f"通知已入队 {len(rows)} 条" in result.output
    assert {"household.dibao.water", "household.dibao.medical"} <= {r.policy_id for r in rows}
    assert {r.policy_id for r in rows} <= _bundle()
    for r in rows:
        payload = r.payload if isinstance(r.payload, dict) else json.loads(r.payload)
        assert r.kind == "newly_eligible" and r.dedup_key.endswith(f":{ON}:event{r.event_id}")
        spec = _catalogue().policies[r.policy_id].spec
        assert payload["policy"]["title"] == spec.title
        assert payload["policy"]["period"] == (spec.benefit.period if spec.benefit else None)
        says = [c.says for c in _catalogue().policies[r.policy_id].conditions]
        assert (payload["says"], payload["not_met"]) == (says, [])  # every condition held
        assert payload["notify"] == ["subject", "village"]
        assert not ID_NUMBER.search(str(payload))
    counts = [count(engine, t) for t in ("entitlement", "entitlement_change", "outbox")]
    assert sweep(engine)["changes"] == {}
    assert [count(engine, t) for t in ("entitlement", "entitlement_change", "outbox")] == counts


def test_a_rolled_back_event_transaction_leaves_no_change_no_notice_no_event(
    engine: Engine,
) -> None:
    """The profile change, its events, entitlement changes and outbox rows are one transaction:
    failing after they were written keeps none of them."""
    seed_demo(engine, households=4)
    tables = ("profile_change", "event", "entitlement", "entitlement_change", "outbox")
    counts = [count(engine, t) for t in tables]
    with pytest.raises(RuntimeError, match="after writing"), write_session(engine) as session:
        setup = setup_in(session, catalogue=_catalogue(), root=ROOT, reactions=_reactions(),
                         on=ON, actor="test", source="test")  # fmt: skip
        outcome = change_in(session, setup=setup, kind="household", key=ELDERLY,
                            facts={"dibao_status": "active"})  # fmt: skip
        assert outcome.notices and outcome.changes  # written, in this transaction
        raise RuntimeError("fail after writing")
    assert [count(engine, t) for t in tables] == counts
    assert _facts(engine, ELDERLY)["dibao_status"] == "none"


def test_dibao_lapsed_ends_the_follow_ons_next_month_and_its_deadline_fires_once(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Leaving 低保 ends the follow-ons with effective_on = the first of next month and a
    deadline due then; the due-deadline job fires it once, re-evaluating the household."""
    seed_demo(engine, households=4)
    change(engine, ELDERLY, dibao_status="active")
    lapsed = change(engine, ELDERLY, dibao_status="lapsed")
    assert [e.name for e in lapsed.events][0] == "dibao_lapsed"
    ended = [c for c in lapsed.changes if c.kind == "no_longer_eligible"]
    assert ended and {c.policy_id for c in ended} <= _bundle()
    assert {c.effective_on for c in ended} == {date(2025, 4, 1)}
    assert {n.payload["effective_on"] for n in lapsed.notices} == {"2025-04-01"}
    (deadline,) = lapsed.deadlines
    assert (deadline.event_name, deadline.due_on) == ("followons_end", date(2025, 4, 1))
    early = fire_due(engine, catalogue=_catalogue(), root=ROOT, reactions=_reactions(),
                     on=date(2025, 3, 31))  # fmt: skip
    assert early.outcomes == [] and early.failed == []
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert fire_deadlines(str(ROOT), on="2025-04-01") == 1
    assert fire_deadlines(str(ROOT), on="2025-04-02") == 0  # fired once
    with read_session(engine) as session:
        state, fired = session.execute(
            text("SELECT d.state, e.name FROM deadline d JOIN event e ON e.id = d.fired_event_id")
        ).one()
    assert (state, fired) == ("fired", "followons_end")


@pytest.mark.parametrize(
    ("facts", "member", "key", "said"),
    [
        ({"dibao_statu": "active"}, None, ELDERLY, "是否想写 dibao_status"),
        ({"monthly_income": 100}, None, ELDERLY, "monthly_income 是成员的事实"),
        ({"dibao_status": "yes"}, None, ELDERLY, "dibao_status: expected one of"),
        ({"dibao_status": "active"}, None, "5206021002019999", "户编号 '5206021002019999' 未找到"),
        ({"monthly_income": 1}, "110101199003077777", ELDERLY, "中没有这位成员"),
    ],
    ids=["unknown_fact", "member_fact_on_household", "bad_value", "unknown_household", "no_member"],
)
def test_a_bad_change_is_refused_clearly_and_stores_nothing(
    engine: Engine, facts: dict[str, Any], member: str | None, key: str, said: str
) -> None:
    """An unknown fact, a fact of another level, a bad value, an unknown household or member:
    one clear message, and no profile change, event or notice is written."""
    seed_demo(engine, households=3)
    tables = ("profile_change", "event", "entitlement_change", "outbox")
    counts = [count(engine, t) for t in tables]
    with pytest.raises(ProfileChangeError, match=re.escape(said)):
        apply_change(
            engine, catalogue=_catalogue(), root=ROOT, reactions=_reactions(), kind="household",
            key=key, facts=facts, member=member, on=ON, actor="test", source="test",
        )  # fmt: skip
    assert [count(engine, t) for t in tables] == counts


def test_a_date_before_the_subjects_history_is_refused(engine: Engine) -> None:
    """History only moves forward: a change dated before the last sweep is refused."""
    seed_demo(engine, households=3)
    with pytest.raises(ProfileChangeError, match="历史只能向前"):
        change(engine, ELDERLY, on=date(2025, 2, 1), dibao_status="active")
    assert count(engine, "event") == 0


def test_a_sweep_chunk_read_before_an_event_does_not_undo_it(engine: Engine) -> None:
    """A sweep chunk read and evaluated before an event commits is read again under the lock,
    so the sweep never writes the old profile's result over the event's."""
    from store.sweep.notes import policy_notes
    from store.sweep.run import LocalEvaluator, _Sweeper

    seed_demo(engine, households=4)
    start = begin_sweep(engine=engine, catalogue=_catalogue(), root=ROOT, on=ON, region=None)
    sweeper = _Sweeper(engine, start, _catalogue(), 100, None, notes=policy_notes(_catalogue()))
    sweeper.last = {"household": 0, "enterprise": 0}
    chunks = LocalEvaluator().chunks(
        engine=engine, start=start, catalogue=_catalogue(), kind="household", after=0,
        chunk_size=100,
    )  # fmt: skip
    chunk, outcome = next(chunks)  # the old profile
    granted = change(engine, ELDERLY, dibao_status="active")
    sweeper.store(chunk, outcome)
    with read_session(engine) as session:
        open_now = session.execute(
            text("SELECT policy_id, status FROM entitlement WHERE valid_to IS NULL "
                 "AND subject_id = :s AND policy_id = 'household.dibao.water'"),
            {"s": granted.events[0].subject_id},
        ).all()  # fmt: skip
    assert open_now == [("household.dibao.water", "eligible")]


def test_an_import_with_a_date_goes_through_the_event_path_and_agrees_with_the_sweep(
    engine: Engine, tmp_path: Path
) -> None:
    """An import given a date records events and queues the notices of the changed households
    in each chunk's transaction; a sweep on that date then writes nothing for them, and the
    same import again raises no event."""
    from store.ingest.run import Events, import_households
    from tests.store.test_import import demo_households

    sheet = demo_households(tmp_path, _catalogue(), 40)
    events = Events(_catalogue(), ROOT, _reactions(), ON)
    report = import_households(
        engine=engine, path=sheet, catalogue=_catalogue(), on=ON, chunk=15, events=events
    )
    assert report.counts["events"] >= 40 and report.counts["notices"] > 0
    assert (
        report.counts["notices"]
        == count(engine, "outbox")
        == count(engine, "entitlement_change", "event_id IS NOT NULL")
    )
    assert count(engine, "event", "source LIKE 'import %'") == report.counts["events"]
    assert sweep(engine)["changes"] == {}
    again = import_households(
        engine=engine, path=sheet, catalogue=_catalogue(), on=ON, chunk=15, events=events
    )
    assert again.counts["events"] == 0 and count(engine, "outbox") == report.counts["notices"]


def test_a_sweeps_notices_are_self_contained_too(engine: Engine) -> None:
    """A sweep's notice names its policy (title, department, delivery, basis, period, unit),
    the `says` of the conditions that held, and each missing fact with its Chinese label."""
    seed_demo(engine, households=6)  # the sixth: a 低保 household whose disability grade is unknown
    with read_session(engine) as session:
        rows = session.execute(text("SELECT kind, policy_id, payload FROM outbox")).all()
    payloads = [(k, p, r if isinstance(r, dict) else json.loads(r)) for k, p, r in rows]
    facts = _catalogue().facts.facts
    for _, pid, payload in payloads:
        spec = _catalogue().policies[pid].spec
        assert payload["policy"]["department"] == spec.department
        assert payload["policy"]["basis"] == spec.basis and "sweep_run_id" in payload
        assert [m["label"] for m in payload["missing"]] == [
            facts[m].label or facts[m].meaning for m in payload["after"]["missing"]
        ]
    undetermined = [p for k, _, p in payloads if k == "became_undetermined"]
    assert undetermined and all(p["missing"] for p in undetermined)


def test_a_change_dated_after_today_is_refused_and_the_nightly_sweep_still_runs(
    engine: Engine,
) -> None:
    """A change dated after today (Asia/Shanghai) is refused with the option, the date and
    today, and writes nothing; so tonight's sweep, dated today, is not held up by intervals
    opened in the future."""
    seed_demo(engine, households=3)
    tables = ("profile_change", "event", "entitlement", "entitlement_change", "outbox")
    counts = [count(engine, t) for t in tables]
    now = today()
    later = now + timedelta(days=1)
    with pytest.raises(ProfileChangeError, match=f"--on {later}：晚于今天 {now}（Asia/Shanghai）"):
        change(engine, ELDERLY, on=later, dibao_status="active")
    assert [count(engine, t) for t in tables] == counts
    with pytest.raises(ProfileChangeError, match="晚于今天"):  # nor do deadlines fire ahead
        fire_due(engine, catalogue=_catalogue(), root=ROOT, reactions=_reactions(), on=later)
    assert sweep(engine, on=now)["households"] == 3


def test_a_sweep_dated_before_an_events_intervals_is_refused_in_chinese(engine: Engine) -> None:
    """A sweep dated between the last sweep and a later event's date is refused, in Chinese,
    naming the interval's date and the sweep's (the history only moves forward)."""
    seed_demo(engine, households=3)
    change(engine, ELDERLY, on=date(2025, 3, 5), dibao_status="active")
    said = "--on 2025-03-02：本批户的享受记录已有始于 2025-03-05 的区间，晚于普查日期 2025-03-02"
    with pytest.raises(SweepDateError, match=re.escape(said)):
        sweep(engine, on=date(2025, 3, 2))


def test_profile_set_without_on_is_dated_today_in_shanghai_whatever_the_machines_zone(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`zhida profile set` without `--on`, on a machine whose zone (TZ) is on another date than
    Asia/Shanghai, dates the change today in Asia/Shanghai: the day the scheduler's sweep uses
    too, so a change after the night's sweep is never dated the day before it."""
    from jobs import tasks

    seed_demo(engine, households=3)
    shanghai = datetime.now(ZoneInfo("Asia/Shanghai"))
    # a POSIX zone on another date now: 20 h behind Shanghai before 19:00 there, 6 h ahead after
    zone, hours = ("XXX+12", -12) if shanghai.hour < 19 else ("XXX-14", 14)
    monkeypatch.setenv("TZ", zone)
    time.tzset()  # the process's local time is now that zone's (undone below)
    try:
        assert date.today() == datetime.now(timezone(timedelta(hours=hours))).date()
        assert date.today() != shanghai.date()
        result = runner.invoke(
            app, ["profile", "set", "household", ELDERLY, "dibao_status=active", "--root",
                  str(ROOT)], env={"DATABASE_URL": database_url},
        )  # fmt: skip
    finally:
        monkeypatch.undo()
        time.tzset()
    assert result.exit_code == 0, result.output
    with read_session(engine) as session:
        dated = session.execute(text("SELECT DISTINCT on_date FROM event")).scalars().all()
    days = {shanghai.date().isoformat(), today().isoformat()}  # should midnight pass meanwhile
    assert len(dated) == 1 and str(dated[0])[:10] in days
    assert tasks.today is today  # one function for the CLI's default and the scheduler's jobs


def test_a_deadline_that_cannot_fire_fails_with_its_reason_and_the_next_still_fires(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two due deadlines, the first refused by the event path (its household's history already
    reaches past the firing date): it is marked failed with the reason in Chinese and never
    retried, and the second fires."""
    seed_demo(engine, households=4)
    other = "5206021002010003"
    for key in (ELDERLY, other):
        change(engine, key, dibao_status="active")
        (deadline,) = change(engine, key, dibao_status="lapsed").deadlines
        assert deadline.due_on == date(2025, 4, 1)
    change(engine, ELDERLY, on=date(2025, 4, 5), dibao_status="active")  # after the firing date
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert fire_deadlines(str(ROOT), on="2025-04-02") == 1
    assert fire_deadlines(str(ROOT), on="2025-04-03") == 0  # the failed one is not retried
    with read_session(engine) as session:
        rows = session.execute(
            text("SELECT d.id, d.state, d.details, h.household_no FROM deadline d "
                 "JOIN household h ON h.id = d.subject_id ORDER BY d.id")
        ).all()  # fmt: skip
    assert [(r.household_no, r.state) for r in rows] == [(ELDERLY, "failed"), (other, "fired")]
    details = rows[0].details if isinstance(rows[0].details, dict) else json.loads(rows[0].details)
    assert details["failed"]["on"] == "2025-04-02"
    assert details["failed"]["reason"].startswith(f"期限 #{rows[0].id} 于 2025-04-02 无法触发")
    assert "享受记录已记到 2025-04-05" in details["failed"]["reason"]
    assert details["policies"]  # what the deadline said stays
