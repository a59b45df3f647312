"""The reviewers' pages in Chromium: the 低保 bundle claim from the village through the township
to each department; a batch return (补正) from the queue with overdue rows in red, and a stale
claim page offering to reload; a department's payment sheet out and back in.

Objects used (the shared `console` server is shared by every console test of the process):
village 520602101201's 低保 bundle claim with the highest id, its two single claims with the
highest ids, and its 免申即享 grant of 县民政局 — the village helper's tests use 520602101202.
Every step is dated DAY (a Monday in March 2025) so the deadlines it opens are known to the
calendar whatever the day the tests run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from store.claims.export import HEADERS
from tests.api.console.conftest import login, shot
from tests.api.server import Server
from tests.pii_scan import find_ids

VILLAGE = "520602101201"
DAY = "2025-03-03"  # a Monday; the township's check is due 3 working days later
CHECK_DUE = "2025-03-06"
FIX = "请补交户口簿首页及本人页复印件"


def _claims(console: Server, user: str, **params: Any) -> list[dict[str, Any]]:
    with console.client(user) as c:
        answer = c.get("/api/claims", params={"waiting": "false", "limit": 500, **params})
    assert answer.status_code == 200, answer.text
    return [x for x in answer.json()["items"] if x["region"] == VILLAGE]


def _post(console: Server, user: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    with console.client(user) as c:
        answer = c.post(path, json=body)
    assert answer.status_code == 200, (path, answer.text)
    return dict(answer.json())


def _as(page: Page, console: Server, user: str) -> None:
    page.context.clear_cookies()
    login(page, console, user)


def _act(page: Page, action: str, reason: str | None = None) -> None:
    """Take `action` from the claim page's buttons, dated DAY."""
    page.locator("details.backdate summary").click()
    page.fill("#step-on", DAY)
    if reason is not None:
        page.locator(f"details.reasoned[data-action={action}] summary").click()
        page.locator(f"details.reasoned[data-action={action}] textarea").fill(reason)
    page.locator(f"button[data-action={action}]").click()


def _department_user(console: Server, department: str) -> str:
    users = console.seeded.users.items()
    return next(u for u, spec in users if spec.get("department") == department)


def test_dibao_bundle_claim_goes_from_village_to_township_to_each_department(
    page: Page, console: Server, tmp_path: Path
) -> None:
    """The village confirms the 低保 bundle claim for the household and submits it, the township
    finds it in its queue with its deadline and checks it, each department approves its own
    part; the claim ends approved with every step on its audit trail."""
    bundles = [c for c in _claims(console, "cun", kind="bundle", state="prepared")
               if c["title"].startswith("低保")]  # fmt: skip
    claim = max(bundles, key=lambda c: c["id"])
    cid, household = claim["id"], claim["subject_key"]
    departments = sorted(p["department"] for p in claim["parts"])
    state = page.locator(".summary .state")

    _as(page, console, "cun")
    page.goto(f"{console.base_url}/console/claims/{cid}")
    expect(state).to_have_text("待确认")
    expect(page.locator("[aria-label=材料]")).to_contain_text("低保证")
    expect(page.locator("[aria-label=符合条件的理由]")).to_contain_text("家庭为在册城乡低保对象")
    _act(page, "confirm")
    expect(state).to_have_text("已确认")
    _act(page, "accept")
    expect(state).to_have_text("村级已受理")

    _as(page, console, "xiang")
    page.fill("#filters input[name=subject]", household)
    page.locator("#filters input[name=subject]").press("Enter")
    row = page.locator(f"#queue tr[data-claim='{cid}']")
    expect(row.locator("td.due")).to_contain_text(CHECK_DUE)
    expect(row.locator("td.due")).to_contain_text("个工作日")
    row.get_by_role("link", name=str(cid), exact=True).click()
    _act(page, "check")
    expect(state).to_have_text("乡镇已审核")
    expect(page.locator("tr[data-part] .badge")).to_have_text(["乡镇已审核"] * len(departments))

    for department in departments:
        _as(page, console, _department_user(console, department))
        page.goto(f"{console.base_url}/console/claims/{cid}")
        expect(page.locator("tr[data-part]")).to_have_count(1)  # only its own part
        _act(page, "approve")
        expect(page.locator(f"tr[data-part='{department}'] .badge")).to_have_text("县级部门已审批")

    _as(page, console, "xiang")
    page.goto(f"{console.base_url}/console/claims/{cid}")
    expect(state).to_have_text("县级部门已审批")
    expect(page.locator("tr[data-part] .badge")).to_have_text(["县级部门已审批"] * len(departments))
    trail = page.locator("table.trail tbody tr")
    expect(trail).to_have_count(3 + len(departments))
    expect(trail.nth(0)).to_contain_text("代本户")
    expect(trail.nth(0)).to_contain_text("cun")
    expect(trail.nth(2)).to_contain_text("xiang")
    for department in departments:
        expect(page.locator("table.trail")).to_contain_text(_department_user(console, department))
    expect(page.locator(".actions-box")).to_contain_text("没有可办理的操作")
    shot(page, tmp_path)


