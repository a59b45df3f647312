"""The village operator's journey (村便民服务中心) in the browser, and its scope.

The journey uploads households `CUN-VIL-*` (no other test uses that prefix), reads households of
village `seeded.village` without changing them, and confirms claims in batch in the sibling
village (`cun2`'s), so the reviewers' 低保 journey over the claims of `seeded.village` is
never disturbed when both run on one server.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from rules.catalogue import load_catalogue
from sheets.template import write_template
from synth.identifiers import make_ric
from tests.api.console.conftest import login, shot
from tests.api.server import ROOT, Server


def person(seq: int) -> str:
    """A valid ID number no seeded household holds (born 1941-06-07)."""
    return make_ric(region="520602", birth=date(1941, 6, 7), seq=seq)


def household_sheet(path: Path, village: str) -> Path:
    """The household template filled in: two good households, a bad check digit (row 4) and an
    absurd income (row 5)."""
    write_template(path, load_catalogue(ROOT).facts, "household")
    book = load_workbook(path)
    sheet = book.worksheets[0]
    headers = [c.value for c in sheet[1]]
    bad_id = person(3)[:17] + ("1" if person(3)[17] != "1" else "2")
    rows = [
        {"户编号": "CUN-VIL-1", "姓名": "甲村民", "身份证号": person(1), "与户主关系": "户主",
         "低保状态": "非低保", "月收入": 800},
        {"户编号": "CUN-VIL-1", "姓名": "乙村民", "身份证号": person(2), "与户主关系": "配偶"},
        {"户编号": "CUN-VIL-2", "姓名": "丙村民", "身份证号": bad_id, "与户主关系": "户主"},
        {"户编号": "CUN-VIL-3", "姓名": "丁村民", "身份证号": person(4), "与户主关系": "户主",
         "月收入": 1e30},
        {"户编号": "CUN-VIL-4", "姓名": "戊村民", "身份证号": person(5), "与户主关系": "户主",
         "低保状态": "非低保", "月收入": 900},
    ]  # fmt: skip
    for row in rows:
        sheet.append([{**row, "村（居）代码": village}.get(str(h)) for h in headers])
    book.save(path)
    return path


def test_a_village_uploads_a_sheet_filters_prints_a_notice_and_submits_claims_in_batch(
    page: Page, console: Server, tmp_path: Path
) -> None:
    """Bad rows are named by row and column while the good ones go in; the filters narrow the
    roster; a household's 一次性告知单 names what is missing; a batch confirms and sends claims
    to the township, a claim someone else moved meanwhile saying why not on its row."""
    s, base = console.seeded, console.base_url
    login(page, console, "cun")
    page.click("header nav >> text=上传户表")
    page.set_input_files("input[name=file]", household_sheet(tmp_path / "cun.xlsx", s.village))
    with page.expect_response(lambda r: r.request.method == "POST") as sent:
        page.click("text=上传并导入")
    assert sent.value.status == 200
    job = page.locator("#job")
    expect(job).to_have_attribute("data-state", "done", timeout=20_000)
    expect(job.locator("[data-count=households]")).to_contain_text("2 户")
    errors = job.locator("table.row-errors tbody tr")
    expect(errors).to_have_count(2)
    expect(job.locator("tr[data-row='4'][data-column='身份证号']")).to_contain_text("校验码")
    expect(job.locator("tr[data-row='5'][data-column='月收入']")).to_contain_text("过大")

    page.click("header nav >> text=本村户")
    page.fill("input[name=q]", "CUN-VIL")
    rows = page.locator("#roster tr[data-household]")
    expect(rows).to_have_count(2)
    expect(page).to_have_url(re.compile(r"q=CUN-VIL"))
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.household)") == ["CUN-VIL-1", "CUN-VIL-4"]
    page.fill("input[name=q]", "")
    page.select_option("select[name=lacking]", "facts")
    missing = page.locator(f"#roster tr[data-household='{s.village}-00014']")
    expect(missing).to_contain_text("缺信息：特困状态")
    expect(rows.filter(has_not_text="缺信息")).to_have_count(0)

    missing.locator("a").first.click()
    expect(page.locator("h1")).to_have_text(f"户 {s.village}-00014")
    expect(page.locator("#held ~ table tr[data-policy]").first).to_contain_text("待补充信息")
    page.click("text=一次性告知单（打印）")
    sheet = page.locator("article.sheet")
    expect(sheet.locator(".sheet-facts")).to_contain_text("特困状态")
    expect(page.locator("button", has_text="打印")).to_be_visible()

    page.context.clear_cookies()
    login(page, console, "cun2")
    page.goto(base + "/console/village/claims")
    waiting = page.locator("table.claims tbody tr")
    expect(waiting.first).to_be_visible()
    ids = waiting.evaluate_all("rs => rs.slice(0, 3).map(r => Number(r.dataset.claim))")
    assert len(ids) == 3, ids
    for claim_id in ids:
        page.check(f"tr[data-claim='{claim_id}'] input[name=pick]")
    with console.client("cun2") as api:  # another operator confirms one meanwhile
        assert api.post(f"/api/claims/{ids[2]}/confirm").status_code == 200
    page.click("button[value=submit]")
    expect(page.locator("[data-summary]")).to_contain_text("3 件：2 件已办，1 件未办")
    for claim_id in ids[:2]:
        expect(page.locator(f"tr[data-claim='{claim_id}'] td.result")).to_contain_text(
            "已办 现为「村级已受理」"
        )
    expect(page.locator(f"tr[data-claim='{ids[2]}'] td.result")).to_contain_text("他人")
    shot(page, tmp_path)


def test_another_villages_household_is_not_found(page: Page, console: Server) -> None:
    """cun opens a household of cun2's village: 404, as the API says it."""
    login(page, console, "cun")
    other = f"{console.seeded.sibling_village}-00001"
    for path in (f"/console/village/households/{other}",
                 f"/console/village/households/{other}/notice-sheet"):  # fmt: skip
        answer = page.goto(console.base_url + path)
        assert answer is not None and answer.status == 404
        expect(page.locator(".problem")).to_contain_text("不存在，或不在您的辖区内")
