"""The demo county through the whole workflow, and its outcomes report.

    .venv/bin/python bench/claims_demo.py [--households 3000] [--enterprises 300]
                                          [--database-url postgresql://…] [--no-postgres]

For each database (SQLite in a temporary folder; PostgreSQL as in bench/claims.py): the demo
population `make run` uses (`zhida demo-data`, imported with `--on 2025-03-01` through the event
path, then swept), then county 520602's household claims taken through every step as their
users would, each step a batch (`advance_many`, one transaction a claim, as `zhida claims …
--all --region` does): each village operator confirms on the households' behalf and accepts,
each township checks, each county department approves its parts, exports its batch sheet and
records the payments from the filled sheet (`store.claims.export` / `payments`). Prints each
batch's claims (or parts) per second, then the outcomes report of the county (per bundle and
policy: claims, actions asked per delivered benefit, materials asked/required, visits without
→ with zhida, days to payment), and checks the 低保一件事 went 7 → 1 where a household had all
seven follow-ons. Enterprises' claims are left to their own confirmation (not in the figures).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

from common import REPO, machine  # type: ignore[import-not-found]
from openpyxl import load_workbook

from rules.workflow import Actor
from store.claims.export import export_rows, write_export
from store.claims.payments import read_payments, record_payments
from store.claims.reads import list_claims
from store.claims.report import outcomes
from store.claims.steps import StepDone, StepRequest, advance_many
from store.db import open_engine, read_session
from store.testing import PostgresServer, find_pg_bin, fresh_postgres

ROOT = REPO / "policies"
COUNTY = "520602"
ON, CONFIRM, CHECK, APPROVE, PAY, REPORT = (
    date(2025, 3, 1), date(2025, 3, 3), date(2025, 3, 4), date(2025, 3, 6), date(2025, 3, 14),
    date(2025, 4, 15),
)  # fmt: skip


def _zhida(env: dict[str, str], *args: str) -> None:
    zhida = Path(sys.executable).with_name("zhida")
    subprocess.run([str(zhida), *args], check=True, env=env, cwd=REPO,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def _load(url: str, data: Path, folder: Path) -> None:
    env = {**os.environ, "DATABASE_URL": url, "ZHIDA_DATA_DIR": str(folder)}
    _zhida(env, "import", "households", str(data / "households.xlsx"), "--on", str(ON))
    _zhida(env, "import", "enterprises", str(data / "enterprises.xlsx"), "--on", str(ON))
    _zhida(env, "sweep", "--on", str(ON))


def _batch(engine: Any, requests: list[StepRequest], label: str, figures: dict[str, Any]) -> None:
    began = time.perf_counter()
    results = advance_many(engine, requests, root=ROOT)
    took = time.perf_counter() - began
    done = sum(isinstance(r, StepDone) for r in results)
    assert done == len(requests), (label, [r for r in results if not isinstance(r, StepDone)][:3])
    row = figures.setdefault(label, {"steps": 0, "seconds": 0.0})
    row["steps"] += done
    row["seconds"] += took


def _households(engine: Any) -> list[Any]:
    with read_session(engine) as s:
        return [c for c in list_claims(s, region=COUNTY) if c.subject_kind == "household"]


def _walk(engine: Any, tmp: Path) -> dict[str, Any]:
    """Every household claim of the county through confirm, accept, check, approve, pay."""
    figures: dict[str, Any] = {}
    claims = [c for c in _households(engine) if c.state == "prepared"]
    villages = defaultdict(list)
    for c in claims:
        villages[c.region].append(c)
    for code, mine in sorted(villages.items()):
        who = Actor(f"村{code}", "village", code, None)
        _batch(engine, [StepRequest(claim_id=c.id, actor=who, person=who.user, on=CONFIRM,
                                    to_state="confirmed", version=c.version) for c in mine],
               "confirm (village, on behalf)", figures)  # fmt: skip
        _batch(engine, [StepRequest(claim_id=c.id, actor=who, person=who.user, on=CONFIRM,
                                    to_state="village_accepted", version=c.version + 1)
                        for c in mine], "accept (village)", figures)  # fmt: skip
    towns = defaultdict(list)
    for c in claims:
        towns[c.region[:9]].append(c)
    for code, mine in sorted(towns.items()):
        who = Actor(f"乡{code}", "township", code, None)
        _batch(engine, [StepRequest(claim_id=c.id, actor=who, person=who.user, on=CHECK,
                                    to_state="township_checked", version=c.version + 2)
                        for c in mine], "check (township)", figures)  # fmt: skip
    parts = defaultdict(list)
    for c in _households(engine):
        for p in c.parts:
            if p.state == "township_checked":
                parts[p.department].append(c.id)
    for dept, ids in sorted(parts.items()):
        who = Actor(f"审批{dept}", "department", COUNTY, dept)
        _batch(engine, [StepRequest(claim_id=i, actor=who, person=who.user, on=APPROVE,
                                    to_state="county_approved") for i in ids],
               "approve (department, per part)", figures)  # fmt: skip
    for dept in sorted(parts):
        who = Actor(f"审批{dept}", "department", COUNTY, dept)
        with read_session(engine) as s:
            rows = export_rows(s, department=dept, county=COUNTY)
        sheet = tmp / f"{abs(hash(dept))}.xlsx"
        write_export(rows, sheet, department=dept)
        _fill(sheet)
        payments, problems = read_payments(sheet, today=PAY)
        assert not problems, problems[:3]
        began = time.perf_counter()
        done = record_payments(engine, payments, who, who.user, ROOT)
        row = figures.setdefault("pay (department file)", {"steps": 0, "seconds": 0.0})
        row["steps"] += len(done.recorded)
        row["seconds"] += time.perf_counter() - began
    return figures


def _fill(sheet: Path) -> None:
    book = load_workbook(sheet)
    ws = book.worksheets[0]
    head = [c.value for c in ws[1]]
    day, ref = head.index("发放日期") + 1, head.index("发放凭证号") + 1
    for row in range(2, ws.max_row + 1):
        ws.cell(row, day).value = PAY.isoformat()
        ws.cell(row, ref).value = f"PAY-{row:06d}"
    book.save(sheet)


def _report(engine: Any) -> dict[str, Any]:
    with read_session(engine) as s:
        found: dict[str, Any] = outcomes(s, region=COUNTY, today=REPORT, root=ROOT).as_json()
    return found


def _show(db: str, figures: dict[str, Any], report: dict[str, Any]) -> None:
    for name, f in figures.items():
        rate = f["steps"] / f["seconds"] if f["seconds"] else 0.0
        print(f"{db:10} {name:32} {f['steps']:>6} steps {f['seconds']:>7.2f} s {rate:>7.0f}/s",
              flush=True)  # fmt: skip
    print(f"{db} outcomes report, county {COUNTY}, on {REPORT}:")
    print(
        "  kind    | claims | actions per delivered | asked/required | visits without → with "
        "| days to pay (median, max) | title"
    )
    for g in report["bundles"] + report["policies"]:
        print(
            f"  {g['kind']:7} | {g['total']:>6} | {g['actions_per_delivered'] or '—':>21} | "
            f"{g['materials_asked']:>5}/{g['materials_required']:<8} | "
            f"{g['visits_without']:>6} → {g['visits_with']:<13} | "
            f"{g['days_to_pay_median'] or '—'}, {g['days_to_pay_max'] or '—'} | {g['title']}"
        )
    print(f"  应享未享: {len(report['unclaimed'])}", flush=True)


def _run(db: str, url: str, data: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _load(url, data, Path(tmp))
        engine = open_engine(url)
        figures = _walk(engine, Path(tmp))
        report = _report(engine)
        engine.dispose()
    _show(db, figures, report)


def main() -> None:
    """Parse the options, run each database, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=3_000)
    parser.add_argument("--enterprises", type=int, default=300)
    parser.add_argument("--database-url", default=os.environ.get("ZHIDA_BENCH_PG_URL"))
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    print(machine(), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "demo"
        _zhida({**os.environ}, "demo-data", "--households", str(args.households),
               "--enterprises", str(args.enterprises), "--out", str(data))  # fmt: skip
        _run("sqlite", f"sqlite:///{Path(tmp) / 'demo.db'}", data)
        if args.no_postgres:
            return
        server, url = None, args.database_url
        if url is None and (bin_dir := find_pg_bin()) is not None:
            server = PostgresServer(bin_dir).start()
            url = server.url
        try:
            if url is not None:
                _run("postgresql", fresh_postgres(url, f"zhida_bench_demo_{os.getpid()}"), data)
        finally:
            if server is not None:
                server.stop()


if __name__ == "__main__":
    main()
