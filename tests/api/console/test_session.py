"""Logging in and out of the console, CSRF, and every role's menu opening in the browser."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.api.console.conftest import login, shot
from tests.api.server import PASSWORD, Server

# Where each role lands after logging in (written here, not read from the code under test).
LANDS = {
    "cun": "/console/village",
    "xiang": "/console/queue",
    "xian": "/console/queue",
    "bumen8": "/console/queue",
    "qiye": "/console/enterprise",
    "zhengce": "/console/writer",
    "ducha": "/console/supervision",
}


def test_a_wrong_password_or_an_unknown_name_is_one_message(
    page: Page, console: Server, tmp_path: Path
) -> None:
    page.goto(console.base_url + "/")
    expect(page).to_have_url(console.base_url + "/console/login")
    page.fill("input[name=username]", "cun")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    expect(page.locator(".problem")).to_have_text("用户名或密码不对")
    page.fill("input[name=username]", "nobody-of-that-name")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator(".problem")).to_have_text("用户名或密码不对")
    expect(page.locator("header .who")).to_have_count(0)  # nobody is logged in
    shot(page, tmp_path)  # (each role's landing page: the menu test below)


def test_a_page_asked_for_before_login_opens_after_it(page: Page, console: Server) -> None:
    page.goto(console.base_url + "/console/queue")
    expect(page).to_have_url(console.base_url + "/console/login?next=/console/queue")
    page.fill("input[name=username]", "xiang")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(console.base_url + "/console/queue")
    # `next` never leads off the console
    page.context.clear_cookies()
    page.goto(console.base_url + "/console/login?next=//example.org/")
    page.fill("input[name=username]", "xiang")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(console.base_url + "/console/queue")


def test_a_page_of_another_role_is_refused_with_who_may_open_it(
    page: Page, console: Server
) -> None:
    login(page, console, "cun")
    answer = page.goto(console.base_url + "/console/supervision")
    assert answer is not None and answer.status == 403
    expect(page.locator(".problem")).to_contain_text("督查")


def test_a_post_without_the_csrf_token_is_refused(page: Page, console: Server) -> None:
    login(page, console, "cun")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert cookies.get("zhida_session") and cookies.get("zhida_csrf")
    # the browser's own cookies, no token: the CSRF check refuses, and the session lives on
    answer = page.request.post(console.base_url + "/console/logout", max_redirects=0)
    assert answer.status == 403
    assert "CSRF" in answer.text() or "令牌" in answer.text()
    expect(page.locator("header .who")).to_contain_text("cun")
    page.reload()
    expect(page).to_have_url(console.base_url + "/console/village")


def test_logging_out_ends_the_session_on_the_server(page: Page, console: Server) -> None:
    page.goto(console.base_url + "/console/login")
    before = {c["name"]: c["value"] for c in page.context.cookies()}["zhida_session"]
    login(page, console, "xian")
    old = {c["name"]: c["value"] for c in page.context.cookies()}["zhida_session"]
    assert old != before  # a new session ID at login: one planted before it is worth nothing
    planted = httpx.get(
        console.base_url + "/console/queue", cookies={"zhida_session": before},
        follow_redirects=False,
    )  # fmt: skip
    assert planted.headers["location"].startswith("/console/login")
    page.click("header .who button")
    expect(page).to_have_url(console.base_url + "/console/login")
    # the old session cookie, replayed by another client, no longer logs anyone in
    replay = httpx.get(
        console.base_url + "/console/queue", cookies={"zhida_session": old}, follow_redirects=False
    )
    assert replay.status_code in (302, 303, 307)
    assert replay.headers["location"].startswith("/console/login")


def test_every_menu_page_of_every_role_opens_with_nothing_from_outside(
    page: Page, console: Server, tmp_path: Path
) -> None:
    """Each role lands on its own start page after logging in, and its whole menu: every
    page answers 200, has a heading, and (the `_watch`
    fixture) requests nothing outside 127.0.0.1 and shows no full ID number; the API's
    Swagger UI too."""
    opened = 0
    for user, landing in LANDS.items():
        page.context.clear_cookies()
        login(page, console, user)
        expect(page).to_have_url(console.base_url + landing)  # the role's own start page
        expect(page.locator("header .who")).to_contain_text(user)
        links = page.locator("header nav a")
        hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
        assert hrefs, user
        for href in hrefs:
            answer = page.goto(console.base_url + str(href))
            assert answer is not None and answer.status == 200, (user, href)
            expect(page.locator("main h1").first).to_be_visible()
            opened += 1
    page.goto(console.base_url + "/schema/swagger")
    expect(page.locator(".swagger-ui").first).to_be_visible()
    assert opened >= 14
    shot(page, tmp_path)
