"""The import worker: one daemon thread of the server process running queued jobs one at a time.

    worker = ImportWorker(engine, catalogue=lambda: ctx.catalogue, events=make_events)
    worker.start()      # jobs left running by a stopped process are queued again first
    worker.wake()       # a job was queued: look now rather than at the next poll
    worker.stop()

One at a time, because imports write in chunks under the sweeps' lock and a second import would
only wait for it. A job is claimed by a compare-and-set (`claim_next`), so two workers never
take the same queued job. One server per database runs the worker: at its start it queues
again every job left `running` (by a process that stopped), so a second server started on the
same database while the first runs a job would queue that job again; the import's own
checkpoint (`store.ingest.runs`, by the file's sha256) then refuses the duplicate run with
`ImportConflict`, and that job copy fails saying so. The worker never dies of a job:
`run_job` records every failure on the job itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import date

from sqlalchemy import Engine

from matcher.profiles.masking import mask_ids_in_text
from rules.catalogue import Catalogue
from store.ingest.job_run import run_job
from store.ingest.jobs import claim_next, recover_jobs
from store.ingest.run import Events

__all__ = ["ImportWorker"]

log = logging.getLogger("zhida.imports")


class ImportWorker:
    """Runs queued import jobs in a daemon thread until stopped."""

    def __init__(
        self,
        engine: Engine,
        *,
        catalogue: Callable[[], Catalogue],
        events: Callable[[date], Events],
        poll_seconds: float = 2.0,
    ) -> None:
        self.engine = engine
        self.catalogue = catalogue
        self.events = events
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> list[int]:
        """Queue again the jobs a stopped process left running, then start the thread.

        Returns:
            The ids of the jobs queued again.
        """
        again = recover_jobs(engine=self.engine)
        self._thread = threading.Thread(target=self._loop, name="zhida-imports", daemon=True)
        self._thread.start()
        return again

    def wake(self) -> None:
        """Look for a queued job now."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the running job's current chunk at the latest (a daemon thread: a job
        still running when the process exits is queued again at the next start)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run_once(self) -> bool:
        """Run the oldest queued job, if any (False: none was queued)."""
        job = claim_next(engine=self.engine)
        if job is None:
            return False
        run_job(engine=self.engine, job_id=job.id, catalogue=self.catalogue(), events=self.events)
        return True

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                ran = self.run_once()
            except Exception as exc:  # the database away, say: try again at the next poll
                log.error("import worker: %s", mask_ids_in_text(repr(exc)))
                ran = False
            if not ran:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()
