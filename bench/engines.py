"""Batch throughput: the vectorised engine vs the numpy floor vs durable-rules vs the interpreter.

    uv run python bench/engines.py                    # the whole run, markdown on stdout
    uv run python bench/engines.py --quick            # 10^4 and 10^5 only, small samples
    uv run python bench/engines.py --json out.json    # also keep the raw figures

Every figure comes from its own subprocess (`--worker …`), so peak memory (ru_maxrss) is that
engine's alone. Workloads: the real catalogue (policies/) and the 200-policy synthetic one
(bench/synthetic_catalogue.py), over the synthetic population of `synth.households` (seed 1,
ages at 2025-03-01), evaluated on 2025-03-01.

- vector: `matcher.vector.frames.from_chunk` per generator chunk (generation and conversion timed
  apart), then `matcher.vector.engine.run` per chunk — three-valued, per-condition truth, amounts,
  missing-fact masks, excludes, bundle gates; on 1 thread and on a pool of 2 threads (numpy
  releases the GIL) over the same chunks.
- floor: bench/floor.py's generated plain numpy over the same `Population` arrays.
- durable / interpreter: one profile at a time on a sample (the first households of the same
  population, built through the profile path: parse_household → household_facts), their rates
  extrapolated; each is checked against the vectorised engine on the same sample.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from common import (
    ON,
    catalogue,
    chunks,
    head,
    machine,
    peak_mb,
)

from matcher.vector.columns import Population, Vocabulary
from matcher.vector.engine import VectorCatalogue, compile_catalogue, run
from matcher.vector.frames import from_chunk
from synth.households import raw_households

CHUNK = 65_536


def _used(engine: VectorCatalogue) -> set[str]:
    return {s.data[0] for s in engine.program.steps if s.op == "fact"}  # type: ignore[index]


def columnar(args: argparse.Namespace) -> dict[str, Any]:
    """The vectorised engine or the floor over `households`, streamed chunk by chunk.

    Each group of `threads` chunks is generated, converted, then evaluated (by a pool when
    threads > 1) and dropped: memory stays bounded by a few chunks whatever the size. Only
    the evaluation is in `eval_s_T`; generation and conversion are summed apart.
    """
    cat = catalogue(args.catalogue)
    t0 = time.perf_counter()
    engine = compile_catalogue(cat, ON, "household")
    compile_s = time.perf_counter() - t0
    used = _used(engine)
    if args.worker == "floor":
        from floor import load_floor, region_ints

        fn = load_floor(cat, ON)

        def one(item: tuple[Population, Any]) -> int:
            eligible, _ = fn(*item)
            return int(eligible.sum())

    else:

        def one(item: tuple[Population, Any]) -> int:
            return int((run(engine, item[0]).status == 2).sum())

    out: dict[str, Any] = {
        "engine": args.worker,
        "catalogue": args.catalogue,
        "households": args.households,
        "policies": len(engine.policies),
        "conditions": sum(len(c) for c in engine.conditions),
        "steps": len(engine.program.steps),
        "chunk": args.chunk,
        "compile_s": compile_s,
    }
    repeat = args.repeat or max(1, min(5, 1_000_000 // args.households))
    vocab = Vocabulary()
    for threads in args.threads:
        gen = conv = evaluation = 0.0
        members = eligible = 0
        source = chunks(args.households, args.chunk)
        pool = ThreadPoolExecutor(threads) if threads > 1 else None
        while True:
            group: list[tuple[Population, Any]] = []
            for _ in range(threads):
                t0 = time.perf_counter()
                part = next(source, None)
                t1 = time.perf_counter()
                gen += t1 - t0
                if part is None:
                    break
                pop = from_chunk(part, cat.facts, ON, vocab, only=used)
                extra = region_ints(pop) if args.worker == "floor" else None
                group.append((pop, extra))
                conv += time.perf_counter() - t1
                members += len(part.members)
            if not group:
                break
            best = float("inf")
            for _ in range(repeat):
                t0 = time.perf_counter()
                counts = list(pool.map(one, group)) if pool else [one(g) for g in group]
                best = min(best, time.perf_counter() - t0)
            evaluation += best
            eligible += sum(counts)
            del group
        if pool is not None:
            pool.shutdown()
        out.update(
            {f"eval_s_{threads}": evaluation, "generate_s": gen, "convert_s": conv},
            members=members,
            eligible=eligible,
        )
    out["repeat"] = repeat
    out["peak_mb"] = peak_mb()
    return out


def one_by_one(args: argparse.Namespace) -> dict[str, Any]:
    """durable-rules or the interpreter, one profile at a time, on the first `sample` households."""
    from matcher.profiles.derive import household_facts
    from matcher.profiles.parse import parse_household

    cat = catalogue(args.catalogue)
    first = next(chunks(max(args.households, args.chunk), args.chunk))
    part = head(first, args.sample)
    t0 = time.perf_counter()
    profiles = [
        household_facts(parse_household(raw, cat.facts, today=ON), ON)
        for raw in raw_households(part)
    ]
    convert_s = time.perf_counter() - t0
    ids = [p.id for p in cat.for_subject("household")]
    t0 = time.perf_counter()
    if args.worker == "durable":
        from matcher.events.runtime import EventEngine

        durable = EventEngine(cat, ON)
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        got = [durable.eligible(f, "household") for f in profiles]
        eval_s = time.perf_counter() - t0
        fallbacks = durable.fallbacks
    else:
        from matcher.interpreter.match import match

        build_s = 0.0
        t0 = time.perf_counter()
        results = [match(cat, f, ON, "household").results for f in profiles]
        eval_s = time.perf_counter() - t0
        fallbacks = 0
    peak = peak_mb()
    # the same sample through the vectorised engine: do the engines agree?
    engine = compile_catalogue(cat, ON, "household")
    res = run(engine, from_chunk(part, cat.facts, ON))
    if args.worker == "durable":
        want = [
            {ids[j] for j in range(len(ids)) if res.raw_status[r, j] == 2} for r in range(len(got))
        ]
        agree = sum(a == b for a, b in zip(got, want, strict=True))
        eligible = sum(len(g) for g in got)
    else:
        names = {"eligible": 2, "undetermined": 1, "ineligible": 0}
        agree = sum(
            [names[x.status] for x in row] == res.status[r].tolist()
            for r, row in enumerate(results)
        )
        eligible = sum(x.status == "eligible" for row in results for x in row)
    return {
        "engine": args.worker,
        "catalogue": args.catalogue,
        "households": len(profiles),
        "members": len(part.members),
        "policies": len(ids),
        "convert_s": convert_s,
        "build_s": build_s,
        "eval_s_1": eval_s,
        "fallbacks": fallbacks,
        "eligible": eligible,
        "agree_with_vector": agree,
        "peak_mb": peak,
    }


# --- the driver -------------------------------------------------------------------------------


def _spawn(argv: list[str]) -> dict[str, Any]:
    cmd = [sys.executable, __file__, *argv]
    print(f"  $ {' '.join(['python bench/engines.py', *argv])}", file=sys.stderr, flush=True)
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        return {"error": done.stderr.strip().splitlines()[-1:], "argv": argv}
    row: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    row["argv"] = argv
    return row


def plan(quick: bool, sample: int, interp_sample: int, chunk: int) -> list[list[str]]:
    """Every worker run of the benchmark, as argument lists."""
    sizes = [10_000, 100_000] if quick else [10_000, 100_000, 1_000_000]
    big = sizes[-1]
    runs: list[list[str]] = []
    for cat in ("real", "synthetic"):
        base = ["--catalogue", cat, "--chunk", str(chunk)]
        for n in sizes[:-1]:
            runs.append(["--worker", "vector", *base, "--households", str(n), "--threads", "1"])
            runs.append(["--worker", "floor", *base, "--households", str(n), "--threads", "1"])
        for engine in ("vector", "floor"):
            runs.append(["--worker", engine, *base, "--households", str(big), "--threads", "1,2"])
        n_int = interp_sample if cat == "synthetic" else sample
        runs.append(["--worker", "durable", *base, "--sample", str(sample)])
        runs.append(["--worker", "interpreter", *base, "--sample", str(n_int)])
    sweep = ["--catalogue", "synthetic", "--households", "262144", "--threads", "1"]
    for size in (8_192, 16_384, 32_768, chunk, 131_072):
        for engine in ("vector", "floor"):
            runs.append(["--worker", engine, *sweep, "--chunk", str(size), "--repeat", "1"])
    return runs


def _rate(n: float, s: float) -> str:
    if s <= 0:
        return "–"
    r = n / s
    return f"{r / 1e6:.2f} M" if r >= 1e6 else f"{r / 1e3:.1f} k"


def report(
    rows: list[dict[str, Any]], info: dict[str, str], argv: list[str], chunk: int = CHUNK
) -> str:
    """The figures as markdown."""
    out = ["## Machine", ""]
    out += [f"- {k}: {v}" for k, v in info.items()]
    out += ["", f"Command: `python bench/engines.py {' '.join(argv)}`", ""]
    ok = [r for r in rows if "error" not in r]
    for cat in ("real", "synthetic"):
        mine = [r for r in ok if r["catalogue"] == cat and "--sample" not in r["argv"]]
        mine = [r for r in mine if r["chunk"] == chunk]
        if not mine:
            continue
        first = mine[0]
        out += [
            f"## {cat} catalogue: {first['policies']} policies, {first['conditions']} conditions, "
            f"{first['steps']} program steps",
            "",
            "| engine | households | members | threads | eval s | households/s | "
            "(household×policy)/s | generate s | convert s | peak RSS MB |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        floors = {
            (r["households"], t): r[f"eval_s_{t}"]
            for r in mine
            if r["engine"] == "floor"
            for t in (1, 2)
            if f"eval_s_{t}" in r
        }
        for r in sorted(mine, key=lambda r: (r["engine"] != "vector", r["households"])):
            for t in (1, 2):
                s = r.get(f"eval_s_{t}")
                if s is None:
                    continue
                n, p = r["households"], r["policies"]
                ratio = ""
                if r["engine"] == "vector" and (n, t) in floors:
                    ratio = f" ({s / floors[n, t]:.1f}× floor)"
                out.append(
                    f"| {r['engine']} | {n:,} | {r['members']:,} | {t} | {s:.3f}{ratio} | "
                    f"{_rate(n, s)} | {_rate(n * p, s)} | {r['generate_s']:.1f} | "
                    f"{r['convert_s']:.2f} | {r['peak_mb']:.0f} |"
                )
        one = [r for r in ok if r["catalogue"] == cat and "--sample" in r["argv"]]
        vec = [r for r in mine if r["engine"] == "vector" and "eval_s_1" in r]
        best_vec = max(vec, key=lambda r: r["households"]) if vec else None
        if one:
            out += [
                "",
                "| engine (one profile at a time) | sample households | eval s | households/s "
                "(extrapolated) | (household×policy)/s | per profile µs | vector ÷ this "
                "(1 thread) | agrees with vector | peak RSS MB |",
                "|---|---|---|---|---|---|---|---|---|",
            ]
            for r in one:
                n, s, p = r["households"], r["eval_s_1"], r["policies"]
                speedup = ""
                if best_vec is not None:
                    vrate = best_vec["households"] / best_vec["eval_s_1"]
                    speedup = f"{vrate / (n / s):.0f}×"
                out.append(
                    f"| {r['engine']} | {n:,} | {s:.2f} | {_rate(n, s)} | {_rate(n * p, s)} | "
                    f"{s / n * 1e6:.0f} | {speedup} | {r['agree_with_vector']:,}/{n:,} | "
                    f"{r['peak_mb']:.0f} |"
                )
        out.append("")
    sweep = [r for r in ok if r.get("households") == 262_144 and r["catalogue"] == "synthetic"]
    if sweep:
        out += [
            "## Chunk size (synthetic catalogue, 262,144 households, 1 thread)",
            "",
            "| chunk | vector s | floor s | ratio | vector peak MB |",
            "|---|---|---|---|---|",
        ]
        for size in sorted({r["chunk"] for r in sweep}):
            v = next((r for r in sweep if r["chunk"] == size and r["engine"] == "vector"), None)
            f = next((r for r in sweep if r["chunk"] == size and r["engine"] == "floor"), None)
            if v and f:
                out.append(
                    f"| {size:,} | {v['eval_s_1']:.3f} | {f['eval_s_1']:.3f} | "
                    f"{v['eval_s_1'] / f['eval_s_1']:.1f}× | {v['peak_mb']:.0f} |"
                )
        out.append("")
    failed = [r for r in rows if "error" in r]
    if failed:
        out += ["## Failed runs", ""] + [f"- `{' '.join(r['argv'])}`: {r['error']}" for r in failed]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=("vector", "floor", "durable", "interpreter"))
    parser.add_argument("--catalogue", choices=("real", "synthetic"), default="synthetic")
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=CHUNK)
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--repeat", type=int, default=0, help="best of N (default: by size)")
    parser.add_argument("--sample", type=int, default=20_000, help="durable/interpreter sample")
    parser.add_argument("--interp-sample", type=int, default=2_000, help="interpreter, synthetic")
    parser.add_argument("--quick", action="store_true", help="up to 10^5 households")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args()
    args.threads = [int(t) for t in str(args.threads).split(",")]
    if args.worker in ("vector", "floor"):
        print(json.dumps(columnar(args)))
        return
    if args.worker is not None:
        print(json.dumps(one_by_one(args)))
        return
    sample = min(args.sample, 2_000) if args.quick else args.sample
    interp = min(args.interp_sample, 1_000) if args.quick else args.interp_sample
    rows = [_spawn(a) for a in plan(args.quick, sample, interp, args.chunk)]
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=1))
    print(report(rows, machine(), sys.argv[1:], args.chunk))


if __name__ == "__main__":
    main()
