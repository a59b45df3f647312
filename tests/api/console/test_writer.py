"""The policy writer's journey in the browser: the catalogue, a draft from a typo to publish."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.api.console.conftest import login, shot
from tests.api.server import ROOT, Seeded, start_server

WATER = (ROOT / "household" / "dibao" / "water.yaml").read_text(encoding="utf-8")
# A dearer water price from 2025 on; the 2025 case expects the new amount, a 2024 case the old.
OLD_SIDE = """  - name: 2024年水价未调整时仍折合13元
    on: 2024-06-01
    household:
      region_code: "520602001201"
      dibao_status: active
      members:
        - {id_number: "522221198001100031", relation: head}
    expect: {eligible: true, amount: 13}
"""
DEARER = WATER.replace("{2022-01-01: 2.6}", "{2022-01-01: 2.6, 2025-01-01: 3.2}") + OLD_SIDE
FORGOT_CASE = DEARER  # the 2025 case still expects 13
FIRST_CASE = "expect: {eligible: true, amount: 13}\n  - name: 非低保"
FIXED = DEARER.replace(FIRST_CASE, FIRST_CASE.replace("13", "16"))
TYPO = FIXED.replace('when: dibao_status == "active"', 'when: dibao_statu == "active"').replace(
    "title: 低保家庭免费用水量", "title: 低保家庭免费用水量<b>粗</b>"
)
TYPO_LINE = TYPO.splitlines().index('  - when: dibao_statu == "active"') + 1
FORGOT_LINE = WATER.splitlines().index("  - name: 在册低保家庭每月免费5立方米，折合13元") + 1
SERIES = ("gain", "loss", "raised", "lowered")


def _upload(page: Page, text: str) -> Locator:
    page.set_input_files(
        "input[name=file]",
        {"name": "water.yaml", "mimeType": "application/yaml", "buffer": text.encode()},
    )
    page.get_by_role("button", name="检查草稿").click()
    return page.locator("section.check")


def _numbers(cells: Locator) -> list[Decimal]:
    return [Decimal(t.replace(",", "")) for t in cells.all_inner_texts()]


def _check_chart_against_table(impact: Locator) -> int:
    """Each bar's `data-value` is the table's number for its township and series; returns
    the households raised."""
    rows = impact.locator("table.by-township tbody tr")
    expect(rows.first).to_be_visible()
    table = [_numbers(rows.nth(i).locator("td.num")) for i in range(rows.count())]
    counts, money = impact.locator("figure.chart").all()
    for series, column in zip(SERIES, range(4), strict=True):
        bars = counts.locator(f"g.bar[data-series={series}]")
        assert [Decimal(v) for v in _attrs(bars)] == [row[column] for row in table], series
    bars = money.locator("g.bar[data-series=amount_delta]")
    assert [Decimal(v) for v in _attrs(bars)] == [row[4] for row in table]
    totals = _numbers(impact.locator("table.totals td.num"))
    assert totals[2] == sum(row[2] for row in table) > 0
    assert totals[4] == sum(row[4] for row in table) == totals[2] * Decimal("3.00")  # 5 m³ × 0.6 元
    return int(totals[2])


def _attrs(bars: Locator) -> list[str]:
    return [str(bars.nth(i).get_attribute("data-value")) for i in range(bars.count())]


def test_a_writer_reads_the_catalogue_fixes_a_draft_previews_and_publishes_it(
    seeded: Seeded, page: Page, tmp_path: Path
) -> None:
    """Catalogue → policy (dated values, references, cases) → a typo named at its line → a
    case expecting the old amount (publish refused) → fixed: cases pass, the impact table and
    chart agree → published: the catalogue serves the new version and price."""
    policies = tmp_path / "policies"
    shutil.copytree(ROOT, policies)
    target = policies / "household" / "dibao" / "water.yaml"
    server = start_server(seeded, tmp_path / "srv", env={"ZHIDA_POLICIES": str(policies)})
    try:
        login(page, server, "zhengce")
        expect(page.locator("main h1")).to_have_text("政策目录")
        water = page.locator("tr[data-policy='household.dibao.water']")
        expect(water).to_contain_text("params.free_m3 * params.price")
        expect(water.locator(".today")).to_contain_text("5 * 2.6")
        before = page.locator("[data-version]").get_attribute("data-version")
        water.get_by_role("link", name="低保家庭免费用水量").click()
        price = page.locator("tr[data-parameter=price]")
        expect(price.locator("li.in-force .value")).to_have_text("2.6")
        expect(price.locator("td.reference")).to_contain_text("第一阶梯综合水价")
        expect(page.locator("table.cases tbody tr")).to_have_count(4)
        expect(page.locator("table.source-listing")).to_contain_text("522***********0031")

        page.get_by_role("link", name="上传草稿").click()
        check = _upload(page, TYPO)
        typo = check.locator(f"#L{TYPO_LINE}")
        expect(typo).to_have_attribute("data-marked", "error")
        expect(typo.locator(".says")).to_contain_text(f"water.yaml:{TYPO_LINE}:")
        expect(typo.locator(".says")).to_contain_text("dibao_status")
        expect(typo.locator("mark")).to_have_text("d")
        expect(check.locator("#L2")).to_contain_text("<b>粗</b>")  # shown as text, escaped
        expect(page.locator("#impact")).to_have_count(0)

        check = _upload(page, FORGOT_CASE)
        expect(check).to_have_attribute("data-ok", "false")
        failed = check.locator("table.case-results tr[data-passed=false]")
        expect(failed).to_have_count(1)
        expect(failed).to_contain_text("13")
        expect(failed).to_contain_text("16.00")
        expect(check.locator(f"#L{FORGOT_LINE}")).to_have_attribute("data-marked", "case")
        expect(page.locator("#publish")).to_have_count(0)
        key = page.locator("#impact input[name=draft]").get_attribute("value")
        headers = json.loads(str(page.locator("body").get_attribute("hx-headers")))
        forced = page.request.post(
            server.base_url + "/console/writer/draft/publish", form={"draft": str(key)},
            headers={**headers, "hx-request": "true"},
        )  # fmt: skip
        assert forced.status == 422 and "未通过" in forced.text()
        assert target.read_text(encoding="utf-8") == WATER

        check = _upload(page, FIXED)
        expect(check).to_have_attribute("data-ok", "true")
        expect(check.locator("table.case-results tr[data-passed=true]")).to_have_count(5)
        page.get_by_role("button", name="评估影响").click()
        impact = page.locator("#impact .impact-policy[data-policy='household.dibao.water']")
        raised = _check_chart_against_table(impact)

        page.once("dialog", lambda dialog: dialog.accept())
        page.locator("#publish button").click()
        expect(page.locator("#publish.done")).to_contain_text("已发布")
        assert target.read_text(encoding="utf-8") == FIXED
        page.get_by_role("link", name="返回政策目录").click()
        after = page.locator("[data-version]").get_attribute("data-version")
        assert after != before
        expect(page.locator("main section.version")).to_contain_text("由 zhengce 发布")
        expect(water.locator(".today")).to_contain_text("5 * 3.2")
        water.get_by_role("link", name="低保家庭免费用水量").click()
        expect(price.locator("li.in-force")).to_contain_text("2025-01-01 起 3.2")
        expect(price.locator("li:not(.in-force)")).to_contain_text("2022-01-01 起 2.6")
        shot(page, tmp_path)
    finally:
        server.stop()
    assert raised > 0
