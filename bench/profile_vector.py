"""Where the vectorised engine's time goes: phases of `run`, step kinds, the hottest functions.

    uv run python bench/profile_vector.py [--catalogue synthetic] [--households 131072]

Timers are wrapped around the module-level functions of `matcher.vector.engine` (evaluate, region
scopes, missing-fact masks, excludes) and `matcher.vector.arrays` (every `_apply*` step function,
keyed by step op and level), then one cProfile pass lists the hottest functions. Timers add
a little overhead per call; the phase shares are what matters.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from common import ON, catalogue, chunks

import matcher.vector.arrays as arrays
import matcher.vector.engine as vector
from matcher.vector.columns import Vocabulary
from matcher.vector.frames import from_chunk

PHASES = ("evaluate", "evaluate_ranges", "_statuses", "amount_fen", "_assemble")  # not nested


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalogue", choices=("real", "synthetic"), default="synthetic")
    parser.add_argument("--households", type=int, default=131_072)
    parser.add_argument("--chunk", type=int, default=65_536)
    args = parser.parse_args()
    cat = catalogue(args.catalogue)
    engine = vector.compile_catalogue(cat, ON, "household")
    vocab = Vocabulary()
    pops = [from_chunk(c, cat.facts, ON, vocab) for c in chunks(args.households, args.chunk)]
    vector.run(engine, pops[0])  # warm-up

    t0 = time.perf_counter()
    for pop in pops:
        vector.run(engine, pop)
    plain = time.perf_counter() - t0

    spent: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)

    def timed(key_of: Any, fn: Any) -> Any:
        def wrapper(*a: Any, **k: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                key = key_of(a)
                spent[key] += time.perf_counter() - t
                calls[key] += 1

        return wrapper

    for name in PHASES:
        if hasattr(vector, name):
            setattr(vector, name, timed(lambda a, n=name: f"run: {n}", getattr(vector, name)))
    for name in [n for n in dir(arrays) if n.startswith("_apply")]:
        fn = getattr(arrays, name)
        if callable(fn):

            def key(a: Any, n: str = name) -> str:
                step = a[0] if a else None
                op = getattr(step, "op", "?")
                return f"step: {op} ({getattr(step, 'level', '?')}) [{n}]"

            setattr(arrays, name, timed(key, fn))
    t0 = time.perf_counter()
    for pop in pops:
        vector.run(engine, pop)
    timed_total = time.perf_counter() - t0

    n = sum(p.size for p in pops)
    print(f"{args.catalogue} catalogue: {len(engine.policies)} policies, "
          f"{sum(len(c) for c in engine.conditions)} conditions, {len(engine.program.steps)} "
          f"steps; {n:,} households in chunks of {args.chunk:,}")  # fmt: skip
    print(f"run() without timers: {plain:.3f} s ({plain / n * 1e6:.2f} s per 10^6 households); "
          f"with timers: {timed_total:.3f} s")  # fmt: skip
    print()
    print("| where | seconds | share of run() | calls |")
    print("|---|---|---|---|")
    phase_total = sum(v for k, v in spent.items() if k.startswith("run: "))
    rows = sorted(spent.items(), key=lambda kv: -kv[1])
    for k, v in rows:
        if k.startswith("run: "):
            print(f"| {k} | {v:.3f} | {v / timed_total:.0%} | {calls[k]} |")
    rest = timed_total - phase_total
    print(f"| run: the rest (exact path, amounts' rows, gates) | {rest:.3f} | "
          f"{rest / timed_total:.0%} | |")  # fmt: skip
    for k, v in rows:
        if k.startswith("step: "):
            print(f"| {k} | {v:.3f} | {v / timed_total:.0%} | {calls[k]} |")
    print()
    prof = cProfile.Profile()
    prof.enable()
    for pop in pops:
        vector.run(engine, pop)
    prof.disable()
    text = io.StringIO()
    pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(18)
    lines = text.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    print("cProfile, by own time (one pass):")
    print("```")
    print("\n".join(line[:150] for line in lines[start:] if line.strip()))
    print("```")


if __name__ == "__main__":
    main()
