"""A real `zhida serve` on loopback over a seeded SQLite database, for the API tests.

    server = start_server(template, workdir)     # a copy of the seeded database, its own port
    client = server.client("cun")                # httpx.Client logged in as user `cun`
    server.stop()

The template is built once per test process (`seed_template`): the synthetic population of
`zhida demo-data` (400 households in four counties, 40 enterprises) imported `--on 2025-03-01`
and swept, so claims, entitlements and notices exist, and one user per role (`USERS`), each
with the password `PASSWORD`. Every server gets its own copy, so a test that changes data
changes only its own server's.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from store.accounts import set_password
from store.db import open_engine, read_session, write_session
from store.tables.claims import Claim, ClaimPart
from store.tables.profiles import EnterpriseRow, HouseholdRow
from store.users import add_user
from tests.pii_scan import find_ids

ROOT = Path(__file__).resolve().parents[2] / "policies"
PASSWORD = "test-password-1"
ON = "2025-03-01"
COUNTY = "520602"
OTHER_COUNTY = "520625"
TOKEN_SECRET = "zhida-test-token-secret-0123456789abcdef"


@dataclass(frozen=True)
class Seeded:
    """What the template holds: regions and subjects the tests use, and the users."""

    db: Path
    village: str  # the village of COUNTY with the most households
    sibling_village: str  # another village of the same township
    township: str
    other_township: str  # another township of COUNTY (a "parent region" object for a village)
    other_county_village: str
    enterprise: str  # a credit code in COUNTY
    other_enterprise: str  # a credit code in OTHER_COUNTY
    departments: tuple[str, ...]
    users: dict[str, dict[str, Any]] = field(default_factory=dict)

    def household(self, region_prefix: str) -> str:
        """A household number whose village starts with `region_prefix`."""
        engine = open_engine(f"sqlite:///{self.db}")
        try:
            with read_session(engine) as s:
                row = s.execute(
                    select(HouseholdRow.household_no)
                    .where(HouseholdRow.region_code.like(region_prefix + "%"))  # type: ignore[union-attr]
                    .order_by(HouseholdRow.household_no)
                ).first()
        finally:
            engine.dispose()
        assert row is not None, region_prefix
        return str(row[0])


def _zhida(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [_exe(), *args],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
    return done.stdout


def _exe() -> str:
    return str(Path(sys.executable).parent / "zhida")


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        ZHIDA_DATA_DIR=str(data), ZHIDA_TOKEN_SECRET=TOKEN_SECRET, ZHIDA_POLICIES=str(ROOT),
        ZHIDA_LOGIN_PER_MINUTE="10000", PYTHONUNBUFFERED="1",
    )  # fmt: skip
    return env


def _regions(db: Path) -> dict[str, Any]:
    engine = open_engine(f"sqlite:///{db}")
    try:
        with read_session(engine) as s:
            villages = [r[0] for r in s.execute(select(HouseholdRow.region_code)).all()]
            firms = s.execute(select(EnterpriseRow.credit_code, EnterpriseRow.region_code)).all()
            CREDIT_CODES.update(c for c, _ in firms)
            depts = s.execute(
                select(ClaimPart.department)
                .join(Claim, Claim.id == ClaimPart.claim_id)  # type: ignore[arg-type]
                .where(Claim.region.like(COUNTY + "%"))
                .distinct()  # type: ignore[attr-defined]
            ).all()
    finally:
        engine.dispose()
    counts = Counter(villages)
    mine = sorted((v for v in counts if v.startswith(COUNTY)), key=lambda v: (-counts[v], v))
    village = mine[0]
    township = village[:9]
    sibling = next(v for v in mine if v[:9] == township and v != village)
    other_township = next(v[:9] for v in mine if v[:9] != township)
    other_county = next(v for v in villages if v.startswith(OTHER_COUNTY))
    ent = next(c for c, r in firms if (r or c[2:8]).startswith(COUNTY))
    other_ent = next(c for c, r in firms if not (r or c[2:8]).startswith(COUNTY))
    return {
        "village": village, "sibling_village": sibling, "township": township,
        "other_township": other_township, "other_county_village": other_county,
        "enterprise": ent, "other_enterprise": other_ent,
        "departments": tuple(sorted(d for (d,) in depts)),
    }  # fmt: skip


def _users(r: dict[str, Any]) -> dict[str, dict[str, Any]]:
    users: dict[str, dict[str, Any]] = {
        "cun": {"role": "village", "region": r["village"]},
        "cun2": {"role": "village", "region": r["sibling_village"]},
        "xiang": {"role": "township", "region": r["township"]},
        "xiang2": {"role": "township", "region": r["other_township"]},
        "xian": {"role": "county", "region": COUNTY},
        "xian2": {"role": "county", "region": COUNTY},
        "qiye": {"role": "enterprise", "subject_key": r["enterprise"]},
        "zhengce": {"role": "policy_writer", "region": COUNTY},
        "ducha": {"role": "supervisor", "region": COUNTY},
        "cun_b": {"role": "village", "region": r["other_county_village"]},
        "xian_b": {"role": "county", "region": OTHER_COUNTY},
        "qiye_b": {"role": "enterprise", "subject_key": r["other_enterprise"]},
    }
    for i, dept in enumerate(r["departments"]):
        users[f"bumen{i}"] = {"role": "department", "region": COUNTY, "department": dept}
    return users


def seed_template(workdir: Path) -> Seeded:
    """The seeded database (built once per process into `workdir`)."""
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    env = _env(data)
    files = workdir / "demo"
    _zhida(env, "demo-data", "--households", "400", "--enterprises", "40", "--out", str(files))
    _zhida(env, "import", "households", str(files / "households.xlsx"), "--on", ON)
    _zhida(env, "import", "enterprises", str(files / "enterprises.xlsx"), "--on", ON)
    _zhida(env, "sweep", "--on", ON)
    db = data / "zhida.db"
    regions = _regions(db)
    users = _users(regions)
    engine = open_engine(f"sqlite:///{db}")
    try:
        with write_session(engine) as s:
            for name, spec in users.items():
                add_user(
                    session=s, name=name, role=spec["role"], region=spec.get("region"),
                    department=spec.get("department"), subject_key=spec.get("subject_key"),
                )  # fmt: skip
                set_password(session=s, name=name, password=PASSWORD)
    finally:
        engine.dispose()  # the last connection checkpoints the WAL into the file
    return Seeded(db=db, users=users, **regions)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# RELIABILITY P1: no response shows a full ID number, except the household's own village's
# `GET /api/households/{no}/identity` and a department's payment export.
FULL_ID_PATHS = ("/identity", "/export")
CREDIT_CODE_KEYS = frozenset({"credit_code", "subject_key", "enterprise", "key"})
LEAKS: list[str] = []  # what the response hook found (the tests' conftest fails the session)


def _walk(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, str(k))
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v, key)
    elif isinstance(value, str) and key not in CREDIT_CODE_KEYS:
        yield key, value


def scan_response(response: httpx.Response) -> None:
    """Fail on a full ID number in a JSON response outside the endpoints allowed one."""
    response.read()
    path = response.request.url.path
    kind = response.headers.get("content-type", "")
    if any(p in path for p in FULL_ID_PATHS) or "json" not in kind:
        return
    try:
        body = response.json()
    except ValueError:
        body = response.text
    for key, text in _walk(body):
        if text in CREDIT_CODES or key == "instance":  # a problem echoes the path sent
            continue
        for found in find_ids(text):
            LEAKS.append(f"{response.request.method} {path} → {key}: {found[:3]}…")
    assert not LEAKS, LEAKS


CREDIT_CODES: set[str] = set()  # the seeded enterprises' codes (public, often all digits)


@dataclass
class Server:
    """One running `zhida serve`."""

    seeded: Seeded
    data: Path
    port: int
    process: subprocess.Popen[str]
    log: Path
    _tokens: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.data / 'zhida.db'}"

    def login(self, user: str, role: str | None = None) -> str:
        """A bearer token for `user` (cached)."""
        key = f"{user}:{role}"
        if key not in self._tokens:
            body: dict[str, Any] = {"username": user, "password": PASSWORD}
            if role:
                body["role"] = role
            answer = httpx.post(f"{self.base_url}/api/auth/login", json=body, timeout=30)
            assert answer.status_code == 200, answer.text
            self._tokens[key] = answer.json()["token"]
        return self._tokens[key]

    def client(self, user: str | None = None, **kw: Any) -> httpx.Client:
        """An httpx client on the server, logged in as `user` (None: anonymous)."""
        headers = {"Authorization": f"Bearer {self.login(user)}"} if user else {}
        hooks = {"response": [scan_response]}
        return httpx.Client(
            base_url=self.base_url, headers=headers, timeout=60, event_hooks=hooks, **kw
        )

    def stop(self) -> None:
        """Stop the server; fail if its log shows a full ID number or a traceback."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        text = self.log.read_text(encoding="utf-8", errors="replace")
        leaked = [f"{self.log}: {found[:3]}…" for found in find_ids(text)]
        LEAKS.extend(leaked)
        assert not leaked, leaked


def start_server(
    seeded: Seeded, workdir: Path, *, scheduler: bool = False, env: dict[str, str] | None = None
) -> Server:
    """A `zhida serve` on a fresh copy of the seeded database, answering /api/health."""
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(seeded.db, data / "zhida.db")
    port = free_port()
    log = workdir / "serve.log"
    args = [_exe(), "serve", "--port", str(port)] + ([] if scheduler else ["--no-scheduler"])
    handle = log.open("w", encoding="utf-8")
    process = subprocess.Popen(
        args, env={**_env(data), **(env or {})}, stdout=handle, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    server = Server(seeded, data, port, process, log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"zhida serve exited {process.returncode}: {log.read_text()}")
        try:
            if httpx.get(f"{server.base_url}/api/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    raise AssertionError(f"zhida serve did not answer in 90 s: {log.read_text()}")
