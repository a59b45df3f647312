"""The console's cookies: HTTPS-only unless serving on loopback, and a login page opened over
plain HTTP while they are HTTPS-only says why logging in would not stick."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar.testing import TestClient

from api.app import create_app
from api.settings import ApiSettings, read_settings
from store.testing import fresh_sqlite

ROOT = Path(__file__).resolve().parents[2] / "policies"


@pytest.mark.parametrize(("host", "secure"), [("127.0.0.1", False), ("0.0.0.0", True)])
def test_cookies_are_https_only_unless_served_on_loopback(
    host: str, secure: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZHIDA_TOKEN_SECRET", "s" * 40)
    monkeypatch.delenv("ZHIDA_COOKIE_SECURE", raising=False)
    assert read_settings(ROOT, host=host).cookie_secure is secure


@pytest.mark.parametrize("secure", [True, False])
def test_a_login_page_over_plain_http_says_when_the_login_would_not_stick(
    secure: bool, tmp_path: Path
) -> None:
    settings = ApiSettings(root=ROOT, token_secret="t" * 40, cookie_secure=secure)
    engine = fresh_sqlite(tmp_path / "zhida.db")
    try:
        with TestClient(create_app(settings, engine), base_url="http://127.0.0.1") as client:
            page = client.get("/console/login")
    finally:
        engine.dispose()
    assert page.status_code == 200
    assert ("ZHIDA_COOKIE_SECURE=1" in page.text) is secure
    assert ("; Secure" in page.headers.get("set-cookie", "")) is secure
