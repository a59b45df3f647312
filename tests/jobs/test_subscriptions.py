"""Subscriptions from the command line: a secret printed once and stored encrypted, listings
masked, rotation signing with both secrets for 24 hours, the key file's mode."""

from __future__ import annotations

import random
import re
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from standardwebhooks.webhooks import Webhook
from typer.testing import CliRunner

from cli import app
from jobs.channels import Channels, DrainSettings
from jobs.drain import drain
from store.db import read_session
from store.delivery.secrets import KEY_FILE, secret_box
from store.tables.delivery import Subscription
from tests.jobs.delivery_kit import Clock, Receiver, add_enterprises, queue_notices, serving

runner = CliRunner()
SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]{40,}")


@pytest.fixture
def cli_env(
    engine: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Engine:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ZHIDA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ZHIDA_WEBHOOK_ALLOW", "127.0.0.0/8")
    monkeypatch.delenv("ZHIDA_SECRET_KEY", raising=False)
    return engine


def _add(*args: str) -> str:
    result = runner.invoke(app, ["subscriptions", "add", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_webhook_secret_is_printed_once_stored_encrypted_and_listed_masked(
    cli_env: Engine, tmp_path: Path
) -> None:
    ((_, code),) = add_enterprises(cli_env, 1)
    said = _add("enterprise", code, "--webhook", "http://127.0.0.1:9/hook")
    (secret,) = SECRET.findall(said)
    assert "只显示这一次" in said
    with read_session(cli_env) as session:
        stored = session.execute(text("SELECT secret FROM subscription")).scalar_one()
    assert secret not in stored and secret.removeprefix("whsec_") not in stored
    assert secret_box().open(stored) == secret
    key = tmp_path / KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    listed = runner.invoke(app, ["subscriptions", "list"])
    assert listed.exit_code == 0 and "已加密" in listed.output
    assert secret not in listed.output and not SECRET.search(listed.output)
    given = _add("enterprise", code, "--webhook", "http://127.0.0.1:9/two", "--secret", secret)
    assert secret not in given  # a secret the caller gave is not echoed


def test_email_sms_and_village_subscriptions_are_listed_with_their_state(
    cli_env: Engine,
) -> None:
    ((_, code),) = add_enterprises(cli_env, 1)
    _add("enterprise", code, "--email", "caiwu@firm.example")
    _add("enterprise", code, "--sms", "+86 138-0013-8000")
    listed = runner.invoke(app, ["subscriptions", "list"]).output
    assert "caiwu@firm.example" in listed and "138****8000" in listed and "有效" in listed
    assert "13800138000" not in listed  # phone numbers are masked in listings


def test_rotation_signs_with_both_secrets_for_a_day_then_the_new_one_only(
    cli_env: Engine,
) -> None:
    ((sid, code),) = add_enterprises(cli_env, 1)
    with serving(Receiver()) as receiver:
        old = SECRET.findall(_add("enterprise", code, "--webhook", receiver.url("a")))[0]
        with read_session(cli_env) as session:
            sub_id = session.execute(select(Subscription.id)).scalar_one()
        rotated = runner.invoke(app, ["subscriptions", "rotate", str(sub_id)])
        assert rotated.exit_code == 0, rotated.output
        (new,) = SECRET.findall(rotated.output)
        bodies: list[tuple[bytes, dict[str, str]]] = []
        receiver.secrets["/hook/a"] = new
        original = receiver.handle

        def keep(
            path: str, body: bytes, headers: dict[str, str]
        ) -> tuple[int, dict[str, str], float]:
            bodies.append((body, headers))
            return original(path, body, headers)

        receiver.handle = keep  # type: ignore[method-assign]
        channels = Channels(DrainSettings(), box=secret_box())
        queue_notices(cli_env, [("enterprise", sid)])
        drain(cli_env, channels=channels, clock=Clock(), rng=random.Random(1))
        ((body, headers),) = bodies
        assert len(headers["webhook-signature"].split(" ")) == 2
        Webhook(old).verify(body, headers)  # the receiver may still hold the old secret
        Webhook(new).verify(body, headers)
        with cli_env.begin() as conn:  # a day later the old secret is gone
            conn.execute(text("UPDATE subscription SET previous_until = :t"),
                         {"t": Clock().now - timedelta(seconds=1)})  # fmt: skip
        queue_notices(cli_env, [("enterprise", sid)])
        drain(cli_env, channels=channels, clock=Clock(), rng=random.Random(1))
        channels.close()
        assert len(bodies[-1][1]["webhook-signature"].split(" ")) == 1
        assert receiver.forged == 0 and len(receiver.processed) == 2
