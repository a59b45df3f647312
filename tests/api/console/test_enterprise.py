"""The enterprise's console journey: its notices (amount, why, basis), a prepared claim confirmed
once, and where its notices are pushed (a webhook on loopback with its secret shown once, a
rotation, a signed test ping delivered, an e-mail address and a mobile number)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from store.accounts import set_password
from store.db import open_engine, read_session, write_session
from store.tables.claims import Claim
from store.tables.entitlements import OutboxMessage
from store.tables.profiles import EnterpriseRow
from store.users import add_user
from tests.api.console.conftest import login, shot
from tests.api.server import COUNTY, PASSWORD, Seeded, Server, start_server

CONFIRMER = "qiye_queren"  # a login added for an enterprise of COUNTY with a prepared claim


def _prepared_claim(server: Server) -> tuple[str, int]:
    """The first enterprise of COUNTY (by credit code) with a claim waiting to be confirmed."""
    engine = open_engine(server.db_url)
    try:
        with read_session(engine) as s:
            row = s.execute(
                select(Claim.subject_key, Claim.id)
                .where(Claim.subject_kind == "enterprise", Claim.state == "prepared",
                       Claim.region.like(COUNTY + "%"))  # type: ignore[attr-defined]
                .order_by(Claim.subject_key, Claim.id)  # type: ignore[arg-type]
            ).first()  # fmt: skip
        assert row is not None, "the seeded data has no prepared enterprise claim in COUNTY"
        with write_session(engine) as s:
            add_user(session=s, name=CONFIRMER, role="enterprise", subject_key=row[0])
            set_password(session=s, name=CONFIRMER, password=PASSWORD)
    finally:
        engine.dispose()
    return str(row[0]), int(row[1])


@contextmanager
def _receiver(got: list[tuple[bytes, dict[str, str]]]) -> Iterator[int]:
    """A webhook receiver on loopback, keeping every body with its headers."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            got.append((body, {k.lower(): v for k, v in self.headers.items()}))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def _log_out(page: Page) -> None:
    page.click("header .who button")
    expect(page).to_have_url(re.compile(r"/console/login$"))


def _reads_its_notices(page: Page, server: Server) -> None:
    with server.client("qiye") as api:
        first = api.get("/api/notices").json()["items"][0]
    card = page.locator(f"article[data-notice='{first['id']}']")
    expect(card.locator("h2")).to_have_text(first["title"])
    expect(card.locator(".amount")).to_have_attribute("data-amount", first["amount"])
    expect(card.locator(".amount")).to_contain_text(f"{float(first['amount']):,.2f} 元")
    expect(card.locator(".says li").first).to_have_text(first["says"][0])
    expect(card.locator(".basis")).to_contain_text(first["basis"][:20])
    card.get_by_role("link", name="查看依据文件与参数").click()
    expect(page.locator("h1")).to_have_text(f"政策依据：{first['title']}")
    expect(page.locator("table.params td.reference").first).not_to_be_empty()
    page.go_back()
    card = page.locator(f"article[data-notice='{first['id']}']")
    card.get_by_role("link", name="查看详情").click()
    expect(page.locator("h1")).to_contain_text(f"通知 #{first['id']}")


def _confirms_once(page: Page, server: Server, claim_id: int, tmp_path: Path) -> None:
    login(page, server, CONFIRMER)
    stale = page.context.new_page()  # a second tab, opened before the confirmation
    stale.goto(server.base_url + "/console/enterprise")
    box = page.locator(f"#claim-{claim_id}").first
    expect(box.locator("[data-state]")).to_have_text("待确认")
    box.get_by_role("button", name="确认申领").click()
    box = page.locator(f"#claim-{claim_id}").first
    expect(box.locator(".done")).to_contain_text("已确认申领")
    expect(box.locator("[data-state]")).to_have_text("已确认")
    expect(box.get_by_role("button", name="确认申领")).to_have_count(0)
    old = stale.locator(f"#claim-{claim_id}").first
    old.get_by_role("button", name="确认申领").click()
    old = stale.locator(f"#claim-{claim_id}").first
    expect(old.locator(".problem")).to_contain_text("请刷新后重试")
    expect(old.locator("[data-state]")).to_have_text("已确认")
    shot(stale, tmp_path, "second-confirm")
    stale.close()
    with server.client(CONFIRMER) as api:
        steps = api.get(f"/api/claims/{claim_id}").json()["steps"]
    assert [s["action"] for s in steps].count("confirm") == 1, steps


def _adds(page: Page, channel: str, target: str) -> None:
    form = page.locator(f"#add-{channel}")
    form.locator("input[name=target]").fill(target)
    form.get_by_role("button").click()


