"""Office notices delivered: the claim_deadlines job's escalation reaches the township's webhook
(a real loopback receiver verifying every signature) and the county supervisors' mailbox
(aiosmtpd); an office nobody subscribed to ends undeliverable, naming its key; office keys are
checked when subscribed, and the office kinds render in Chinese with no ID number."""

from __future__ import annotations

import json
import random
import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from cli import app
from jobs.channels import Channels, DrainSettings
from jobs.claim_notices import CLAIM_KINDS
from jobs.drain import drain
from jobs.mail import MailSettings
from jobs.notices import SMS_TEMPLATES, mail_parts, notice_of, sms_message, sms_text, webhook_body
from jobs.tasks import claim_deadlines
from store.db import read_session, write_session
from store.delivery.outbox import replay
from store.delivery.registration import BadSubscription, register
from store.delivery.secrets import secret_box
from store.delivery.views import list_notices
from store.tables.delivery import Subscription
from store.tables.entitlements import OutboxMessage
from tests.claim_kit import add_claim, add_deadline
from tests.jobs.delivery_kit import Clock, Receiver, serving, subscribe_webhook
from tests.jobs.mailbox import Inbox

POLICIES = Path(__file__).resolve().parents[2] / "policies"
ID_NUMBER = re.compile(r"\d{17}[\dX]")
runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    monkeypatch.setenv("ZHIDA_WEBHOOK_ALLOW", "127.0.0.0/8")
    monkeypatch.setenv("ZHIDA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("ZHIDA_SECRET_KEY", raising=False)


def test_an_escalation_reaches_the_township_webhook_and_the_supervisors_mailbox(
    engine: Engine, env: None, smtp: tuple[Inbox, MailSettings]
) -> None:
    """The job (as the scheduler calls it) escalates a township check due 10 October 2025 on
    the 13th; the drain pushes one notice to the township's webhook and mails the county's
    supervisors; the title's ID number stays masked everywhere."""
    inbox, settings = smtp
    title = "医保资助 110101199003074514"  # an ID number in a title must never leave unmasked
    claim_id, _ = add_claim(engine, state="village_accepted", entered_on=date(2025, 9, 29),
                            title=title)  # fmt: skip
    add_deadline(engine, claim_id, state="village_accepted", entered_on=date(2025, 9, 29),
                 remind_on=date(2025, 10, 9), due_on=date(2025, 10, 10))  # fmt: skip
    register(engine, kind="office", key="520602", channel="email", target="duban@county.example")
    with serving(Receiver()) as receiver:
        subscribe_webhook(engine, receiver, "520602100", "town", kind="office")
        report = claim_deadlines(str(POLICIES), on="2025-10-13")
        assert report is not None and (report.escalated, report.notices) == (1, 2)
        assert claim_deadlines(str(POLICIES), on="2025-10-13").notices == 0  # type: ignore[union-attr]
        channels = Channels(DrainSettings(), box=secret_box(), mail=lambda: settings)
        drain(engine, channels=channels, clock=Clock(), rng=random.Random(1))
        channels.close()
    assert receiver.forged == 0 and len(receiver.seen) == 1
    ((path, _, _),) = receiver.hits
    assert path == "/hook/town"
    with read_session(engine) as session:
        rows = session.execute(select(OutboxMessage)).scalars().all()  # type: ignore[arg-type]
        assert {r.state for r in rows} == {"sent"}
        labels = {line.subject for line in list_notices(session=session)}
    assert labels == {
        f"申领 {claim_id} · 乡镇（街道）520602100",
        f"申领 {claim_id} · 县 520602 督查",
    }
    ((envelope, mail),) = inbox.messages
    assert envelope.rcpt_tos == ["duban@county.example"]
    assert mail["Subject"].startswith(f"逾期：申领 {claim_id}")
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "已逾期 2 个工作日" in text and "村级已受理" in text and "110***********4514" in text
    assert ID_NUMBER.search(text + mail["Subject"]) is None


def test_an_office_nobody_subscribed_to_ends_undeliverable_naming_its_key(
    engine: Engine, env: None
) -> None:
    """A reminder to a department nobody subscribed (another department did) is undeliverable,
    saying which key to subscribe; subscribed and replayed, it is delivered."""
    claim_id, part_id = add_claim(engine, state="township_checked", entered_on=date(2025, 9, 29))
    add_deadline(engine, claim_id, state="township_checked", part_id=part_id,
                 department="县医疗保障局", entered_on=date(2025, 9, 29),
                 remind_on=date(2025, 10, 9), due_on=date(2025, 10, 10))  # fmt: skip
    register(engine, kind="office", key="520602/县民政局", channel="email", target="a@b.example")
    assert claim_deadlines(str(POLICIES), on="2025-10-09").reminded == 1  # type: ignore[union-attr]
    channels = Channels(DrainSettings(), box=secret_box())
    drain(engine, channels=channels, clock=Clock())
    with read_session(engine) as session:
        ((outbox_id, kind, state, error),) = session.execute(
            select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.state,
                   OutboxMessage.last_error)
        ).all()  # fmt: skip
    assert (kind, state) == ("claim.reminder", "undeliverable")
    assert "办公室 520602/县医疗保障局 没有有效订阅" in (error or "")
    assert "zhida subscriptions add office 520602/县医疗保障局" in (error or "")
    with serving(Receiver()) as receiver:
        subscribe_webhook(engine, receiver, "520602/县医疗保障局", "yb", kind="office")
        with write_session(engine) as session:
            replay(session=session, outbox_id=outbox_id, now=Clock()(), actor="test")
        drain(engine, channels=channels, clock=Clock())
        channels.close()
    assert [path for path, _, _ in receiver.hits] == ["/hook/yb"] and receiver.forged == 0


