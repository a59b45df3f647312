"""A policy writer's draft against the stored caseload, and publishing it into the served catalogue.

    data = draft_impact(engine=e, root=r, current=c, text=t, name="water.yaml", on=d, scope=s)
    done = publish_draft(engine=e, root=r, text=t, name="water.yaml", actor="zhengce")

`draft_impact` is `zhida impact` as data: the catalogue with the draft in place of the policy of
the same id (or added), compared with the current one over every stored subject of the
policy's kind inside the writer's region (`store.scope.Scope.region`, narrowed by `region`),
with gains and losses per policy, township and village. It writes nothing.

`publish_draft` refuses (`DraftRefused`, each lint error and failing case at its place) unless
the draft lints without errors and its test cases pass; then it writes the draft over the
policy's file (a new policy goes to `<root>/<id with dots as folders>.yaml`, e.g.
`household/dibao/water.yaml`) atomically (a temporary file in the same folder, fsync,
`os.replace`), loads the whole catalogue again, and stores and audits the version
(`catalogue.publish`, by the writer) in one transaction. If anything fails after the write, the
old file is put back (or the new one removed) before the error goes on. Publishes are
serialised within the process; the service runs one process (`zhida serve`, one worker).
"""

from __future__ import annotations

import os
import tempfile
import threading
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from matcher.explain.drafts import DraftRefused, draft_candidate, run_draft_tests
from matcher.explain.impact import ImpactTally, Key, by_township
from matcher.profiles.regions import RegionTable, load_regions
from rules.catalogue import Catalogue, load_catalogue
from rules.errors import ZhidaError
from rules.numbers import fen_text
from store.audit.catalogues import get_version, publish_catalogue
from store.db import write_session
from store.scope import Scope
from store.sweep.impact import measure_impact

__all__ = ["OutsideRegion", "draft_impact", "publish_draft"]

_PUBLISHING = threading.Lock()


class OutsideRegion(ZhidaError):
    """Raised when a writer asks about a region outside their own."""


def _prefix(scope: Scope, region: str | None) -> str | None:
    if region is None or region == "":
        return scope.region or None
    if not region.startswith(scope.region):
        raise OutsideRegion(
            f"region：{region} 不在您的辖区 {scope.region} 内；"
            f"应为以 {scope.region} 开头的区划代码，或不填（整个辖区）"
        )
    return region


def _rows(policy: str, tallies: dict[Key, ImpactTally], names: RegionTable) -> list[dict[str, Any]]:
    return [
        {
            "region": code,
            "name": names.name(code),
            "gain": t.gain,
            "loss": t.loss,
            "raised": t.raised,
            "lowered": t.lowered,
            "amount_delta": fen_text(t.amount_delta),
        }
        for (pid, code), t in sorted(tallies.items())
        if pid == policy
    ]


def draft_impact(
    *,
    engine: Engine,
    root: Path,
    current: Catalogue,
    text: str,
    name: str,
    on: date,
    scope: Scope,
    region: str | None = None,
) -> dict[str, Any]:
    """The `zhida impact` tables of a draft, as data, inside the caller's region.

    Args:
        engine: the database (only read).
        root: the served catalogue folder.
        current: the catalogue in force.
        text: the draft policy file's text.
        name: its file name (named in errors).
        on: the evaluation date.
        scope: the writer's scope; only subjects inside `scope.region` are read.
        region: a narrower region prefix, or None for the whole of the writer's region.

    Returns:
        The changed policy, the subjects read, and per policy its totals and rows by
        township and village (amounts as strings, to the fen).

    Raises:
        RuleError: the draft (or the catalogue with it) does not load, at `name:line:col`.
        OutsideRegion: `region` is not inside the writer's region.
    """
    prefix = _prefix(scope, region)
    candidate = draft_candidate(root, text, name)
    subject = candidate.catalogue.policies[candidate.policy_id].spec.subject
    report = measure_impact(
        engine=engine, current=current, candidate=candidate.catalogue, subject=subject, on=on,
        region=prefix,
    )  # fmt: skip
    names, towns = load_regions(), by_township(report.villages)
    policies = [
        {
            "policy_id": pid,
            "gain": t.gain,
            "loss": t.loss,
            "raised": t.raised,
            "lowered": t.lowered,
            "amount_delta": fen_text(t.amount_delta),
            "townships": _rows(pid, towns, names),
            "villages": _rows(pid, report.villages, names),
        }
        for pid, t in sorted(report.totals().items())
    ]
    return {
        "policy_id": candidate.policy_id,
        "replaces": candidate.replaced is not None,
        "subject": subject,
        "on": on.isoformat(),
        "region": prefix,
        "subjects": report.subjects,
        "policies": policies,
    }


def _write_atomic(target: Path, data: bytes, mode: int = 0o644) -> None:
    """`data` into `target` at once: a temporary file beside it, fsync, then `os.replace`."""
    fd, temp = tempfile.mkstemp(prefix=".publish-", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
    finally:
        Path(temp).unlink(missing_ok=True)


def _target(root: Path, policy_id: str, replaced: Path | None) -> Path:
    """The file the draft goes to: the policy's own, or `<id as folders>.yaml` for a new one."""
    if replaced is not None:
        return replaced.resolve()
    target = root.resolve().joinpath(*policy_id.split(".")).with_suffix(".yaml")
    if target.exists():
        where = target.relative_to(root.resolve()).as_posix()
        raise DraftRefused(
            f"{where} 已有另一项政策；新政策 {policy_id} 应放在这个文件，请改用新的 id",
            [(where, "文件已存在，其中的政策 id 不是草稿的 id")],
        )
    return target


def publish_draft(
    *, engine: Engine, root: Path, text: str, name: str, actor: str
) -> dict[str, Any]:
    """Publish a draft policy into the catalogue at `root`, refused unless lint and tests pass.

    Args:
        engine: the database the version and its audit record are stored in.
        root: the served catalogue folder (written).
        text: the draft policy file's text.
        name: its file name (named in errors).
        actor: the writer (named in the audit log).

    Returns:
        The policy, the file written (relative to `root`), the new version's content hash,
        whether it was new, who published it and when.

    Raises:
        DraftRefused: a lint error or a failing case (each at its place), or a new policy's
            file taken by another.
        RuleError: the draft, or the catalogue with it, does not load (the old file is kept).
    """
    with _PUBLISHING:
        report = run_draft_tests(root, text, name)
        refusals = report.refusals()
        if refusals:
            detail = f"{name} 未发布：{report.errors} 个错误，{report.failed} 个用例未通过"
            raise DraftRefused(detail, refusals)
        candidate = draft_candidate(root, text, name)
        target = _target(root, candidate.policy_id, candidate.replaced)
        old = target.read_bytes() if target.exists() else None
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(target, text.encode("utf-8"))
        try:
            catalogue = load_catalogue(root)
            with write_session(engine) as session:
                known = get_version(session=session, content_hash=catalogue.version)
                row = publish_catalogue(
                    session=session, catalogue=catalogue, root=root, actor=actor
                )
                done = {
                    "policy_id": candidate.policy_id,
                    "file": target.relative_to(root.resolve()).as_posix(),
                    "replaced": old is not None,
                    "version": row.content_hash,
                    "new_version": known is None,
                    "policies": len(catalogue.policies),
                    "published_by": row.published_by,
                    "published_at": row.published_at.isoformat(),
                }
        except BaseException:
            if old is None:
                target.unlink(missing_ok=True)
            else:
                _write_atomic(target, old)
            raise
    return done