def _sets_where_notices_go(
    page: Page, server: Server, port: int, got: list[tuple[bytes, dict[str, str]]]
) -> None:
    page.get_by_role("navigation", name="功能").get_by_role("link", name="接收设置").click()
    expect(page.locator("#subs .empty")).to_contain_text("还没有接收渠道")
    _adds(page, "webhook", "http://10.1.2.3/hook")
    expect(page.locator("#add-webhook .field-problem")).to_contain_text("不能推送到内部网络")
    _adds(page, "webhook", f"http://127.0.0.1:{port}/hook")
    first = page.locator("#add-webhook code.secret").inner_text()
    assert first.startswith("whsec_"), first
    card = page.locator("#subs section.sub[data-channel=webhook]")
    expect(card).to_contain_text(f"127.0.0.1:{port}/hook")
    page.reload()
    assert "whsec_" not in page.content()  # shown once: never in a listing
    page.on("dialog", lambda dialog: dialog.accept())
    card.get_by_role("button", name="轮换密钥").click()
    expect(card.locator("code.secret")).to_have_text(re.compile(r"^whsec_"))
    rotated = card.locator("code.secret").inner_text()
    assert rotated != first
    card.get_by_role("button", name="发送测试推送").click()
    expect(card.locator("code.secret")).to_have_text(rotated)  # still there to be copied
    expect(card.locator(".ping-result .done")).to_contain_text("测试推送已排入发件箱")
    expect(card.locator(".delivery")).to_have_attribute("data-state", "sent", timeout=20_000)
    pings = [Webhook(rotated).verify(body, headers) for body, headers in got]
    assert [p["type"] for p in pings].count("ping") == 1, pings
    _adds(page, "email", "caiwu@firm.cn, boss@firm.cn")
    expect(page.locator("#add-email .field-problem")).to_contain_text("不是电子邮件地址")
    _adds(page, "email", "caiwu@example.com")
    mail = page.locator("#subs section.sub[data-channel=email]")
    expect(mail).to_contain_text("caiwu@example.com")
    mail.get_by_role("button", name="停用").click()
    expect(mail.locator(".badge")).to_have_text("已停用")
    expect(mail.get_by_role("button")).to_have_count(0)
    _adds(page, "sms", "12345")
    expect(page.locator("#add-sms .field-problem")).to_contain_text("不是手机号")
    _adds(page, "sms", "13800138000")
    expect(page.locator("#subs section.sub[data-channel=sms]")).to_contain_text("138****8000")


def test_an_enterprise_reads_its_notices_confirms_a_claim_once_and_sets_its_channels(
    page: Page, seeded: Seeded, tmp_path: Path
) -> None:
    """qiye reads its notices (amount, reasons, basis); another enterprise of the county
    confirms its prepared claim once (a stale tab's second try is refused); qiye adds a webhook
    on loopback (secret once, rotated, a signed ping delivered), an e-mail (then disables it)
    and a mobile, each refused first with the store's message beside the field."""
    env = {"ZHIDA_DRAIN_EVERY_S": "1", "ZHIDA_WEBHOOK_ALLOW": "127.0.0.0/8"}
    server = start_server(seeded, tmp_path / "server", scheduler=True, env=env)
    got: list[tuple[bytes, dict[str, str]]] = []
    try:
        _, claim_id = _prepared_claim(server)
        login(page, server, "qiye")
        expect(page.locator("h1")).to_have_text("政策通知")
        _reads_its_notices(page, server)
        _log_out(page)
        _confirms_once(page, server, claim_id, tmp_path)
        _log_out(page)
        login(page, server, "qiye")
        with _receiver(got) as port:
            _sets_where_notices_go(page, server, port, got)
        shot(page, tmp_path)
    finally:
        page.close()  # no poll of the page outlives its server
        server.stop()


def _add_login_without_notices(server: Server, name: str) -> None:
    """A login for the first enterprise (by credit code) that has no notice at all."""
    engine = open_engine(server.db_url)
    try:
        with write_session(engine) as s:
            heard = select(OutboxMessage.subject_id).where(
                OutboxMessage.subject_kind == "enterprise"
            )
            code = s.execute(
                select(EnterpriseRow.credit_code)
                .where(EnterpriseRow.id.not_in(heard))  # type: ignore[union-attr]
                .order_by(EnterpriseRow.credit_code)
            ).scalars().first()  # fmt: skip
            assert code is not None, "every seeded enterprise has a notice"
            add_user(session=s, name=name, role="enterprise", subject_key=code)
            set_password(session=s, name=name, password=PASSWORD)
    finally:
        engine.dispose()


def test_an_enterprise_sees_only_its_own_notices(page: Page, console: Server) -> None:
    """qiye_b's notice is not in qiye's list and its page is a 404 for qiye; an enterprise
    with no notice sees the empty state."""
    with console.client("qiye_b") as api:
        theirs = api.get("/api/notices").json()["items"][0]["id"]
    login(page, console, "qiye")
    expect(page.locator("article.notice").first).to_be_visible()
    expect(page.locator(f"article[data-notice='{theirs}']")).to_have_count(0)
    answer = page.goto(f"{console.base_url}/console/enterprise/notices/{theirs}")
    assert answer is not None and answer.status == 404
    expect(page.locator("h1")).to_have_text("找不到")
    _add_login_without_notices(console, "qiye_kong")
    page.context.clear_cookies()
    login(page, console, "qiye_kong")
    expect(page.locator("p.empty")).to_contain_text("还没有通知")
