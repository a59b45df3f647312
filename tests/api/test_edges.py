"""The edge of the API on both databases (in process): NUL characters, which PostgreSQL cannot
store or compare, never reach a query as a 500 — the test servers elsewhere run on SQLite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar.testing import TestClient
from sqlalchemy import Engine

from api.app import create_app
from api.settings import ApiSettings
from store.accounts import set_password
from store.db import write_session
from store.users import add_user
from tests.api.server import PASSWORD, ROOT


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with write_session(engine) as s:
        add_user(session=s, name="xian", role="county", region="520602")
        set_password(session=s, name="xian", password=PASSWORD)
    settings = ApiSettings(root=ROOT, token_secret="e" * 40, allowed_hosts=("*",))
    with TestClient(create_app(settings, engine)) as c:
        yield c


def test_a_nul_in_a_login_is_the_same_401_as_a_wrong_password(client: TestClient) -> None:
    for name in ("xi\x00an", "\x00"):
        answer = client.post("/api/auth/login", json={"username": name, "password": PASSWORD})
        assert answer.status_code == 401 and answer.json()["detail"] == "用户名或密码不对"


def test_a_nul_in_a_path_or_query_is_a_400_naming_it(client: TestClient) -> None:
    token = client.post("/api/auth/login", json={"username": "xian", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.json()['token']}"}
    for url in ("/api/households/H%00", "/api/enterprises/%00", "/api/households?region=5%00"):
        answer = client.get(url, headers=headers)
        assert answer.status_code == 400, (url, answer.text)
        assert "NUL" in answer.json()["detail"]
    assert client.get("/api/households/H1", headers=headers).status_code == 404  # still served
