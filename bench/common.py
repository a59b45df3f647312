"""Shared pieces of the benchmark scripts: catalogues, population chunks, memory, the machine."""

from __future__ import annotations

import hashlib
import os
import platform
import resource
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

BENCH = Path(__file__).parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

from matcher.vector.frames import Columns, PopulationChunk  # noqa: E402
from rules.catalogue import Catalogue, load_catalogue  # noqa: E402
from synth.households import Population, generate_households  # noqa: E402

ON = date(2025, 3, 1)
SEED = 1


def catalogue(which: str) -> Catalogue:
    """`real` (policies/) or `synthetic` (bench/synthetic_catalogue.py, 200 policies)."""
    if which == "real":
        return load_catalogue(REPO / "policies")
    from synthetic_catalogue import synthetic_catalogue

    return synthetic_catalogue()


PART = 131_072  # households per generator run (see `chunks`)


def chunks(households: int, chunk: int, seed: int = SEED) -> Iterator[PopulationChunk]:
    """The synthetic population (`synth.households`), `chunk` households at a time.

    Past `PART` households it is several generator runs (seeds `seed * 1000 + k`): one run's ID
    allocator refuses more than 500 people of one sex born on one day in one county, which a
    10^6-household run reaches (young children's ages are clamped to 0.01 years, so they share
    a birth date). ID numbers may then repeat across parts; the engines read only age and sex
    from them.
    """
    if households <= PART:
        pop = Population(households=households, seed=seed, as_of=ON, chunk_size=chunk)
        yield from generate_households(pop)
        return
    done = k = 0
    while done < households:
        n = min(PART, households - done)
        pop = Population(households=n, seed=seed * 1000 + k, as_of=ON, chunk_size=chunk)
        yield from generate_households(pop)
        done, k = done + n, k + 1


def head(chunk: PopulationChunk, n: int) -> PopulationChunk:
    """The first `n` households of a chunk with their members."""
    hh, mm = chunk.households, chunk.members
    keep = set(np.asarray(hh.data["household_id"][:n]).tolist())
    rows = np.isin(mm.data["household_id"], list(keep))

    def cut(cols: Columns, mask: Any) -> Columns:
        return Columns(
            {k: v[mask] for k, v in cols.data.items()},
            {k: v[mask] for k, v in cols.unknown.items()},
        )

    first = np.zeros(len(hh), bool)
    first[:n] = True
    return PopulationChunk(cut(hh, first), cut(mm, rows))


def rss_mb() -> float:
    """Resident memory now (MB)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    """Peak resident memory of this process so far (MB; Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = "?"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    head_commit = _git("rev-parse", "--short", "HEAD")
    dirty = _git("status", "--porcelain", "--", "matcher", "rules", "store")
    diff = hashlib.sha256(_git("diff", "HEAD", "--", "matcher", "rules", "store").encode())
    state = f"{head_commit}" + (
        f" + uncommitted changes (diff {diff.hexdigest()[:10]})" if dirty else ""
    )
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "ram": mem,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "os": platform.platform(),
        "code": state,
    }


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        return "?"
