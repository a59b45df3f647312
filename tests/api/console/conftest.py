"""Browser tests of the console: Debian's Chromium (never a downloaded build) driven by
pytest-playwright against a real `zhida serve` on loopback over a copy of the seeded database.

Every test's browser context goes through `_watch`, which
- refuses and records any request to anything but 127.0.0.1 (a county intranet reaches
  nothing else: no CDN, no font service, no validator), and fails the test if there was one;
- scans every response body for full resident ID numbers (RELIABILITY P1), except the pages
  allowed to show them (a household's identity for its own village, a department's export);
- fails the test on a JavaScript error or an answer of 500 or more.

Use `login(page, server, "cun")` to log in through the form, and `shot(page, tmp_path)` at
the end of a journey: the screenshot of its last page is `tmp_path / "last.png"`.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Response, Route, expect

from tests.api.server import CREDIT_CODES, PASSWORD, Seeded, Server, start_server
from tests.pii_scan import find_ids

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# What a page shows after a server round trip may take a while on a loaded 2-core machine (a
# publish reloads the catalogue; an import runs on the server's worker): wait up to 20 s.
expect.set_options(timeout=20_000)
LOOPBACK = "http://127.0.0.1:"
FULL_ID_PAGES = ("/identity", "/export", "/notice-sheet")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            "the console's browser tests need Debian's Chromium and a Chinese font: "
            "apt-get install chromium fonts-wqy-microhei (.ci/run installs them)"
        )
    return {**browser_type_launch_args, "executable_path": CHROMIUM}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_context_args,
        "viewport": {"width": 1366, "height": 768},
        "locale": "zh-CN",
        "timezone_id": "Asia/Shanghai",
        "accept_downloads": True,
    }


@pytest.fixture(scope="session")
def console(seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the console tests of this process (each journey uses its own objects)."""
    server = start_server(seeded, tmp_path_factory.mktemp("console-server"))
    try:
        yield server
    finally:
        server.stop()


class Watch:
    """What the browser asked for and met during one test."""

    def __init__(self) -> None:
        self.outside: list[str] = []
        self.leaks: list[str] = []
        self.errors: list[str] = []
        self.failures: list[str] = []

    def route(self, route: Route) -> None:
        url = route.request.url
        if not url.startswith(LOOPBACK) and not url.startswith(("data:", "blob:", "about:")):
            self.outside.append(url)
            route.abort()
            return
        kind = route.request.headers.get("content-type", "")
        if kind.startswith("multipart/form-data"):
            # Chromium hands interception no file parts (`fetch` would send the file empty):
            # an upload goes on as the browser made it; its answer is checked by `response`.
            route.continue_()
            return
        answer = route.fetch(max_redirects=0)
        kind = answer.headers.get("content-type", "")
        if ("html" in kind or "json" in kind) and not any(p in url for p in FULL_ID_PAGES):
            text = answer.text()
            for code in CREDIT_CODES:  # an enterprise's credit code is public, not an ID number
                text = text.replace(code, "")
            self.leaks.extend(f"{url}: {found[:3]}…" for found in find_ids(text))
        route.fulfill(response=answer)

    def response(self, answer: Response) -> None:
        if answer.status >= 500:
            self.failures.append(f"{answer.status} {answer.request.method} {answer.url}")


@pytest.fixture(autouse=True)
def _watch(context: BrowserContext) -> Iterator[Watch]:
    watch = Watch()
    context.route("**/*", watch.route)
    context.on("weberror", lambda e: watch.errors.append(str(e.error)))
    context.on("response", watch.response)
    yield watch
    # a request still in flight (an htmx poll) must not be answered into the next test
    context.unroute_all(behavior="ignoreErrors")
    assert not watch.outside, f"requests outside 127.0.0.1: {watch.outside}"
    assert not watch.leaks, f"full ID numbers shown: {watch.leaks}"
    assert not watch.errors, f"JavaScript errors: {watch.errors}"
    assert not watch.failures, f"server errors: {watch.failures}"


def login(page: Page, server: Server, user: str, role: str | None = None) -> None:
    """Log in through the login form as `user` (choosing `role` when asked)."""
    page.goto(f"{server.base_url}/console/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    if role is not None:
        page.select_option("select[name=role]", role)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/console/login" not in url)


def shot(page: Page, tmp_path: Path, name: str = "last") -> Path:
    """A full-page screenshot of where the journey ended, under the test's temporary folder."""
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
