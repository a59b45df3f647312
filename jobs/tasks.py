"""What the scheduled jobs run. Each is an importable "module:function" whose arguments are
plain data (the job store pickles them; unpickling runs code, so never objects)."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

from matcher.events.reactions import Reactions
from rules.catalogue import load_catalogue
from rules.clock import TIMEZONE, today  # the county's day, the CLI's default date too
from rules.errors import ZhidaError
from store.claims.deadlines import DeadlineReport, due_notices
from store.db import migrate, open_engine, write_session
from store.events.deadlines import fire_due
from store.sweep.run import SweepConflict, SweepDateError, SweepReport, begin_sweep, run_sweep

__all__ = [
    "TIMEZONE",
    "claim_deadlines",
    "drain_outbox",
    "fire_deadlines",
    "nightly_sweep",
    "today",
]

log = logging.getLogger(__name__)


def nightly_sweep(root: str, on: str | None = None) -> SweepReport | None:
    """Sweep every stored profile against the catalogue at `root`, as of `on` (default today).

    A sweep interrupted earlier is resumed; a date before the latest sweep, or a sweep already
    running elsewhere, is logged and skipped (the next night tries again), never raised into
    the scheduler's thread.
    """
    day = date.fromisoformat(on) if on else today()
    catalogue = load_catalogue(Path(root))
    engine = open_engine()
    try:
        migrate(engine)
        start = begin_sweep(
            engine=engine, catalogue=catalogue, root=Path(root), on=day, region=None,
            actor="scheduler",
        )  # fmt: skip
        report = run_sweep(engine=engine, start=start, catalogue=catalogue)
    except (SweepDateError, SweepConflict) as exc:
        log.warning("nightly sweep of %s skipped: %s", day, exc)
        return None
    finally:
        engine.dispose()
    log.info("nightly sweep of %s done: run %s, %s", day, report.run_id, report.counts)
    return report


def drain_outbox() -> int:
    """Drain the outbox once (every due notice, then return); returns the notices claimed.

    Settings come from the environment (`jobs.channels.DrainSettings.from_env`, the mail and
    SMS settings, the secret key). The schema is not migrated here (it runs every few seconds):
    `zhida scheduler` migrates once when it starts. Failures of receivers are recorded per
    attempt by the drain itself.
    """
    from jobs.channels import Channels, DrainSettings
    from jobs.drain import drain
    from store.delivery.secrets import secret_box

    engine = open_engine()
    channels = Channels.from_env(DrainSettings.from_env(), box=secret_box())
    try:
        report = drain(engine, channels=channels, once=True)
    finally:
        channels.close()
        engine.dispose()
    if report.claimed:
        log.info("outbox drain: %d notices, tries %s", report.claimed, dict(report.tries))
    return report.claimed


def fire_deadlines(root: str, on: str | None = None) -> int:
    """Turn every deadline due by `on` (default today) into its event, once each.

    Each deadline fires in its own transaction through the live event path (the subject is
    re-evaluated, changes and notices written); one the event path refuses (e.g. the subject's
    history already reaches past the firing date) is marked `failed` with the reason and
    logged, and the later ones still fire (`store.events.deadlines.fire_due`). A date after
    today is logged and nothing fires; nothing is raised into the scheduler's thread.

    Returns:
        How many deadlines this run fired.
    """
    day = date.fromisoformat(on) if on else today()
    catalogue = load_catalogue(Path(root))
    reactions = Reactions.load(Path(root), catalogue)
    engine = open_engine()
    try:
        migrate(engine)
        fired = fire_due(engine, catalogue=catalogue, root=Path(root), reactions=reactions, on=day)
    except ZhidaError as exc:
        log.warning("due deadlines of %s not fired: %s", day, exc)
        return 0
    finally:
        engine.dispose()
    for deadline_id, reason in fired.failed:
        log.warning("deadline %s of %s failed: %s", deadline_id, day, reason)
    log.info("due deadlines of %s: %d fired, %d failed", day, len(fired), len(fired.failed))
    return len(fired)


def claim_deadlines(root: str, on: str | None = None) -> DeadlineReport | None:
    """Send the due reminders and escalations of claim steps' deadlines (承诺时限), as of `on`
    (default today in Asia/Shanghai), in one transaction; each notice once however often it
    runs (`store.claims.deadlines.due_notices`). A wrong `workflow.yaml` or `holidays.yaml` is
    logged and nothing is sent, never raised into the scheduler's thread.

    Returns:
        The counts, or None when nothing could be done.
    """

    day = date.fromisoformat(on) if on else today()
    engine = open_engine()
    try:
        migrate(engine)
        with write_session(engine) as session:
            report = due_notices(session, today=day, root=Path(root))
    except ZhidaError as exc:
        log.warning("claim deadlines of %s not checked: %s", day, exc)
        return None
    finally:
        engine.dispose()
    log.info("claim deadlines of %s: %s", day, report)
    return report


def prune_idempotency_keys() -> int:
    """Delete the API's idempotency keys (and the answers saved with them) created more than
    24 hours ago (`store.idempotency.prune_keys`); returns how many."""
    from store.idempotency import prune_keys

    engine = open_engine()
    try:
        migrate(engine)
        pruned = prune_keys(engine)
    finally:
        engine.dispose()
    log.info("idempotency keys pruned: %d", pruned)
    return pruned
