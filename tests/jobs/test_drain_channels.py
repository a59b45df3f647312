"""The drain on each channel against real servers on loopback — aiosmtpd for mail, the fake
Aliyun gateway for SMS — and a real sweep's notices reaching households through their village
centre when they have no subscription of their own."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from jobs.channels import Channels, DrainSettings
from jobs.drain import drain
from jobs.mail import MailSettings
from jobs.tasks import nightly_sweep
from store.db import read_session
from store.delivery.registration import register
from store.delivery.secrets import secret_box
from store.seeding import seed_households
from store.tables.delivery import Delivery, DeliveryAttempt
from store.tables.entitlements import OutboxMessage
from store.tables.profiles import HouseholdRow
from synth.households import Population, generate_households
from tests.jobs.delivery_kit import (
    Clock,
    Receiver,
    add_enterprises,
    queue_notices,
    serving,
    subscribe_webhook,
)
from tests.jobs.mailbox import Inbox
from tests.jobs.sms_gateway import FakeAliyun

POLICIES = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHIDA_WEBHOOK_ALLOW", "127.0.0.0/8")
    monkeypatch.setenv("ZHIDA_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ZHIDA_SECRET_KEY", raising=False)


def _outcomes(engine: Engine) -> dict[str, tuple[str, str | None]]:
    """Delivery target → (state, last error)."""
    with read_session(engine) as session:
        rows = session.execute(
            select(Delivery.state, Delivery.last_error, DeliveryAttempt.channel).join(
                DeliveryAttempt, DeliveryAttempt.delivery_id == Delivery.id
            )  # type: ignore[arg-type]
        ).all()
    return {f"{c}:{i}": (s, e) for i, (s, e, c) in enumerate(rows)}


def test_mail_is_sent_refusals_are_dead_and_busy_servers_retried(
    engine: Engine, env: None, smtp: tuple[Inbox, MailSettings]
) -> None:
    inbox, settings = smtp
    firms = add_enterprises(engine, 3)
    for (_, code), to in zip(firms, ["caiwu@firm.example", "nobody@refused.example",
                                     "ops@busy.example"], strict=True):  # fmt: skip
        register(engine, kind="enterprise", key=code, channel="email", target=to)
    ok, refused, busy = queue_notices(engine, [("enterprise", i) for i, _ in firms])
    channels = Channels(DrainSettings(), box=secret_box(), mail=lambda: settings)
    drain(engine, channels=channels, clock=Clock())
    channels.close()
    with read_session(engine) as session:
        state = {i: session.get(OutboxMessage, i).state for i in (ok, refused, busy)}  # type: ignore[union-attr]
        errors = {d.outbox_id: d.last_error for d in session.execute(select(Delivery)).scalars()}
    assert state == {ok: "sent", refused: "dead", busy: "pending"}
    assert "550" in (errors[refused] or "") and "451" in (errors[busy] or "")
    ((_, mail),) = inbox.messages
    assert mail["To"] == "caiwu@firm.example" and mail["Subject"]
    body = mail.get_body(("plain",))
    assert body is not None and "测试企业0" in body.get_content()


def test_sms_goes_through_the_gateway_and_its_error_codes_are_recorded(
    engine: Engine, env: None, sms_gateway: FakeAliyun
) -> None:
    from jobs.sms import AliyunSms

    firms = add_enterprises(engine, 3)
    for _, code in firms:
        register(engine, kind="enterprise", key=code, channel="sms", target="13800138000")
    sms_gateway.script("isv.MOBILE_NUMBER_ILLEGAL", "isv.BUSINESS_LIMIT_CONTROL")
    ids = queue_notices(engine, [("enterprise", i) for i, _ in firms])
    channels = Channels(DrainSettings(workers=1), box=secret_box(),
                        sms=AliyunSms(sms_gateway.settings()))  # fmt: skip
    drain(engine, channels=channels, clock=Clock())
    channels.close()
    with read_session(engine) as session:
        states = [session.get(OutboxMessage, i).state for i in ids]  # type: ignore[union-attr]
        errors = [a.error for a in session.execute(select(DeliveryAttempt)).scalars()]
    assert sorted(states) == ["dead", "pending", "sent"]
    assert any("isv.MOBILE_NUMBER_ILLEGAL" in (e or "") for e in errors)
    assert any("isv.BUSINESS_LIMIT_CONTROL" in (e or "") for e in errors)
    (sent,) = sms_gateway.messages
    assert sent.phone == "13800138000" and sent.out_id.startswith("msg_")


def test_households_without_a_subscription_hear_through_their_village(
    engine: Engine, database_url: str, env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real sweep's notices: the household with its own webhook gets its own; the others of
    its village reach the village centre on their behalf; households of other villages are
    undeliverable; a payload asking for both reaches both."""
    pop = Population(households=120, chunk_size=120, dibao_share=0.3, seed=3)
    seed_households(engine=engine, chunks=generate_households(pop))
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert nightly_sweep(str(POLICIES), on="2025-03-01") is not None
    with read_session(engine) as session:
        noticed = session.execute(
            select(
                OutboxMessage.subject_id, HouseholdRow.household_no, HouseholdRow.region_code
            ).join(HouseholdRow, HouseholdRow.id == OutboxMessage.subject_id)  # type: ignore[arg-type]
        ).all()
    village = max({r for _, _, r in noticed}, key=lambda r: sum(x == r for _, _, x in noticed))
    mine = next((sid, no) for sid, no, r in noticed if r == village)
    with serving(Receiver()) as receiver:
        for name, kind, key in (("village", "village", village), ("own", "household", mine[1])):
            subscribe_webhook(engine, receiver, key, name, kind=kind)
        (both,) = queue_notices(engine, [("household", mine[0])], notify=["subject", "village"])
        channels = Channels(DrainSettings(), box=secret_box())
        drain(engine, channels=channels, clock=Clock(), rng=random.Random(1))
        channels.close()
    with read_session(engine) as session:
        rows = session.execute(select(OutboxMessage)).scalars().all()
        behalf = {(d.outbox_id, d.on_behalf) for d in session.execute(select(Delivery)).scalars()}
        session.expunge_all()
    by_id = {r.id: r for r in rows}
    in_village = {sid for sid, _, r in noticed if r == village}
    for r in rows:
        if r.id == both:
            assert {(both, "subject"), (both, "village")} <= behalf and r.state == "sent"
        elif r.subject_id == mine[0]:
            assert (r.id, "subject") in behalf and (r.id, "village") not in behalf
        elif r.subject_id in in_village:
            assert (r.id, "village") in behalf and r.state == "sent"
        else:
            assert r.state == "undeliverable" and "no_channel" in (r.last_error or "")
    paths = [p for p, _, _ in receiver.hits]
    assert paths.count("/hook/own") == sum(1 for r in rows if r.subject_id == mine[0])
    others = sum(1 for r in rows if r.subject_id in in_village and r.subject_id != mine[0])
    assert paths.count("/hook/village") == others + 1  # and the notice that asked for both
    assert by_id[both].state == "sent"
