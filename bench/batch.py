"""`zhida batch` end to end: 100k households from xlsx to the result workbook.

    uv run python bench/batch.py [--households 100000] [--keep DIR]

1. `zhida demo-data --households N --enterprises 0 --seed 1 --out TMP` writes households.xlsx;
2. `zhida batch TMP/households.xlsx --on 2025-03-01 --out TMP/result.xlsx` runs in a subprocess:
   its wall time and peak memory (the child's ru_maxrss) are the end-to-end figures;
3. the same batch again in a subprocess with timers around the phases of `sheets.batch.run_batch`
   (the command reports no phases): read + validate (the sheet iterator), match (the engine
   call), write (the rest: the result workbook is written as outcomes stream in).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).parent
REPO = BENCH.parent
ON = "2025-03-01"


def _zhida() -> list[str]:
    exe = Path(sys.executable).parent / "zhida"
    return [str(exe)] if exe.exists() else [sys.executable, str(REPO / "cli.py")]


CPU: list[float] = []  # each command's CPU seconds (user + system), in order


def _timed(cmd: list[str]) -> tuple[float, float, str]:
    """(seconds, peak RSS MB of the child, output) of one command (its CPU seconds to `CPU`)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - t0
    CPU.append(usage.ru_utime + usage.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{output}")
    return seconds, usage.ru_maxrss / 1024, output


def phases(source: Path, out: Path) -> dict[str, Any]:
    """run_batch with timers around reading and matching; the rest is writing."""
    import sheets.batch as batch
    from rules.catalogue import load_catalogue
    from sheets.guards import Limits
    from sheets.households import HouseholdSheet

    spent = {"read": 0.0, "match": 0.0, "read_cpu": 0.0, "match_cpu": 0.0}
    original_iter = HouseholdSheet.__iter__

    def timed_iter(self: HouseholdSheet) -> Any:
        it = original_iter(self)
        while True:
            t0, c0 = time.perf_counter(), time.process_time()
            item = next(it, None)
            spent["read"] += time.perf_counter() - t0
            spent["read_cpu"] += time.process_time() - c0
            if item is None:
                return
            yield item

    HouseholdSheet.__iter__ = timed_iter  # type: ignore[method-assign]

    def timing(fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                spent["match"] += time.perf_counter() - t0
                spent["match_cpu"] += time.process_time() - c0

        return wrapper

    hooked = []
    if hasattr(batch, "match_chunk"):
        batch.match_chunk = timing(batch.match_chunk)
        hooked.append("sheets.batch.match_chunk")
    matcher_cls = getattr(batch, "BatchMatcher", None)
    if matcher_cls is not None:
        matcher_cls.match = timing(matcher_cls.match)
        hooked.append("BatchMatcher.match")
    t0 = time.perf_counter()
    catalogue = load_catalogue(REPO / "policies")
    load = time.perf_counter() - t0
    day = __import__("datetime").date.fromisoformat(ON)
    limits = Limits(max_rows=1_100_000, max_xlsx_uncompressed=1024 * 1024 * 1024)
    t0, c0 = time.perf_counter(), time.process_time()
    report = batch.run_batch(source, out, catalogue, on=day, limits=limits)
    total, total_cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "load_catalogue_s": load,
        "total_s": total,
        "read_validate_s": spent["read"],
        "match_s": spent["match"],
        "write_s": total - spent["read"] - spent["match"],
        "total_cpu_s": total_cpu,
        "read_validate_cpu_s": spent["read_cpu"],
        "match_cpu_s": spent["match_cpu"],
        "write_cpu_s": total_cpu - spent["read_cpu"] - spent["match_cpu"],
        "households": report.stats.households,
        "rows": report.stats.rows,
        "hooked": hooked,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep the files")
    parser.add_argument("--phases", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phases:
        sys.path.insert(0, str(REPO))
        print(json.dumps(phases(*args.phases)))
        return
    work = args.keep or Path(tempfile.mkdtemp(prefix="zhida-batch-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        gen = [*_zhida(), "demo-data", "--households", str(args.households)]
        gen += ["--enterprises", "0", "--seed", "1", "--out", str(work)]
        gen_s, _, _ = _timed(gen)
        xlsx = work / "households.xlsx"
        size_mb = xlsx.stat().st_size / 1e6
        cmd = [*_zhida(), "batch", str(xlsx), "--on", ON, "--out", str(work / "result.xlsx")]
        total_s, peak, output = _timed(cmd)
        ph_cmd = [sys.executable, __file__, "--phases", str(xlsx), str(work / "result2.xlsx")]
        ph_s, ph_peak, ph_out = _timed(ph_cmd)
        ph = json.loads(ph_out.strip().splitlines()[-1])
        shown = " ".join(c if c.startswith("-") or "/" not in c else Path(c).name for c in cmd)
        print(f"households.xlsx: {args.households:,} households, {size_mb:.0f} MB "
              f"(demo-data took {gen_s:.0f} s)")  # fmt: skip
        print(f"`{shown}` said: {output.strip().splitlines()[0] if output.strip() else ''}")
        print()
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        print("| step | seconds | CPU seconds |")
        print("|---|---|---|")
        print(
            f"| `zhida batch` end to end (subprocess wall time, incl. start-up) | {total_s:.1f} "
            f"| {CPU[1]:.1f} |"
        )
        print(f"| peak RSS of `zhida batch` | {peak:.0f} MB | |")
        print(f"| phases run (in-process timers, {', '.join(ph['hooked'])}): total | "
              f"{ph['total_s']:.1f} | {ph['total_cpu_s']:.1f} |")  # fmt: skip
        print(
            f"| — read + validate (calamine, grouping, checks) | {ph['read_validate_s']:.1f} "
            f"| {ph['read_validate_cpu_s']:.1f} |"
        )
        print(f"| — match | {ph['match_s']:.1f} | {ph['match_cpu_s']:.1f} |")
        print(
            f"| — write (result workbook, sheets.xlsx) | {ph['write_s']:.1f} "
            f"| {ph['write_cpu_s']:.1f} |"
        )
        print(f"| (load catalogue) | {ph['load_catalogue_s']:.2f} | |")
        print(f"| peak RSS of the phases run | {ph_peak:.0f} MB | |")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
