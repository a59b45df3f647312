"""Publishing a catalogue: store its files under its content hash, once, audited."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from rules.catalogue import Catalogue, catalogue_paths
from store.audit.log import AuditEntry, append, inputs_hash
from store.tables.catalogue import CatalogueVersion

__all__ = ["catalogue_files", "catalogue_status", "get_version", "publish_catalogue"]


def catalogue_files(root: Path) -> dict[str, str]:
    """The text of every file a catalogue is loaded from (delivery reactions included), by path
    relative to `root`."""
    paths = catalogue_paths(root)
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in paths}


def get_version(*, session: Session, content_hash: str) -> CatalogueVersion | None:
    """The published catalogue with this content hash, if any."""
    query = select(CatalogueVersion).where(CatalogueVersion.content_hash == content_hash)
    return session.exec(query).first()


def publish_catalogue(
    *, session: Session, catalogue: Catalogue, root: Path, actor: str
) -> CatalogueVersion:
    """The stored version of `catalogue`, published (and audited) if it is new.

    Args:
        session: a write session.
        catalogue: the loaded catalogue; its `version` is the content hash.
        root: the folder it was loaded from (its files are stored as published).
        actor: who publishes.

    Returns:
        The catalogue version row (existing or new).
    """
    found = get_version(session=session, content_hash=catalogue.version)
    if found is not None:
        return found
    files = catalogue_files(root)
    row = CatalogueVersion(
        content_hash=catalogue.version,
        policy_ids=sorted(catalogue.policies),
        files=files,
        published_by=actor,
    )
    session.add(row)
    session.flush()
    entry = AuditEntry(
        actor=actor,
        action="catalogue.publish",
        subject=f"catalogue:{catalogue.version}",
        catalogue_hash=catalogue.version,
        inputs_hash=inputs_hash(files),
        details={"policies": len(catalogue.policies), "files": len(files)},
    )
    append(session=session, entry=entry)
    return row


def catalogue_status(*, session: Session, catalogue: Catalogue) -> dict[str, object]:
    """The served catalogue's version (its content hash), its size, and whether (when, by whom)
    that version was published."""
    row = get_version(session=session, content_hash=catalogue.version)
    return {
        "version": catalogue.version,
        "policies": len(catalogue.policies),
        "bundles": len(catalogue.bundles),
        "facts": len(catalogue.facts.facts),
        "published": row is not None,
        "published_at": None if row is None else row.published_at,
        "published_by": None if row is None else row.published_by,
    }
