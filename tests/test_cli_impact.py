"""`zhida impact`: the gain/loss table of a raised threshold, against the stored caseload."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import SQLModel
from typer.testing import CliRunner

import store.tables  # noqa: F401  (registers the tables)
from cli import app
from matcher.profiles.parse import parse_household
from rules.catalogue import load_catalogue
from store.db import read_session, write_session
from store.ingest.profiles import upsert_households
from synth.households import Population, generate_households, raw_households

ALLOWANCE = Path("policies/household/dibao/allowance.yaml")


def _seed(engine: Engine, households: int) -> None:
    catalogue = load_catalogue("policies")
    pop = Population(households=households, chunk_size=households, dibao_share=0.2)
    chunk = next(generate_households(pop))
    parsed = [parse_household(r, catalogue.facts) for r in raw_households(chunk)]
    with write_session(engine) as session:
        upsert_households(session=session, households=[(h, "seed") for h in parsed])


def _row_counts(engine: Engine) -> dict[str, int]:
    with read_session(engine) as session:
        return {
            t.name: session.execute(select(func.count()).select_from(t)).scalar_one()
            for t in SQLModel.metadata.sorted_tables
        }


def test_a_raised_threshold_prints_gains_by_village_and_writes_nothing(
    engine: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Raising the 低保 standard lists the villages that gain, totals them, and writes nothing."""
    _seed(engine, 1500)
    edited = tmp_path / "allowance.yaml"
    edited.write_text(
        ALLOWANCE.read_text(encoding="utf-8").replace("2024-01-01: 705", "2024-01-01: 900"),
        encoding="utf-8",
    )
    monkeypatch.setenv("DATABASE_URL", database_url)
    before = _row_counts(engine)
    result = CliRunner().invoke(app, ["impact", str(edited), "--on", "2025-03-01"])
    assert result.exit_code == 0, result.output
    assert "已存档案 1,500 户" in result.output and "未写入任何数据" in result.output
    assert "按村（社区）" in result.output and "按乡镇（街道）" in result.output
    total = next(
        line
        for line in result.output.splitlines()
        if line.startswith("household.dibao.allowance：")
    )
    gains = int(total.split("新增 +")[1].split("，")[0].replace(",", ""))
    assert gains > 0
    assert _row_counts(engine) == before


def test_an_unchanged_copy_changes_nothing_and_a_bad_region_is_refused(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The policy file as published gains and loses no one; a region prefix must be digits."""
    _seed(engine, 300)
    monkeypatch.setenv("DATABASE_URL", database_url)
    same = CliRunner().invoke(app, ["impact", str(ALLOWANCE), "--on", "2025-03-01"])
    assert same.exit_code == 0, same.output
    assert "无人新增、减少或金额变化" in same.output
    bad = CliRunner().invoke(app, ["impact", str(ALLOWANCE), "--region", "52' OR '1'='1"])
    assert bad.exit_code == 2
    assert "region prefix is 1–12 digits" in bad.output
