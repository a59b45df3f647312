"""Drain throughput: notices pushed per second to a webhook receiver on loopback.

    .venv/bin/python bench/drain.py [--notices 10000] [--batch 200] [--workers 8]
                                    [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]

For each database (SQLite in a temporary folder; PostgreSQL when `--pg-url` or
`ZHIDA_BENCH_PG_URL` names a server where databases may be created, else a throwaway cluster
when PostgreSQL is installed): 100 enterprises each subscribed by webhook, N notices queued in
the outbox, then one `jobs.drain.drain(once=True)` in this process, timed from the first claim
to the last record. The receiver runs in a process of its own (`ThreadingHTTPServer`, HTTP/1.1
keep-alive, answers 204 after checking the signature with the official `standardwebhooks`
library), so the figure is the drain's — claim, fan-out, sign, POST, record — not the
receiver's. Prints notices/s and checks that the receiver saw every notice once.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import socket
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from common import REPO, machine  # type: ignore[import-not-found]

sys.path.insert(0, str(REPO))

SUBJECTS = 100


def _receiver(port: int, secrets: dict[str, str], conn: Connection) -> None:
    """Serve on `port` until told to stop; then send back (distinct ids, requests)."""
    from standardwebhooks.webhooks import Webhook

    seen: dict[str, int] = {}
    hooks = {path: Webhook(secret) for path, secret in secrets.items()}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            hooks[self.path].verify(body, headers)
            seen[headers["webhook-id"]] = seen.get(headers["webhook-id"], 0) + 1
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    conn.send(server.server_address[1])
    server.timeout = 0.2
    while not conn.poll():
        server.handle_request()
    conn.send((len(seen), sum(seen.values())))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(url: str, label: str, notices: int, batch: int, workers: int) -> float:
    """Drain `notices` on the database at `url`; returns notices/s."""
    from jobs.channels import Channels, DrainSettings
    from jobs.drain import drain
    from store.db import open_engine
    from store.delivery.registration import register
    from store.delivery.secrets import secret_box
    from tests.jobs.delivery_kit import add_enterprises, queue_notices

    engine, port, secrets, subjects = open_engine(url), _free_port(), {}, []
    for sid, code in add_enterprises(engine, SUBJECTS):
        done = register(engine, kind="enterprise", key=code, channel="webhook",
                        target=f"http://127.0.0.1:{port}/hook/{code}")  # fmt: skip
        secrets[f"/hook/{code}"] = done.secret or ""
        subjects.append(("enterprise", sid))
    queue_notices(engine, subjects, notices // SUBJECTS)
    parent, child = mp.Pipe()
    proc = mp.Process(target=_receiver, args=(port, secrets, child))
    proc.start()
    parent.recv()
    channels = Channels(DrainSettings(batch=batch, workers=workers), box=secret_box())
    started = time.perf_counter()
    report = drain(engine, channels=channels, once=True)
    seconds = time.perf_counter() - started
    channels.close()
    parent.send("stop")
    distinct, total = parent.recv()
    proc.join()
    engine.dispose()
    rate = notices / seconds
    print(f"{label}: {notices:,} notices in {seconds:.2f} s = {rate:,.0f} notices/s "
          f"(batch {batch}, {workers} workers; tries {dict(report.tries)}; "
          f"receiver: {distinct:,} distinct of {total:,})")  # fmt: skip
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--notices", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--pg-url", default=os.environ.get("ZHIDA_BENCH_PG_URL"))
    args = parser.parse_args()
    os.environ.setdefault("ZHIDA_WEBHOOK_ALLOW", "127.0.0.0/8")
    folder = Path(tempfile.mkdtemp(prefix="zhida-bench-drain-"))
    os.environ["ZHIDA_DATA_DIR"] = str(folder)
    print(machine())
    from store.testing import PostgresServer, find_pg_bin, fresh_postgres, fresh_sqlite

    fresh_sqlite(folder / "drain.db").dispose()
    run(f"sqlite:///{folder / 'drain.db'}", "SQLite", args.notices, args.batch, args.workers)
    server = None
    pg = args.pg_url
    if pg is None and find_pg_bin() is not None:
        server = PostgresServer(find_pg_bin()).start()  # type: ignore[arg-type]
        pg = server.url
    if pg:
        try:
            url = fresh_postgres(pg, "zhida_bench_drain")
            run(url, "PostgreSQL", args.notices, args.batch, args.workers)
        finally:
            if server is not None:
                server.stop()


if __name__ == "__main__":
    main()
