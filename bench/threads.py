"""The vectorised engine against its numpy floor, on 1 and 2 threads, in one process.

    uv run python bench/threads.py [--catalogue synthetic|real] [--households 1000000]
        [--chunk 65536] [--rounds 3]

The population (`synth.households`, seed 1) is generated and converted once (`from_chunk`, only
the facts the program reads) and kept; then each round times, over every chunk: the engine on 1
thread, the engine on a pool of 2 threads (one chunk per task), the floor on 1 and on 2. The
four are interleaved round by round, so a busy machine slows them alike; the figure of each is
its best round, and the ratios (engine ÷ floor, 2 threads ÷ 1) are of those best rounds of this
one run. Beside each wall time, the process's CPU time (`time.process_time`: every thread's user
and system time) of its least-CPU round: the figure to read when other work shares the machine.
Before timing, the engine's eligible count on 2 threads is checked against 1 thread's (the
floor's agreement with the engine is bench/engines.py's and tests/matcher's business).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from common import ON, catalogue, chunks, machine, peak_mb
from floor import load_floor, region_ints

from matcher.vector.columns import Population, Vocabulary
from matcher.vector.engine import compile_catalogue, run
from matcher.vector.frames import from_chunk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalogue", choices=("real", "synthetic"), default="synthetic")
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=65_536)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cat = catalogue(args.catalogue)
    engine = compile_catalogue(cat, ON, "household")
    used = {s.data[0] for s in engine.program.steps if s.op == "fact"}  # type: ignore[index]
    floor = load_floor(cat, ON)
    vocab = Vocabulary()
    t0 = time.perf_counter()
    items: list[tuple[Population, Any]] = []
    for part in chunks(args.households, args.chunk):
        pop = from_chunk(part, cat.facts, ON, vocab, only=used)
        items.append((pop, region_ints(pop)))
    built = time.perf_counter() - t0
    print(
        f"{args.households:,} households, {len(items)} chunks of {args.chunk:,}; "
        f"{len(engine.policies)} policies ({args.catalogue}); generated and converted in "
        f"{built:.1f} s; code {machine()['code']}"
    )

    def vector(item: tuple[Population, Any]) -> int:
        return int((run(engine, item[0]).status == 2).sum())

    def floor_one(item: tuple[Population, Any]) -> int:
        eligible, _ = floor(*item)
        return int(eligible.sum())

    pool = ThreadPoolExecutor(2)

    def on_1(fn: Callable[[Any], int]) -> Callable[[], int]:
        return lambda: sum(fn(i) for i in items)

    def on_2(fn: Callable[[Any], int]) -> Callable[[], int]:
        return lambda: sum(pool.map(fn, items))

    cases = {
        "vector, 1 thread": on_1(vector),
        "vector, 2 threads": on_2(vector),
        "floor, 1 thread": on_1(floor_one),
        "floor, 2 threads": on_2(floor_one),
    }
    counts = {name: fn() for name, fn in cases.items()}  # warm-up, and the agreement check
    if counts["vector, 1 thread"] != counts["vector, 2 threads"]:
        raise SystemExit(f"2 threads gave other results than 1: {counts}")
    print(f"eligible (household, policy) pairs: {counts['vector, 1 thread']:,}")
    best = dict.fromkeys(cases, float("inf"))
    cpu = dict.fromkeys(cases, float("inf"))
    loads = []
    for _ in range(args.rounds):
        loads.append(os.getloadavg()[0])
        for name, fn in cases.items():
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
            cpu[name] = min(cpu[name], time.process_time() - c0)
    loads.append(os.getloadavg()[0])
    pool.shutdown()
    print(f"load average (1 min) at each round: {', '.join(f'{x:.2f}' for x in loads)}")
    print("| what | best of rounds, s | households/s | CPU, best round, s |\n|---|---:|---:|---:|")
    for name, seconds in best.items():
        print(
            f"| {name} | {seconds:.3f} | {args.households / seconds / 1e3:,.0f} k "
            f"| {cpu[name]:.3f} |"
        )
    v1, v2 = best["vector, 1 thread"], best["vector, 2 threads"]
    f1, f2 = best["floor, 1 thread"], best["floor, 2 threads"]
    print(
        f"\nvector ÷ floor: {v1 / f1:.2f}× on 1 thread, {v2 / f2:.2f}× on 2; "
        f"2 threads ÷ 1: vector {v2 / v1:.2f}, floor {f2 / f1:.2f}; peak RSS {peak_mb():.0f} MB"
    )
    print(
        f"in CPU time: vector ÷ floor {cpu['vector, 1 thread'] / cpu['floor, 1 thread']:.2f}× "
        f"on 1 thread, {cpu['vector, 2 threads'] / cpu['floor, 2 threads']:.2f}× on 2"
    )


if __name__ == "__main__":
    main()
