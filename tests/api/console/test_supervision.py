"""The supervisor's journey (督查): the coverage chart shows the numbers the database holds (counted
here with the test's own SQL), a township drills down to its villages, the 应享未享, overdue and
outcomes pages open with their rows, and an xlsx download holds the table's rows and no full ID.

The journey changes one object of its own: the latest prepared single-policy claim of the
sibling village (`cun2`'s), confirmed through the API dated 2025-03-03, so one claim step is
overdue (村级受理, 2 working days) — no other console test acts in that village.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from rules.clock import today
from tests.api.console.conftest import login, shot
from tests.api.server import COUNTY, Server
from tests.pii_scan import find_ids

SERIES = ("eligible", "notified", "delivered", "claimed", "paid")
_ELIGIBLE = """
SELECT e.subject_kind, e.subject_id, e.policy_id, COALESCE(h.region_code, f.region_code)
FROM entitlement e
LEFT JOIN household h ON e.subject_kind = 'household' AND h.id = e.subject_id
LEFT JOIN enterprise f ON e.subject_kind = 'enterprise' AND f.id = e.subject_id
WHERE e.status = 'eligible' AND e.valid_from <= :on AND (e.valid_to IS NULL OR e.valid_to > :on)
"""
_NOTICES = (
    "SELECT subject_kind, subject_id, policy_id, state FROM outbox WHERE kind = 'newly_eligible'"
)
_PARTS = """
SELECT c.subject_kind, c.subject_id, json_extract(s.value, '$.policy_id'), p.state
FROM claim_part p JOIN claim c ON c.id = p.claim_id, json_each(p.sections) s
"""


def _counted(server: Server, prefix: str, size: int) -> dict[str, tuple[int, ...]]:
    """Per region group (the first `size` digits) under `prefix`: eligible, notified, delivered,
    claimed, paid — counted from the server's database with this test's own SQL."""
    with sqlite3.connect(server.data / "zhida.db") as db:
        eligible = db.execute(_ELIGIBLE, {"on": today().isoformat()}).fetchall()
        notices = db.execute(_NOTICES).fetchall()
        parts = db.execute(_PARTS).fetchall()
    notified = {(k, i, p) for k, i, p, _ in notices}
    delivered = {(k, i, p) for k, i, p, s in notices if s == "sent"}
    claimed = {(k, i, p) for k, i, p, s in parts if s not in ("withdrawn", "rejected")}
    paid = {(k, i, p) for k, i, p, s in parts if s in ("granted", "paid")}
    counts: Counter[tuple[str, int]] = Counter()
    for kind, sid, policy, region in eligible:
        if not (region or "").startswith(prefix):
            continue
        key, group = (kind, sid, policy), region[:size]
        label = group if len(group) == size else f"{group} 县本级"
        for n, hit in enumerate((True, key in notified, key in delivered, key in claimed,
                                 key in paid)):  # fmt: skip
            counts[(label, n)] += int(hit)
    return {g: tuple(counts[(g, n)] for n in range(5)) for g, _ in counts}


def _chart(page: Page, title: str) -> dict[str, tuple[int, ...]]:
    """The chart captioned `title`: each group's bars' `data-value`, in SERIES order."""
    figure = page.locator("figure.chart").filter(has_text=title)
    expect(figure).to_be_visible()
    groups = figure.locator("text.group").all_text_contents()
    bars: list[list[str]] = figure.locator("g.bar").evaluate_all(
        "bars => bars.map(b => [b.dataset.series, b.dataset.value])"
    )
    assert [s for s, _ in bars] == list(SERIES) * len(groups)
    return {g: tuple(int(v) for _, v in bars[i * 5 : i * 5 + 5]) for i, g in enumerate(groups)}


def _table(page: Page, selector: str) -> list[list[str]]:
    rows: list[list[str]] = page.locator(f"{selector} tbody tr").evaluate_all(
        "trs => trs.map(tr => [...tr.cells].map(td => td.innerText.trim()))"
    )
    return rows


def _download(page: Page, tmp_path: Path, name: str) -> tuple[str, list[list[Any]]]:
    """Click the page's 导出 Excel; the file's name and its first sheet's rows (as text)."""
    with page.expect_download() as info:
        page.locator("a.button", has_text="导出 Excel").click()
    download = info.value
    path = tmp_path / name
    download.save_as(path)
    book = load_workbook(path, read_only=True)
    sheets = {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in book}
    cells = " ".join(str(c) for rows in sheets.values() for r in rows for c in r if c is not None)
    assert not find_ids(cells), "a full ID number in the export"
    return download.suggested_filename, sheets["明细" if "明细" in sheets else book.sheetnames[0]]


