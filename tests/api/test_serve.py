"""`zhida serve`: it answers on loopback, logs in with argon2 passwords, and its scheduler runs."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import httpx

from tests.api.server import PASSWORD, Seeded, Server, start_server


def test_login_gives_a_token_that_names_the_role_and_region(api: Server) -> None:
    answer = httpx.post(f"{api.base_url}/api/auth/login",
                        json={"username": "cun", "password": PASSWORD})  # fmt: skip
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["role"] == "village" and body["region"] == api.seeded.village
    assert body["token_type"] == "Bearer" and body["token"].count(".") == 2


def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(api: Server) -> None:
    url = f"{api.base_url}/api/auth/login"
    wrong = httpx.post(url, json={"username": "cun", "password": "not-the-password"})
    unknown = httpx.post(url, json={"username": "nobody", "password": "not-the-password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.headers["content-type"].startswith("application/problem+json")
    assert wrong.json()["detail"] == unknown.json()["detail"] == "用户名或密码不对"


def test_a_bad_token_is_refused_with_a_problem(api: Server) -> None:
    answer = httpx.get(f"{api.base_url}/api/me", headers={"Authorization": "Bearer not.a.token"})
    assert answer.status_code == 401
    assert answer.json()["status"] == 401
    with api.client("xiang") as client:
        me = client.get("/api/me").json()
    assert me["role"] == "township" and me["region"] == api.seeded.township


def test_the_schema_and_its_page_are_served_without_any_outside_address(api: Server) -> None:
    schema = httpx.get(f"{api.base_url}/schema/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    assert schema["security"] == [{"BearerToken": []}]  # every path needs a token …
    for path, method in (("/api/health", "get"), ("/api/auth/login", "post"),
                         ("/api/match", "post"), ("/api/policies", "get")):  # fmt: skip
        assert schema["paths"][path][method]["security"] == [], path  # … but the open ones
    assert "security" not in schema["paths"]["/api/me"]["get"]
    page = httpx.get(f"{api.base_url}/schema/swagger").text
    assert "/static/swagger-ui/swagger-ui-bundle.js" in page
    assert "http://" not in page.replace("http://127.0.0.1", "") and "https://" not in page
    asset = httpx.get(f"{api.base_url}/static/swagger-ui/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.content) > 100_000


def test_login_is_rate_limited(seeded: Seeded, tmp_path: Path) -> None:
    server = start_server(seeded, tmp_path, env={"ZHIDA_LOGIN_PER_MINUTE": "3"})
    try:
        url = f"{server.base_url}/api/auth/login"
        codes = [httpx.post(url, json={"username": "cun", "password": "wrong-password"}).status_code
                 for _ in range(5)]  # fmt: skip
        assert codes[:3] == [401, 401, 401] and codes[3:] == [429, 429]
        right = httpx.post(url, json={"username": "cun", "password": PASSWORD})
        assert right.status_code == 429  # the limit is per address, whatever the password
    finally:
        server.stop()


def test_a_body_over_the_limit_is_413(seeded: Seeded, tmp_path: Path) -> None:
    server = start_server(seeded, tmp_path, env={"ZHIDA_MAX_BODY_MB": "1"})
    try:
        answer = httpx.post(f"{server.base_url}/api/auth/login",
                            content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                            headers={"content-type": "application/json"})  # fmt: skip
        assert answer.status_code == 413
    finally:
        server.stop()


def test_the_scheduler_runs_inside_the_service(seeded: Seeded, tmp_path: Path) -> None:
    import sqlite3

    # The sweep queued notices: counted in the seeded database itself (read-only), since the
    # service's drain may settle them all before a query made after it started.
    with closing(sqlite3.connect(f"{seeded.db.as_uri()}?mode=ro", uri=True)) as seeded_db:
        before = seeded_db.execute("SELECT count(*) FROM outbox WHERE state = 'pending'")
        assert before.fetchone()[0] > 0
    server = start_server(seeded, tmp_path, scheduler=True, env={"ZHIDA_DRAIN_EVERY_S": "1"})
    try:
        import time

        from sqlalchemy import text

        from store.db import open_engine

        engine = open_engine(server.db_url)
        deadline = time.monotonic() + 60
        pending = None
        while time.monotonic() < deadline:  # the service's own drain settles them
            with engine.connect() as conn:
                pending = conn.execute(
                    text("SELECT count(*) FROM outbox WHERE state = 'pending'")
                ).scalar()
            if pending == 0:
                break
            time.sleep(0.5)
        engine.dispose()
        assert pending == 0
        import subprocess

        from tests.api.server import _env, _exe, free_port

        second = subprocess.run(  # a second scheduler on the database still refuses
            [_exe(), "scheduler"], env=_env(server.data), capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip
        assert second.returncode == 2, second.stdout + second.stderr
        assert "另一个调度器已在运行" in second.stderr
        again = subprocess.run(
            [_exe(), "serve", "--port", str(free_port())], env=_env(server.data),
            capture_output=True,
            text=True, timeout=120, check=False,
        )  # fmt: skip
        assert again.returncode == 2 and "zhida serve --no-scheduler" in again.stderr
    finally:
        server.stop()


def test_demo_users_are_made_once_and_log_in_with_the_password_printed(
    seeded: Seeded, tmp_path: Path
) -> None:
    import re
    import shutil
    import subprocess

    from tests.api.server import _env, _exe

    data = tmp_path / "data"
    data.mkdir()
    shutil.copyfile(seeded.db, data / "zhida.db")
    env = _env(data)
    first = subprocess.run([_exe(), "demo-users"], env=env, capture_output=True, text=True,
                           check=True).stdout  # fmt: skip
    made = dict(re.findall(r"^  (demo-[\w-]+)  .*  密码 (\S+)$", first, flags=re.M))
    assert {"demo-village", "demo-township", "demo-county", "demo-enterprise", "demo-writer",
            "demo-supervisor", "demo-dept1"} <= set(made)  # fmt: skip
    again = subprocess.run([_exe(), "demo-users"], env=env, capture_output=True, text=True,
                           check=True).stdout  # fmt: skip
    assert not any(password in again for password in made.values())
    assert again.count("已存在，密码不再显示") == len(made)
    server = start_server(seeded, tmp_path / "served", env={"ZHIDA_DATA_DIR": str(data)})
    try:
        url = f"{server.base_url}/api/auth/login"
        login = {"username": "demo-village", "password": made["demo-village"]}
        answer = httpx.post(url, json=login)
        assert answer.status_code == 200, answer.text
        assert answer.json()["region"] == seeded.village
    finally:
        server.stop()


def test_a_request_for_another_host_is_a_problem_naming_the_header(api: Server) -> None:
    answer = httpx.get(f"{api.base_url}/api/health", headers={"Host": "evil.example"})
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["errors"][0]["path"] == "header.Host"
    assert "ZHIDA_ALLOWED_HOSTS" in answer.json()["detail"]
    for host in ("127.0.0.1", f"127.0.0.1:{api.port}", "localhost", f"LOCALHOST:{api.port}"):
        assert httpx.get(f"{api.base_url}/api/health", headers={"Host": host}).status_code == 200


def test_the_application_is_built_without_a_deprecation_warning(tmp_path: Path) -> None:
    """Every handler marks its body (JSONBody…), dependencies (CtxDep, CallerDep) and path and
    query parameters as Litestar 2.23+ asks: the inferred forms warn and stop working in 3.0."""
    import warnings

    from api.app import create_app
    from api.settings import ApiSettings
    from store.db import open_engine
    from tests.api.server import ROOT

    engine = open_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            app = create_app(ApiSettings(root=ROOT, token_secret="t" * 40), engine)
            paths = app.openapi_schema.to_schema()["paths"]
    finally:
        engine.dispose()
    assert len(paths) > 30
    assert [str(w.message) for w in caught] == []
