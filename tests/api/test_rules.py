"""The rule service over HTTP: `POST /api/match` explains what the interpreter decides, and the
catalogue's reads (open by default, behind a token with `ZHIDA_RULES_PUBLIC=0`)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from matcher.interpreter.match import match
from matcher.profiles.subjects import facts_for, kind_of_profile
from rules.catalogue import load_catalogue
from rules.numbers import fen_text
from tests.api.server import ROOT, Seeded, Server, start_server

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ON = "2025-03-01"


def _profile(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return data


def _expected(raw: dict[str, Any]) -> dict[str, Any]:
    """What the reference interpreter says of `raw`, by policy id."""
    catalogue = load_catalogue(ROOT)
    subject = kind_of_profile(raw).name
    facts = facts_for(raw, subject, catalogue.facts, date.fromisoformat(ON), source="test")
    return match(catalogue, facts, date.fromisoformat(ON), subject).by_id()


@pytest.mark.parametrize("example", ["dibao_household.json", "small_enterprise.json"])
def test_match_says_per_policy_what_the_interpreter_decides(api: Server, example: str) -> None:
    """Status, amount (to the fen), each condition's verdict and threshold agree with the engine."""
    raw = _profile(example)
    with api.client() as client:
        answer = client.post("/api/match", json={"profile": raw, "on": ON})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    expected = _expected(raw)
    assert body["on"] == ON and body["subject"] == kind_of_profile(raw).name
    assert {r["policy_id"] for r in body["results"]} == set(expected)
    for got in body["results"]:
        want = expected[got["policy_id"]]
        assert got["status"] == want.status, got["policy_id"]
        assert got["amount"] == fen_text(want.amount)
        assert got["missing"] == list(want.missing)
        pairs = [(c["says"], c["verdict"], c["threshold"]) for c in got["conditions"]]
        assert pairs == [(c.says, c.verdict, c.threshold) for c in want.conditions]
        assert [c["seen"] for c in got["conditions"]] == [dict(c.seen) for c in want.conditions]
    assert any(r["status"] == "eligible" and r["amount"] for r in body["results"])


def test_match_asks_for_missing_facts_and_lists_bundles(api: Server) -> None:
    """A profile without a fact some policy needs is told, once, which fact and of whom."""
    raw = _profile("dibao_household.json")
    raw.pop("local_hukou")
    with api.client() as client:
        body = client.post("/api/match", json={"profile": raw, "on": ON}).json()
    assert "local_hukou" in body["missing_facts"]
    ask = next(a for a in body["asks"] if a["fact"] == "local_hukou")
    assert ask["member"] is None and ask["policies"] and ask["label"] != "local_hukou"
    assert {b["bundle_id"] for b in body["bundles"]} >= {"household.dibao"}


def test_a_bad_profile_is_422_naming_the_json_path(api: Server) -> None:
    """A wrong check digit is refused at `profile.members[0].id_number`, the number masked."""
    raw = _profile("dibao_household.json")
    number = raw["members"][0]["id_number"]
    raw["members"][0]["id_number"] = number[:-1] + ("1" if number[-1] != "1" else "2")
    with api.client() as client:
        answer = client.post("/api/match", json={"profile": raw, "on": ON})
        unknown = client.post("/api/match", json={"profile": raw, "extra": 1})
        deep = client.post("/api/match", content=b'{"profile": {"a": ' + b"[" * 5000 + b"]" * 5000
                           + b"}}", headers={"content-type": "application/json"})  # fmt: skip
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    paths = [e["path"] for e in answer.json()["errors"]]
    assert paths == ["profile.members[0].id_number"]
    assert number[6:14] not in answer.text  # the birth date part of the number is not echoed
    assert unknown.status_code == 400 and "extra" in unknown.text
    assert deep.status_code == 400


def test_the_catalogue_reads_are_open_and_mask_test_profiles(api: Server) -> None:
    """Policies, one policy (dated parameters, references, cases), facts and the version."""
    catalogue = load_catalogue(ROOT)
    with httpx.Client(base_url=api.base_url) as client:  # no token: the rule service is public
        listed = client.get("/api/policies").json()["items"]
        one = client.get("/api/policies/household.dibao.water").json()
        missing = client.get("/api/policies/household.nothing.here")
        facts = client.get("/api/facts").json()["items"]
        version = client.get("/api/catalogue").json()
    assert [p["id"] for p in listed] == sorted(catalogue.policies)
    price = next(p for p in one["parameters"] if p["name"] == "price")
    assert price["values"][0]["from"] == "2022-01-01" and price["reference"]
    assert one["tests"] and all(
        "*" in t["profile"]["members"][0]["id_number"] for t in one["tests"]
    )
    assert missing.status_code == 404
    assert {f["name"] for f in facts} == set(catalogue.facts.facts)
    assert version["version"] == catalogue.version and version["policies"] == len(listed)
    assert version["published"] is True  # the seeded database was swept with this catalogue


def test_the_rule_service_needs_a_token_when_not_public(seeded: Seeded, tmp_path: Path) -> None:
    """With ZHIDA_RULES_PUBLIC=0 every rule path answers 401 without a token, 200 with one."""
    server = start_server(seeded, tmp_path, env={"ZHIDA_RULES_PUBLIC": "0"})
    try:
        body = {"profile": _profile("small_enterprise.json"), "on": ON}
        paths = ["/api/policies", "/api/policies/household.dibao.water", "/api/facts",
                 "/api/catalogue"]  # fmt: skip
        with httpx.Client(base_url=server.base_url) as anonymous:
            codes = [anonymous.get(p).status_code for p in paths]
            codes.append(anonymous.post("/api/match", json=body).status_code)
        assert codes == [401] * 5
        with server.client("cun") as client:
            codes = [client.get(p).status_code for p in paths]
            codes.append(client.post("/api/match", json=body).status_code)
        assert codes == [200] * 5
    finally:
        server.stop()