def _overdue_claim(server: Server) -> int:
    """The sibling village's latest prepared single-policy claim, confirmed on 2025-03-03."""
    village = server.seeded.sibling_village
    with sqlite3.connect(server.data / "zhida.db") as db:
        (claim_id,) = db.execute(
            "SELECT MAX(id) FROM claim WHERE region = ? AND kind = 'claim' AND state = 'prepared'",
            (village,),
        ).fetchone()
    with server.client("cun2") as client:
        done = client.post(f"/api/claims/{claim_id}/confirm", json={"on": "2025-03-03"})
    assert done.status_code == 200, done.text
    return int(claim_id)


def test_the_supervisor_sees_the_databases_numbers_drills_down_and_exports(
    page: Page, console: Server, tmp_path: Path
) -> None:
    """Coverage bars = the test's SQL counts (county by township, then a township by village);
    another county's rows are not in the county's numbers; a bad filter is named beside its
    field; 应享未享, 超时事项 and 办理成效 show their rows; the coverage and 应享未享 downloads
    hold the tables' rows and no full ID."""
    claim_id = _overdue_claim(console)
    township, base = console.seeded.township, console.base_url
    login(page, console, "ducha")
    expect(page).to_have_url(base + "/console/supervision")

    county = _counted(console, COUNTY, 9)
    assert _chart(page, "各乡镇（街道）覆盖情况") == county
    everywhere = _counted(console, "", 6)  # the whole database, by county
    total = page.locator("table[data-table=region] tfoot th.num").first
    expect(total).to_have_text(str(sum(v[0] for v in county.values())))
    assert sum(v[0] for v in everywhere.values()) > sum(v[0] for v in county.values())

    page.locator("table[data-table=region] a", has_text=township).first.click()
    expect(page).to_have_url(f"{base}/console/supervision?region={township}")
    assert _chart(page, "各村（社区）覆盖情况") == _counted(console, township, 12)
    name, sheet = _download(page, tmp_path, "coverage.xlsx")
    assert name == f"覆盖情况-{township}-{today().isoformat()}.xlsx"
    assert sheet[0][:3] == ["政策编号", "政策名称", "地区代码"]
    assert [[str(c) for c in row] for row in sheet[1:]] == _table(page, "table[data-table=detail]")

    page.goto(f"{base}/console/supervision?region=520625")
    expect(page.locator("#report .empty")).to_contain_text("不在本县")

    page.locator("header nav a", has_text="应享未享").click()
    page.fill("input[name=region]", "52060x")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("label .field-problem")).to_contain_text(
        "「52060x」：区划代码应为 1–12 位数字"
    )
    page.fill("input[name=region]", console.seeded.sibling_village)
    page.select_option("select[name=claim]", "in_progress")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("table.unclaimed tbody tr").first).to_contain_text("已确认")
    shown = _table(page, "table.unclaimed")
    assert shown and all(r[2] == console.seeded.sibling_village for r in shown)
    name, sheet = _download(page, tmp_path, "unclaimed.xlsx")
    assert name.startswith(f"应享未享-{console.seeded.sibling_village}-")
    assert [(r[1], r[2], r[4]) for r in sheet[1:]] == [(r[1], r[2], r[3].split(" ")[0])
                                                      for r in shown]  # fmt: skip

    page.locator("header nav a", has_text="超时事项").click()
    row = page.locator("table.overdue-steps tr.overdue", has_text=str(claim_id))
    expect(row).to_contain_text("已确认")
    expect(row).to_contain_text(f"村（社区）{console.seeded.sibling_village}")
    expect(row.locator("td").nth(0)).to_have_css("color", "rgb(180, 35, 24)")

    page.locator("header nav a", has_text="办理成效").click()
    expect(page.locator("table.outcomes tbody tr").first).to_be_visible()
    expect(page.locator("figure.chart").filter(has_text="跑动次数")).to_be_visible()
    shot(page, tmp_path)
