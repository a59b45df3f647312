"""The event path and the nightly sweep agree: after any sequence of profile changes made through
the event path, the current entitlements equal those a full sweep of the same profiles stores
in a fresh database, and a sweep after the event path writes nothing (hypothesis)."""

from __future__ import annotations

import itertools
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from matcher.profiles.errors import ProfileError
from matcher.profiles.parse import Household, Member, parse_household
from store.db import open_engine, read_session, write_session
from store.events.apply import ProfileChangeError, apply_profile
from store.ingest.documents import household_rows, stored_households
from store.ingest.profiles import upsert_households
from store.testing import fresh_postgres, fresh_sqlite
from synth.identifiers import make_ric
from tests.store.test_events import ON, ROOT, _catalogue, _reactions, change, seed_demo, sweep

HOUSEHOLDS = 4
KEYS = [f"520602100201{n:04d}" for n in range(1, HOUSEHOLDS + 1)]
_names = itertools.count()
_births = itertools.count()

household = st.integers(0, HOUSEHOLDS - 1)
member = st.integers(0, 3)
ops = st.one_of(
    st.tuples(st.just("dibao"), household, st.sampled_from(["active", "lapsed", "none", None])),
    st.tuples(st.just("income"), household, member, st.sampled_from([0, 250, 800, 3000, None])),
    st.tuples(st.just("assets"), household, st.sampled_from([True, False, None])),
    st.tuples(st.just("add_child"), household),
    st.tuples(st.just("remove"), household, member),
    st.tuples(st.just("move"), household, member, household),
)


def _documents(engine: Engine) -> dict[int, dict[str, Any]]:
    with read_session(engine) as session:
        ids = session.execute(text("SELECT id FROM household")).scalars().all()
        return stored_households(session, household_rows(session, ids))


def _raw(doc: dict[str, Any]) -> dict[str, Any]:
    members = [
        {**m["facts"], **{k: m[k] for k in ("id_number", "name", "relation") if m[k]}}
        for m in doc["members"]
    ]
    return {**doc["facts"], "household_id": doc["household_no"],
            "region_code": doc["region_code"], "members": members}  # fmt: skip


def _by_key(engine: Engine, key: str) -> dict[str, Any]:
    return next(d for d in _documents(engine).values() if d["household_no"] == key)


def _structural(engine: Engine, op: tuple[Any, ...]) -> Household | None:
    """The whole household after a member is added, removed or moved in (None: not valid)."""
    raw = _raw(_by_key(engine, KEYS[op[1]]))
    members = raw["members"]
    if op[0] == "add_child":
        number = make_ric(birth=date(2024, 6, 1 + next(_births) % 28), seq=800 + next(_names) % 99)
        members.append({"id_number": number, "relation": "child", "monthly_income": 0})
    elif op[0] == "remove" and op[2] < len(members):
        members.pop(op[2])
    elif op[0] == "move":
        source = _raw(_by_key(engine, KEYS[op[3]]))["members"]
        if op[3] == op[1] or op[2] >= len(source):
            return None
        members.append({**source[op[2]], "relation": "other"})
    try:
        return parse_household(raw, _catalogue().facts, today=ON)
    except ProfileError:
        return None


def _apply(engine: Engine, op: tuple[Any, ...]) -> None:
    key = KEYS[op[1]]
    try:
        if op[0] in ("dibao", "assets"):
            fact = "dibao_status" if op[0] == "dibao" else "assets_within_limit"
            change(engine, key, **{fact: op[2]})
        elif op[0] == "income":
            members = _by_key(engine, key)["members"]
            if op[2] < len(members):
                apply_change_member(engine, key, members[op[2]]["id_number"], op[3])
        elif (profile := _structural(engine, op)) is not None:
            apply_profile(engine, catalogue=_catalogue(), root=ROOT, reactions=_reactions(),
                          profile=profile, on=ON, actor="test", source="test")  # fmt: skip
        else:
            return
        event(f"{op[0]} applied")
    except ProfileChangeError:
        event(f"{op[0]} refused")  # e.g. a household left without a head: nothing stored


def apply_change_member(engine: Engine, key: str, number: str, income: int | None) -> None:
    from store.events.apply import apply_change

    apply_change(
        engine, catalogue=_catalogue(), root=ROOT, reactions=_reactions(), kind="household",
        key=key, facts={"monthly_income": income}, member=number, on=ON, actor="test",
        source="test",
    )  # fmt: skip


def _current(engine: Engine) -> dict[tuple[str, str], tuple[Any, ...]]:
    """Open non-ineligible intervals by (户编号, policy)."""
    with read_session(engine) as session:
        rows = session.execute(
            text("SELECT h.household_no, e.policy_id, e.status, e.amount, e.conditions, "
                 "e.missing, e.dropped_for FROM entitlement e JOIN household h "
                 "ON h.id = e.subject_id WHERE e.subject_kind = 'household' "
                 "AND e.valid_to IS NULL AND e.status != 'ineligible'")
        ).all()  # fmt: skip
    return {(r[0], r[1]): (r[2], _money(r[3]), r[4], tuple(_list(r[5])), r[6]) for r in rows}


def _money(value: Any) -> Decimal | None:
    """An amount as either database hands it back through plain SQL, to the fen."""
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def _list(value: Any) -> list[str]:
    """A JSON list as PostgreSQL (a list) or SQLite (its text) hands it back."""
    return list(json.loads(value) if isinstance(value, str) else value)


def _swept_afresh(engine: Engine, path: Path, template: Path) -> Engine:
    """A fresh database holding the same profiles, swept on ON."""
    fresh = fresh_sqlite(path, template)
    docs = sorted(_documents(engine).values(), key=lambda d: d["household_no"])
    households = [
        Household.model_construct(
            household_id=d["household_no"], region_code=d["region_code"], facts=d["facts"],
            members=[Member.model_construct(**{k: m[k] for k in ("id_number", "name", "relation",
                                                                 "facts")}) for m in d["members"]],
        )
        for d in docs
    ]  # fmt: skip
    with write_session(fresh) as session:
        upsert_households(session=session, households=[(h, "copy") for h in households])
    sweep(fresh)
    return fresh


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=st.lists(ops, min_size=1, max_size=6))
def test_after_any_change_sequence_the_event_path_and_a_sweep_agree(
    sequence: list[tuple[Any, ...]],
    database_kind: str,
    database_url: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
) -> None:
    """Random changes (低保 status, incomes, assets, members added, removed, moved) through the
    event path leave exactly the open entitlements a fresh full sweep stores, and a sweep on
    the same date then writes nothing."""
    n = next(_names)
    if database_kind == "sqlite":
        engine = fresh_sqlite(tmp_path / f"a{n}.db", sqlite_template)
    else:
        engine = open_engine(fresh_postgres(request.getfixturevalue("postgres_server_url"),
                                            f"agree_{n}_{id(sequence)}"))  # fmt: skip
    try:
        seed_demo(engine, households=HOUSEHOLDS)
        for op in sequence:
            _apply(engine, op)
        fresh = _swept_afresh(engine, tmp_path / f"b{n}.db", sqlite_template)
        try:
            assert _current(engine) == _current(fresh)
        finally:
            fresh.dispose()
        stored = [_count(engine, t) for t in ("entitlement", "entitlement_change", "outbox")]
        assert sweep(engine)["changes"] == {}
        assert [
            _count(engine, t) for t in ("entitlement", "entitlement_change", "outbox")
        ] == stored
    finally:
        engine.dispose()


def _count(engine: Engine, table: str) -> int:
    with read_session(engine) as session:
        return int(session.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())
