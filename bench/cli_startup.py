"""How long the `zhida` command takes to answer, and what its imports cost.

Runs each command 5 times in a fresh interpreter (median wall time), then once under
`python -X importtime` and lists the slowest top-level imports. Bytecode is compiled first
(`compileall`), as an installed wheel has it; run it on a quiet machine.

    .venv/bin/python bench/cli_startup.py
"""

from __future__ import annotations

import compileall
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = [
    ["--help"],
    ["lint", "policies/household/dibao/allowance.yaml"],
    ["match", "examples/dibao_household.json"],
    ["test", "policies/household/dibao/allowance.yaml"],
]
PROBE = "import sys; from cli import app; sys.argv[0] = 'zhida'; app()"


def _run(args: list[str], *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *extra, "-c", PROBE, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _imports(stderr: str) -> list[tuple[int, str]]:
    """Top-level imports (no indentation) by cumulative microseconds."""
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line[len("import time:") :].split("|")
        if not name.startswith("  "):
            rows.append((int(cumulative), name.strip()))
    return sorted(rows, reverse=True)


def main() -> None:
    for package in ("rules", "matcher", "sheets", "synth", "store", "cli"):
        compileall.compile_dir(ROOT / package, quiet=1)
    for args in COMMANDS:
        times = []
        for _ in range(5):
            started = time.perf_counter()
            _run(args)
            times.append(time.perf_counter() - started)
        top = _imports(_run(args, "-X", "importtime").stderr)[:5]
        total = sum(us for us, _ in _imports(_run(args, "-X", "importtime").stderr))
        print(
            f"zhida {' '.join(args)}: median {statistics.median(times):.2f} s "
            f"(imports {total / 1e6:.2f} s)"
        )
        for us, name in top:
            print(f"    {us / 1e6:6.3f} s  {name}")


if __name__ == "__main__":
    main()
