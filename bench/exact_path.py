"""What proving float64 exact costs the vectorised engine: fragile rows, exact re-evaluations.

    uv run python bench/exact_path.py [--households 200000] [--catalogue real|synthetic]

Runs `matcher.vector.engine.run` over the synthetic population (seed 1, 2025-03-01) in chunks and
reports in total: seconds, rows whose float64 results were not proved exact (`fragile`), and
(output, row) pairs evaluated again by the exact path (fragile rows, unknown outputs that
ranges may decide, unknown amounts). The float64 program alone (`arrays.evaluate`, with its
error bounds) is timed on the same chunks, so what the rest of `run` costs is visible.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import ON, catalogue, chunks

from matcher.vector.arrays import evaluate
from matcher.vector.columns import Vocabulary
from matcher.vector.engine import compile_catalogue, run
from matcher.vector.frames import from_chunk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalogue", choices=("real", "synthetic"), default="real")
    parser.add_argument("--households", type=int, default=200_000)
    parser.add_argument("--chunk", type=int, default=20_000)
    args = parser.parse_args()
    cat = catalogue(args.catalogue)
    engine = compile_catalogue(cat, ON, "household")
    vocab = Vocabulary()
    pops = [from_chunk(c, cat.facts, ON, vocab) for c in chunks(args.households, args.chunk)]
    outputs = [s for conds in engine.conditions for s in conds]
    outputs += [a for a in engine.amounts if a is not None] + list(engine.gates.values())
    run(engine, pops[0])  # warm-up
    fast = total = 0.0
    fragile = exact = rows = 0
    for pop in pops:
        t0 = time.perf_counter()
        evaluate(engine.program, pop, outputs)
        t1 = time.perf_counter()
        result = run(engine, pop)
        t2 = time.perf_counter()
        fast, total = fast + (t1 - t0), total + (t2 - t1)
        fragile, exact, rows = (
            fragile + result.fragile_rows,
            exact + result.exact_outputs,
            rows + pop.size,
        )
    print(f"catalogue {args.catalogue}: {rows:,} households, {len(engine.policies)} policies")
    print(f"  run(): {total:.2f} s ({rows / total:,.0f} households/s)")
    print(f"  the float64 program alone: {fast:.2f} s")
    print(f"  fragile rows: {fragile:,} ({fragile / rows:.3%})")
    print(f"  exact (output, row) evaluations: {exact:,} ({exact / rows:.3f} per household)")


if __name__ == "__main__":
    main()
