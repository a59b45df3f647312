"""`store.drafts.publish_draft` on both databases: the file written, the version stored and
audited by the writer; a new policy placed by its id; a failed publish keeps the old file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from rules.catalogue import load_catalogue
from store.db import open_engine, read_session
from store.drafts import publish_draft
from store.tables.audit import AuditRecord
from store.tables.catalogue import CatalogueVersion
from tests.api.server import ROOT

WATER = (ROOT / "household" / "dibao" / "water.yaml").read_text(encoding="utf-8")
DEARER = WATER.replace("{2022-01-01: 2.6}", "{2022-01-01: 3.0}").replace(
    "amount: 13}", "amount: 15}"
)
NEW = WATER.replace("id: household.dibao.water", "id: household.dibao.water_extra").replace(
    "bundle: household.dibao\n", ""
)


def _copy(tmp_path: Path) -> Path:
    policies = tmp_path / "policies"
    shutil.copytree(ROOT, policies)
    return policies


def test_publish_stores_and_audits_the_version(engine: Engine, tmp_path: Path) -> None:
    """The draft replaces the policy's file; the version is stored and audited by the writer."""
    policies = _copy(tmp_path)
    done = publish_draft(engine=engine, root=policies, text=DEARER, name="w.yaml", actor="zhengce")
    assert done["file"] == "household/dibao/water.yaml" and done["replaced"] is True
    assert (policies / done["file"]).read_text(encoding="utf-8") == DEARER
    with read_session(engine) as s:
        row = s.execute(select(CatalogueVersion.content_hash, CatalogueVersion.published_by)).one()
        audit = s.execute(select(AuditRecord.actor, AuditRecord.action)).all()
    assert tuple(row) == (done["version"], "zhengce")
    assert [tuple(a) for a in audit] == [("zhengce", "catalogue.publish")]
    again = publish_draft(engine=engine, root=policies, text=DEARER, name="w.yaml", actor="x")
    assert again["version"] == done["version"] and again["new_version"] is False


def test_a_new_policy_goes_to_the_file_its_id_names(engine: Engine, tmp_path: Path) -> None:
    """`household.dibao.water_extra` is written to household/dibao/water_extra.yaml."""
    policies = _copy(tmp_path)
    done = publish_draft(engine=engine, root=policies, text=NEW, name="new.yaml", actor="zhengce")
    assert done["file"] == "household/dibao/water_extra.yaml" and done["replaced"] is False
    assert done["policies"] == len(load_catalogue(ROOT).policies) + 1


@pytest.mark.parametrize("draft", [DEARER, NEW], ids=["replaced", "added"])
def test_a_failed_publish_leaves_the_catalogue_as_it_was(tmp_path: Path, draft: str) -> None:
    """The database refuses the version (no tables): the old file is back, a new one gone."""
    policies = _copy(tmp_path)
    before = {p: p.read_bytes() for p in policies.rglob("*") if p.is_file()}
    broken = open_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # never migrated
    try:
        with pytest.raises(Exception, match="catalogue_version"):
            publish_draft(engine=broken, root=policies, text=draft, name="w.yaml", actor="zhengce")
    finally:
        broken.dispose()
    assert {p: p.read_bytes() for p in policies.rglob("*") if p.is_file()} == before