@pytest.mark.parametrize(
    ("key", "said"),
    [
        ("52060", "应为 6 或 9 或 12 位数字"),
        ("5206021/县医疗保障局", "应为 6 位数字"),
        ("990602", "省级"),
        ("520602/", "部门名称 '' 为空"),
        ("520602/县 医保局", "含空格"),
        ("520602/" + "局" * 58, "应为至多 57 个"),
    ],
)
def test_office_keys_are_checked_before_anything_is_stored(
    engine: Engine, env: None, key: str, said: str
) -> None:
    with pytest.raises(BadSubscription, match=said) as caught:
        register(engine, kind="office", key=key, channel="sms", target="13800138000")
    assert "办公室" in str(caught.value)
    with read_session(engine) as session:
        assert session.execute(select(Subscription)).first() is None


def test_zhida_subscriptions_add_office_stores_the_key_without_a_subject_id(
    engine: Engine, env: None
) -> None:
    result = runner.invoke(
        app, ["subscriptions", "add", "office", "520602/县医疗保障局", "--email", "yb@x.example"]
    )
    assert result.exit_code == 0, result.output
    assert "办公室 520602/县医疗保障局 → email yb@x.example" in result.output
    with read_session(engine) as session:
        stored = session.execute(
            select(Subscription.subject_kind, Subscription.subject_key, Subscription.subject_id)
        ).all()
    assert [tuple(r) for r in stored] == [("office", "520602/县医疗保障局", None)]


def _payload(kind: str) -> dict[str, object]:
    common = {"office": "520602/县医疗保障局", "claim_id": 12, "department": "县医疗保障局",
              "subject": {"kind": "household", "key": "5206021002010002"}}  # fmt: skip
    if kind == "claim_ended":
        return common | {"type": "claim.ended", "part_id": 5, "action": "end",
                         "policies": ["medical_subsidy"], "reason": "低保已停保",
                         "state": "paid", "ends_on": "2025-11-01"}  # fmt: skip
    return common | {"type": kind.replace("_", "."), "deadline_id": 3, "part_id": 5,
                     "title": "城乡居民医疗保险缴费资助", "state": "township_checked",
                     "state_label": "乡镇已审核", "entered_on": "2025-09-29",
                     "due_on": "2025-10-10", "days_overdue": 2}  # fmt: skip


@pytest.mark.parametrize("kind", CLAIM_KINDS)
def test_each_office_kind_renders_for_mail_sms_and_webhook(kind: str) -> None:
    n = notice_of(_payload(kind), outbox_id=7, subject_label="申领 12 · 县医疗保障局")
    subject, text, html = mail_parts(n)
    code, params = sms_message(n)
    body = json.loads(webhook_body(n))
    said = {
        "claim_reminder": ("提醒：申领 12", "请于2025年10月10日前办理"),
        "claim_overdue": ("逾期：申领 12", "已逾期2个工作日"),
        "claim_ended": ("停止发放：申领 12", "自2025年11月1日起停止发放"),
    }[kind]
    assert subject.startswith(said[0]) and n.kind == kind and SMS_TEMPLATES[code].kind == kind
    assert said[1] in sms_text(code, params) and len(sms_text(code, params)) <= 70
    assert "县医疗保障局" in text and "申领编号" in html
    assert body["data"]["office"] == {"key": "520602/县医疗保障局", "label": "县医疗保障局"}
    assert body["type"] == _payload(kind)["type"] and body["data"]["claim"]["id"] == 12