def test_a_batch_return_says_what_to_fix_and_a_stale_claim_page_offers_to_reload(
    page: Page, console: Server, tmp_path: Path
) -> None:
    """Two claims accepted long ago are red in the township's queue (not yet on DAY + 1);
    returned in one batch with what to fix, each row's result is shown; the claim page opened
    before the return refuses the check as someone else's step and reloads to the reason."""
    singles = sorted(c["id"] for c in _claims(console, "cun", kind="claim", state="prepared"))
    picked = singles[-2:]
    for cid in picked:
        done = _post(console, "cun", f"/api/claims/{cid}/confirm", {"on": DAY})
        _post(console, "cun", f"/api/claims/{cid}/advance",
              {"action": "accept", "version": done["claim"]["version"], "on": DAY})  # fmt: skip

    _as(page, console, "xiang")
    page.goto(f"{console.base_url}/console/queue?kind=claim&state=village_accepted")
    rows = [page.locator(f"#queue tr[data-claim='{cid}']") for cid in picked]
    for row in rows:
        expect(row).to_have_class(re.compile(r"\boverdue\b"))
        expect(row.locator("td.due")).to_contain_text("已超时")
    page.fill("#filters input[name=on]", "2025-03-04")
    page.locator("#filters input[name=on]").press("Enter")
    for row in rows:
        expect(row.locator("td.due")).to_contain_text("剩 2 个工作日")
        expect(row).not_to_have_class(re.compile(r"\boverdue\b"))
    expect(page).to_have_url(re.compile(r"on=2025-03-04"))

    stale = page.context.new_page()
    stale.goto(f"{console.base_url}/console/claims/{picked[0]}")
    expect(stale.locator(".summary .state")).to_have_text("村级已受理")
    page.bring_to_front()  # a tab in the background gets no animation frames: Playwright waits

    for row in rows:
        row.locator("input[type=checkbox]").check()
    page.locator("#batch button[value=return]").click()
    expect(page.locator("#batch .field-problem")).to_contain_text("须写明")
    for row in rows:  # the rows came back as they were, nothing done
        row.locator("input[type=checkbox]").check()
    page.fill("#batch textarea[name=reason]", FIX)
    page.locator("#batch details.backdate summary").click()
    page.fill("#batch input[name=step_on]", DAY)
    page.locator("#batch button[value=return]").click()
    for cid in picked:
        result = page.locator(f".batch-results tr[data-claim='{cid}']")
        expect(result).to_contain_text("已办理")
        expect(result).to_contain_text("退回补正")
        expect(page.locator(f"#queue table.queue tr[data-claim='{cid}']")).to_have_count(0)

    stale.bring_to_front()
    stale.locator("button[data-action=check]").click()
    expect(stale.locator("#step-problem .problem")).to_contain_text("已被他人办理")
    stale.locator("#step-problem").get_by_role("link", name="重新载入").click()
    expect(stale.locator(".summary .state")).to_have_text("退回补正")
    expect(stale.locator(".summary dd.to-fix")).to_have_text(FIX)
    expect(stale.locator("table.trail")).to_contain_text(FIX)
    expect(stale.locator(".actions-box")).to_contain_text("没有可办理的操作")
    shot(stale, tmp_path)


def test_a_department_downloads_its_sheet_and_records_payments_row_by_row(
    page: Page, console: Server, tmp_path: Path
) -> None:
    """县民政局 cannot open a claim with no part of its own (404); it downloads its sheet (an
    xlsx with the export's columns), fills in the payment of its grant in the village and a row
    for a claim that does not exist, uploads it: one row recorded, the other refused by row and
    column; the same file again records nothing new."""
    (grant,) = [c["id"] for c in _claims(console, "bumen8", kind="grant", state="granted")]
    elsewhere = next(c["id"] for c in _claims(console, "cun")
                     if "县民政局" not in {p["department"] for p in c["parts"]})  # fmt: skip
    _as(page, console, "bumen8")
    answer = page.goto(f"{console.base_url}/console/claims/{elsewhere}")
    assert answer is not None and answer.status == 404  # no part of its own: not its claim
    expect(page.locator(".problem")).to_contain_text("不在您的辖区内")
    page.goto(f"{console.base_url}/console/department/files")
    with page.expect_download() as info:
        page.locator("#download").click()
    sheet = tmp_path / "发放清单.xlsx"
    info.value.save_as(sheet)
    book = load_workbook(sheet)
    ws = book.worksheets[0]
    assert ws.title == "县民政局"
    assert tuple(c.value for c in ws[1]) == HEADERS
    col = {name: HEADERS.index(name) + 1 for name in ("申领编号", "发放日期", "发放凭证号")}
    mine = [r for r in range(2, ws.max_row + 1) if ws.cell(r, col["申领编号"]).value == grant]
    assert mine, "the village's grant is not in the sheet"
    for r in mine:
        ws.cell(r, col["发放日期"]).value = "2025-03-20"
        ws.cell(r, col["发放凭证号"]).value = "MZ-2025-0001"
    bad = ws.max_row + 1
    for name, value in (("申领编号", 999999999), ("发放日期", "2025-03-20"),
                        ("发放凭证号", "MZ-2025-0002")):  # fmt: skip
        ws.cell(bad, col[name]).value = value
    filled = tmp_path / "发放结果.xlsx"
    book.save(filled)

    page.set_input_files("input[name=file]", str(filled))
    page.get_by_role("button", name="上传并登记").click()
    result = page.locator("#payments-result")
    expect(result.locator(".problem")).to_contain_text("登记发放 1 项")
    expect(result.locator(f"tr[data-row='{mine[0]}']")).to_contain_text("已登记发放")
    expect(result.locator(f"tr[data-row='{bad}']")).to_contain_text("未登记")
    expect(result.locator(f"tr[data-row='{bad}']")).to_contain_text("申领编号")
    page.goto(f"{console.base_url}/console/claims/{grant}")
    expect(page.locator(".summary .state")).to_have_text("已发放")

    page.goto(f"{console.base_url}/console/department/files")
    page.set_input_files("input[name=file]", str(filled))
    page.get_by_role("button", name="上传并登记").click()
    expect(result.locator(f"tr[data-row='{mine[0]}']")).to_contain_text("此前已登记")
    expect(result).to_contain_text("登记发放 0 项")
    assert not find_ids(result.inner_html())
    shot(page, tmp_path)
