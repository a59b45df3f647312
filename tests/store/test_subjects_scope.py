"""store.subjects on both databases: scope filtered in SQL, writes refused outside it."""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import Engine

from matcher.events.reactions import Reactions
from matcher.profiles.errors import ProfileError
from rules.catalogue import Catalogue, load_catalogue
from store.db import read_session
from store.scope import Scope
from store.subjects import find_subject, household_identity, list_households, put_subject
from store.subjects.writes import EventArgs
from synth.identifiers import make_ric

ROOT = Path(__file__).parents[2] / "policies"
ON = date(2025, 3, 1)
VILLAGE, SIBLING = "520602100201", "520602100202"


@cache
def _catalogue() -> Catalogue:
    return load_catalogue(ROOT)


def _events() -> EventArgs:
    c = _catalogue()
    return EventArgs(c, ROOT, Reactions.load(ROOT, c), "test", "test")


def _put(engine: Engine, scope: Scope, no: str, region: str, *seqs: int) -> object:
    people = [{"id_number": make_ric(birth=date(1950, 1, 1), seq=s),
               "relation": "head" if i == 0 else "spouse"} for i, s in enumerate(seqs)]  # fmt: skip
    raw = {"household_id": no, "region_code": region, "members": people}
    return put_subject(engine, scope=scope, kind="household", key=no, raw=raw, on=ON,
                       events=_events())  # fmt: skip


def test_a_village_reads_and_writes_only_its_own_households(engine: Engine) -> None:
    """Stored elsewhere: not found; a new profile elsewhere or a member held elsewhere: refused."""
    county = Scope(user="x", role="county", region="520602")
    cun = Scope(user="c", role="village", region=VILLAGE)
    assert _put(engine, county, "H-OWN", VILLAGE, 1) is not None
    assert _put(engine, county, "H-SIB", SIBLING, 3) is not None
    with read_session(engine) as s:
        assert find_subject(session=s, scope=cun, kind="household", key="H-SIB") is None
        assert find_subject(session=s, scope=cun, kind="household", key="H-OWN") is not None
        page = list_households(session=s, scope=cun, region="%", limit=10, offset=0)
        assert page.total == 0  # `%` is matched literally
        page = list_households(session=s, scope=cun, region=None, limit=10, offset=0)
        assert [i["household_no"] for i in page.items] == ["H-OWN"]
    assert _put(engine, cun, "H-SIB", VILLAGE, 3) is None  # stored outside: not found
    with pytest.raises(ProfileError) as refused:
        _put(engine, cun, "H-NEW", SIBLING, 5)
    assert [i.path for i in refused.value.issues] == ["region_code"]
    with pytest.raises(ProfileError) as moved:
        _put(engine, cun, "H-OWN", VILLAGE, 1, 3)  # the sibling household's head
    assert [i.path for i in moved.value.issues] == ["members[1].id_number"]
    assert household_identity(engine=engine, scope=cun, household_no="H-OWN") is not None
    township = Scope(user="t", role="township", region=VILLAGE[:9])
    assert household_identity(engine=engine, scope=township, household_no="H-OWN") is None
