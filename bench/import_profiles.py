"""`zhida import households` throughput: N synthetic households into a fresh database.

    .venv/bin/python bench/import_profiles.py [--households 100000] [--formats parquet,csv,xlsx]
        [--chunk 2000] [--pg-url URL|auto] [--keep DIR]

1. `synth.files.write_demo_data` writes households.{parquet,csv,xlsx} (the xlsx while it fits in one
sheet); `--formats` chooses which of them are imported (xlsx reads slowest); 2. per format: reading
and validating alone (the sheet iterator, no database) as the floor; 3. per format and database:
`store.ingest.run.import_households` into a fresh SQLite file (and a fresh PostgreSQL database with
`--pg-url`: a server URL we may create databases on, or `auto` for a throwaway cluster started here
with fsync off), then the same file again (the idempotent re-import: every household unchanged).

Prints seconds and households/s for each, with this process's CPU seconds (the database server's
are not in them) and the load average; RESULTS lines are what bench/RESULTS.md quotes.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from common import ON, REPO, machine  # type: ignore[import-not-found]

from rules.catalogue import Catalogue, load_catalogue
from sheets.guards import Limits
from sheets.households import HouseholdSheet
from store.ingest.run import import_households
from store.testing import PostgresServer, find_pg_bin, fresh_postgres, fresh_sqlite
from synth.enterprises import Enterprises
from synth.files import write_demo_data
from synth.households import Population

LIMITS = Limits(max_xlsx_uncompressed=1024 * 1024 * 1024)  # as `zhida import` (1 GB)


def _cpu() -> float:
    """This process's CPU seconds so far (user + system): what a busy machine does not add to."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


CPU: dict[str, float] = {}  # label → CPU seconds of the last figure with that label


def _read_only(path: Path, catalogue: Catalogue) -> tuple[float, int]:
    """Seconds to read and validate the sheet with no database, and households read."""
    started, cpu = time.perf_counter(), _cpu()
    sheet = HouseholdSheet(path, catalogue.facts, on=ON, limits=LIMITS)
    households = sum(len(chunk) for chunk in sheet)
    CPU["read"] = _cpu() - cpu
    return time.perf_counter() - started, households


def _imports(url: str, path: Path, catalogue: Catalogue, chunk: int) -> list[tuple[str, float]]:
    """(label, seconds) of a first import into the fresh database `url`, then a re-import."""
    from store.db import open_engine

    engine = open_engine(url)
    figures = []
    try:
        for label in ("import", "re-import"):
            started, cpu = time.perf_counter(), _cpu()
            report = import_households(
                engine=engine, path=path, catalogue=catalogue, on=ON, limits=LIMITS, chunk=chunk
            )
            figures.append((label, time.perf_counter() - started))
            CPU[label] = _cpu() - cpu
            assert report.errors == [], report.errors[:3]
    finally:
        engine.dispose()
    return figures


@contextmanager
def _postgres(url: str | None) -> Iterator[Callable[[str], str] | None]:
    """A maker of fresh PostgreSQL databases (None without `--pg-url`)."""
    if url is None:
        yield None
        return
    server = None
    if url == "auto":
        bin_dir = find_pg_bin()
        if bin_dir is None:
            raise SystemExit("--pg-url auto: PostgreSQL is not installed (initdb, pg_ctl)")
        server = PostgresServer(bin_dir).start()
        url = server.url
    try:
        yield lambda name: fresh_postgres(url, name)
    finally:
        if server is not None:
            server.stop()


def _line(what: str, seconds: float, households: int, cpu: float) -> None:
    rate = households / seconds if seconds else float("inf")
    print(
        f"RESULTS {what:<34} {seconds:8.2f} s {rate:12,.0f} households/s · this process's "
        f"CPU {cpu:.2f} s ({households / cpu:,.0f}/s) · load {os.getloadavg()[0]:.2f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--formats", default="parquet,csv,xlsx")
    parser.add_argument("--chunk", type=int, default=2000)
    parser.add_argument("--pg-url", default=None, help="a server URL, or auto")
    parser.add_argument("--keep", type=Path, default=None, help="write the files here, keep them")
    args = parser.parse_args()
    catalogue = load_catalogue(REPO / "policies")
    folder = args.keep or Path(tempfile.mkdtemp(prefix="zhida-import-"))
    started = time.perf_counter()
    pop = Population(households=args.households, seed=1, as_of=ON)
    files = write_demo_data(folder, catalogue.facts, pop, Enterprises(0))
    names = ", ".join(p.name for p in files.written)
    print(machine())
    print(f"wrote {files.households:,} households ({files.members:,} rows) "
          f"in {time.perf_counter() - started:.1f} s: {names}")  # fmt: skip
    try:
        with _postgres(args.pg_url) as fresh_pg:
            for n, suffix in enumerate(args.formats.split(",")):
                path = folder / f"households.{suffix}"
                if not path.is_file():
                    print(f"skipped {path.name}: {'; '.join(files.skipped)}")
                    continue
                seconds, households = _read_only(path, catalogue)
                _line(f"{suffix} read+validate (no database)", seconds, households, CPU["read"])
                db = fresh_sqlite(folder / f"bench-{suffix}.db")
                db.dispose()
                for label, s in _imports(
                    f"sqlite:///{db.url.database}", path, catalogue, args.chunk
                ):
                    _line(f"{suffix} → SQLite {label}", s, households, CPU[label])
                if fresh_pg is not None:
                    url = fresh_pg(f"bench_import_{n}")
                    for label, s in _imports(url, path, catalogue, args.chunk):
                        _line(f"{suffix} → PostgreSQL {label}", s, households, CPU[label])
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
