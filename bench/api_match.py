"""`POST /api/match` over loopback: latency one request at a time, then throughput with one worker.

    .venv/bin/python bench/api_match.py [--requests 500] [--clients 8] [--seconds 10]

Starts `zhida serve --no-scheduler` (uvicorn, one worker) on a free loopback port with a fresh
SQLite database in a temporary folder and the real catalogue (policies/). Then:

1. sends `--requests` matches of a realistic household (examples/dibao_household.json: 4
   members, 低保) and as many of an enterprise (examples/small_enterprise.json), one after the
   other on one keep-alive connection → p50 / p99 latency in ms as the client sees it (JSON
   encoding, HTTP, the explaining interpreter over every policy, 一次性告知, the response);
2. `--clients` threads, each its own connection, send household matches for `--seconds`
   seconds → requests per second of the one worker.

Prints a small table and the command that reproduces it. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
ON = "2025-03-01"


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(folder: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ZHIDA_DATA_DIR": str(folder), "ZHIDA_POLICIES": str(REPO / "policies"),
           "ZHIDA_TOKEN_SECRET": "bench-token-secret-0123456789abcdef-0123"}  # fmt: skip
    env.pop("DATABASE_URL", None)
    zhida = str(Path(sys.executable).parent / "zhida")
    args = [zhida, "serve", "--no-scheduler", "--port", str(port)]
    log = (folder / "serve.log").open("wb")
    process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"zhida serve did not start: {(folder / 'serve.log').read_text()}")


def _body(example: str) -> dict[str, Any]:
    return {"profile": json.loads((REPO / "examples" / example).read_text("utf-8")), "on": ON}


def _latency(base: str, body: dict[str, Any], n: int) -> tuple[float, float]:
    times: list[float] = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for _ in range(20):  # warm up (first match compiles and caches the catalogue's binding)
            client.post("/api/match", json=body).raise_for_status()
        for _ in range(n):
            start = time.perf_counter()
            client.post("/api/match", json=body).raise_for_status()
            times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def _throughput(base: str, body: dict[str, Any], clients: int, seconds: float) -> float:
    counts = [0] * clients
    stop = time.monotonic() + seconds

    def run(i: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            while time.monotonic() < stop:
                client.post("/api/match", json=body).raise_for_status()
                counts[i] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    a = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="zhida-bench-api-") as tmp:
        port = _port()
        server = _serve(Path(tmp), port)
        base = f"http://127.0.0.1:{port}"
        try:
            home, firm = _body("dibao_household.json"), _body("small_enterprise.json")
            rows = [
                ("household (4 members)", *_latency(base, home, a.requests)),
                ("enterprise", *_latency(base, firm, a.requests)),
            ]
            rate = _throughput(base, home, a.clients, a.seconds)
        finally:
            server.terminate()
            server.wait(timeout=30)
    load = os.getloadavg()
    print(
        f"POST /api/match over loopback, one uvicorn worker, {a.requests} sequential requests each"
    )
    print(f"{'profile':<24}{'p50 ms':>10}{'p99 ms':>10}")
    for name, p50, p99 in rows:
        print(f"{name:<24}{p50:>10.1f}{p99:>10.1f}")
    print(f"{a.clients} concurrent clients for {a.seconds:g} s (household): {rate:.0f} requests/s")
    print(f"load average after the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"command: .venv/bin/python bench/api_match.py --requests {a.requests} "
          f"--clients {a.clients} --seconds {a.seconds:g}")  # fmt: skip


if __name__ == "__main__":
    main()
