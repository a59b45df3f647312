"""Single-profile latency over the whole catalogue: the explaining interpreter vs durable-rules.

    uv run python bench/latency.py [--profiles 2000] [--on 2025-03-01] [--catalogue real|synthetic]
        [--engines interpreter,compiled,durable]

`compiled` is `matcher.interpreter.compiled` (the same `MatchResult` as the interpreter, checked
on every profile before anything is timed; the plan is compiled before timing, and its
compile time printed, with the number of expressions it leaves to the interpreter).

Each profile is a synthetic household from the demo village (seeded, so runs compare), with its
facts derived beforehand; each engine then evaluates every household policy for it, one profile
at a time. Reports median and p99 per profile, in microseconds.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from matcher.events.runtime import EventEngine
from matcher.interpreter.compiled import explain_plan
from matcher.interpreter.match import match
from matcher.profiles.facts import Facts
from matcher.profiles.subjects import facts_for
from rules.catalogue import load_catalogue
from synth.demo import demo_village

BENCH = Path(__file__).parent
ROOT = BENCH.parent / "policies"


def timings(
    run: Callable[[Facts], object], profiles: list[Facts], warmup: int = 200
) -> tuple[list[float], list[float]]:
    """Microseconds per call of `run`, one profile at a time (after a warm-up): wall time, and
    the thread's CPU time (which a busy machine's preemptions do not add to)."""
    for facts in profiles[:warmup]:
        run(facts)
    wall, cpu = [], []
    for facts in profiles:
        start, start_cpu = time.perf_counter_ns(), time.thread_time_ns()
        run(facts)
        cpu.append((time.thread_time_ns() - start_cpu) / 1000)
        wall.append((time.perf_counter_ns() - start) / 1000)
    return wall, cpu


def _stats(micros: list[float]) -> tuple[float, float, float]:
    ordered = sorted(micros)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered), p99, statistics.fmean(ordered)


def summary(name: str, measured: tuple[list[float], list[float]]) -> str:
    """One markdown table row: median, p99 and mean in µs, wall time then CPU time."""
    wall, cpu = _stats(measured[0]), _stats(measured[1])
    return f"| {name} | " + " | ".join(f"{x:.0f}" for x in (*wall, *cpu)) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=2000)
    parser.add_argument("--on", type=date.fromisoformat, default=date(2025, 3, 1))
    parser.add_argument("--catalogue", choices=("real", "synthetic"), default="real")
    parser.add_argument("--engines", default="interpreter,compiled,durable")
    args = parser.parse_args()
    if args.catalogue == "real":
        catalogue = load_catalogue(ROOT)
    else:
        sys.path.insert(0, str(BENCH))
        from synthetic_catalogue import synthetic_catalogue

        catalogue = synthetic_catalogue()
    engines = args.engines.split(",")
    village = demo_village(args.profiles, args.on)
    profiles = [
        facts_for(raw, "household", catalogue.facts, args.on, source=label)
        for label, raw in village
    ]
    n_policies = len(catalogue.for_subject("household"))
    print(
        f"{len(profiles)} households × {n_policies} household policies ({args.catalogue}), "
        f"on {args.on}; Python {platform.python_version()}, {platform.machine()}; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    rows = []
    if "interpreter" in engines:
        interp = timings(lambda f: match(catalogue, f, args.on, "household"), profiles)
        rows.append(summary("interpreter (match, with explanations, excludes, bundles)", interp))
    if "compiled" in engines:
        start = time.perf_counter()
        plan = explain_plan(catalogue, args.on, "household")
        print(
            f"compiled plan built in {time.perf_counter() - start:.2f} s; "
            f"{len(plan.interpreted)} expressions left to the interpreter (too deep to compile)"
        )
        differ = sum(plan.match(f) != match(catalogue, f, args.on, "household") for f in profiles)
        if differ:
            raise SystemExit(f"compiled differs from the interpreter on {differ} profiles")
        compiled = timings(plan.match, profiles)
        rows.append(
            summary(
                f"compiled explainer (same MatchResult on {len(profiles)}/{len(profiles)})",
                compiled,
            )
        )
    if "durable" in engines:
        engine = EventEngine(catalogue, args.on)
        durable = timings(lambda f: engine.eligible(f, "household"), profiles)
        rows.append(summary("durable-rules (eligible set)", durable))
    print(
        "| engine | median µs | p99 µs | mean µs | CPU median µs | CPU p99 µs | CPU mean µs |"
        "\n|---|---|---|---|---|---|---|"
    )
    print("\n".join(rows))
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
