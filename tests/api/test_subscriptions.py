"""Subscriptions over HTTP: targets checked as the CLI checks them, a secret shown once, a
signed test ping delivered through the outbox, and nobody else's subscription reachable."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from standardwebhooks.webhooks import Webhook

from tests.api.server import Seeded, Server, start_server

PUBLIC = "https://93.184.216.34/zhida"  # an address literal: no DNS needed, and public


def test_a_private_url_and_a_bad_address_are_refused_naming_target(api: Server) -> None:
    """A loopback or private webhook and a malformed e-mail or mobile are 422 at `target`."""
    with api.client("qiye") as client:
        for channel, target in (("webhook", "http://127.0.0.1:9/x"),
                                ("webhook", "http://10.1.2.3/x"),
                                ("webhook", "http://169.254.169.254/latest"),
                                ("email", "caiwu@firm.cn, boss@firm.cn"),
                                ("sms", "12345")):  # fmt: skip
            answer = client.post("/api/subscriptions", json={"channel": channel, "target": target})
            assert answer.status_code == 422, (target, answer.text)
            assert answer.json()["errors"][0]["path"] == "target"


def test_a_secret_is_shown_once_and_rotation_shows_a_new_one_once(api: Server) -> None:
    """The 201 and the rotation show a secret; listings never do; another enterprise gets 404."""
    with api.client("qiye") as client:
        made = client.post("/api/subscriptions", json={"channel": "webhook", "target": PUBLIC})
        assert made.status_code == 201, made.text
        sub, secret = made.json()["id"], made.json()["secret"]
        assert secret.startswith("whsec_")
        rotated = client.post(f"/api/subscriptions/{sub}/rotate").json()
        assert rotated["secret"].startswith("whsec_") and rotated["secret"] != secret
        listing = client.get("/api/subscriptions")
        assert "whsec_" not in listing.text
        mine = next(s for s in listing.json()["items"] if s["id"] == sub)
        assert mine["signed"] and mine["rotating"] and mine["subject_key"] == api.seeded.enterprise
    with api.client("qiye_b") as other:
        assert sub not in {s["id"] for s in other.get("/api/subscriptions").json()["items"]}
        assert other.post(f"/api/subscriptions/{sub}/rotate").status_code == 404
        assert other.post(f"/api/subscriptions/{sub}/ping").status_code == 404
        assert other.delete(f"/api/subscriptions/{sub}").status_code == 404
    with api.client("cun") as village:
        assert village.post(f"/api/subscriptions/{sub}/rotate").status_code == 404
        assert village.post("/api/subscriptions", json={"channel": "sms",
                            "target": "13800138000"}).status_code == 403  # fmt: skip
    with api.client("qiye") as client:
        assert client.delete(f"/api/subscriptions/{sub}").status_code == 204
        gone = next(s for s in client.get("/api/subscriptions").json()["items"] if s["id"] == sub)
        assert gone["state"] == "disabled"


def test_a_county_manages_its_offices_subscriptions_only(api: Server) -> None:
    """A county subscribes an office of its county (mobile masked), not another county's."""
    with api.client("xian") as client:
        ours = client.post("/api/subscriptions", json={
            "channel": "sms", "target": "13800138000", "subject_kind": "office",
            "key": "520602/县医疗保障局"})  # fmt: skip
        assert ours.status_code == 201, ours.text
        assert ours.json()["target"] == "138****8000"
        body = {"channel": "email", "target": "a@b.cn", "subject_kind": "office", "key": "520625"}
        theirs = client.post("/api/subscriptions", json=body)
        assert theirs.status_code == 422 and theirs.json()["errors"][0]["path"] == "key"
    with api.client("xian_b") as other:
        assert other.delete(f"/api/subscriptions/{ours.json()['id']}").status_code == 404


@contextmanager
def _receiver(got: list[dict[str, Any]], secrets: list[str]) -> Iterator[int]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            headers = {k.lower(): v for k, v in self.headers.items()}
            verified = [Webhook(s).verify(body, headers) for s in secrets]
            got.append(verified[-1])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_a_ping_is_delivered_signed_through_the_outbox(seeded: Seeded, tmp_path: Path) -> None:
    """A ping is queued (202), the service's drain sends it, the receiver verifies it with the
    Standard Webhooks library, and the notice shows its delivery as sent."""
    env = {"ZHIDA_DRAIN_EVERY_S": "1", "ZHIDA_WEBHOOK_ALLOW": "127.0.0.0/8"}
    server = start_server(seeded, tmp_path, scheduler=True, env=env)
    got: list[dict[str, Any]] = []
    secrets: list[str] = []
    try:
        with _receiver(got, secrets) as port, server.client("qiye") as client:
            made = client.post("/api/subscriptions", json={
                "channel": "webhook", "target": f"http://127.0.0.1:{port}/hook"})  # fmt: skip
            assert made.status_code == 201, made.text
            secrets.append(made.json()["secret"])
            ping = client.post(f"/api/subscriptions/{made.json()['id']}/ping")
            assert ping.status_code == 202, ping.text
            notice = ping.json()["outbox_id"]
            deadline, shown = time.monotonic() + 60, {}
            while time.monotonic() < deadline:
                shown = client.get(f"/api/notices/{notice}").json()
                if shown["state"] != "pending":
                    break
                time.sleep(0.5)
        assert shown["state"] == "sent", shown
        assert shown["kind"] == "ping" and shown["deliveries"][0]["state"] == "sent"
        pings = [g for g in got if g["type"] == "ping"]  # its pending notices come too
        assert [p["id"] for p in pings] == [f"msg_{notice}"]
        assert pings[0]["data"]["subject"]["kind"] == "enterprise"  # its label masked, as ever
    finally:
        server.stop()
