"""Notices: every kind renders from an outbox payload, in Chinese, for webhook, mail and SMS;
amounts stay exact strings, no ID number gets out, the sandbox holds, an SMS fits in 70
characters, and a title with CR/LF cannot add a mail header."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from jinja2.exceptions import SecurityError, UndefinedError

from jobs.mail import MailSettings, send_mail
from jobs.notices import (
    CLAIM_KINDS,
    ENVIRONMENT,
    KINDS,
    SMS_TEMPLATES,
    Notice,
    mail_parts,
    notice_of,
    sms_message,
    sms_text,
    webhook_body,
)
from jobs.sms_templates import LIMITS, PLACEHOLDER, SMS_MAX
from store.sweep.diff import Change, Decision, State
from store.sweep.writes import ChunkContext, _payload
from tests.jobs.mailbox import Inbox

ID_NUMBER = re.compile(r"\d{17}[\dX]")
CHINESE = re.compile(r"[\u4e00-\u9fff]{4}")
FULL_ID = "522221196503010037"
BASE = "https://zd.example/c"
HASH = "3f" * 32
# (payload type, policy delivery) → kind
TYPES = {
    "newly_eligible": ("entitlement.newly_eligible", "notify"),
    "granted": ("entitlement.newly_eligible", "auto"),
    "claim_prepared": ("entitlement.newly_eligible", "confirm"),
    "amount_changed": ("entitlement.amount_changed", "auto"),
    "no_longer_eligible": ("entitlement.no_longer_eligible", "auto"),
    "became_undetermined": ("entitlement.became_undetermined", "confirm"),
    "reminder": ("reminder", "confirm"),
}


def payload(kind: str, **over: Any) -> dict[str, Any]:
    """A payload as the sweep writes it, with the policy details, and an ID number hidden in it."""
    event_type, delivery = TYPES[kind]
    after = {"undetermined": None} if kind == "became_undetermined" else {}
    body: dict[str, Any] = {
        "type": event_type,
        "subject": {"kind": "household", "id": 7},
        "policy_id": "household.dibao.allowance",
        "catalogue_hash": HASH,
        "on_date": "2025-03-01",
        "before": {"status": "eligible", "amount": "680.00"},
        "after": {
            "status": "undetermined" if after else "eligible",
            "amount": None if after else "705.00",
            "missing": ["household.monthly_income", {"fact": "x", "label": "家庭人口"}],
        },
        "sweep_run_id": 3,
        "policy": {
            "title": "城乡最低生活保障金",
            "department": "县民政局",
            "delivery": delivery,
            "basis": f"《社会救助暂行办法》（经办人身份证 {FULL_ID}）",
            "period": "month",
            "unit": "CNY",
        },
        "says": [f"户主 {FULL_ID} 持有当地常住户口", "家庭月人均收入低于当地低保标准"],
        "effective_on": "2025-04-01" if kind == "no_longer_eligible" else None,
    }
    return body | over


def notice(kind: str, **over: Any) -> Notice:
    return notice_of(payload(kind, **over), outbox_id=42, subject_label="5206020012010001",
                     confirm_base=BASE)  # fmt: skip


def outputs(n: Notice) -> list[str]:
    code, params = sms_message(n)
    return [*mail_parts(n), webhook_body(n).decode(), sms_text(code, params)]


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_in_chinese_with_the_amount_and_no_id_number(kind: str) -> None:
    n = notice(kind)
    assert n.kind == kind and n.id == "msg_42"
    subject, text, html = mail_parts(n)
    code, params = sms_message(n)
    sms = sms_text(code, params)
    for out in (subject, text, html, sms):
        assert CHINESE.search(out), out
    for out in outputs(n):
        assert not ID_NUMBER.search(out), out
    assert "城乡最低生活保障金" in subject and SMS_TEMPLATES[code].kind == kind
    assert len(sms) <= SMS_MAX
    if kind != "became_undetermined":
        assert "每月705.00元" in text and "每月705.00元" in html
    assert json.loads(webhook_body(n))["data"]["policy"]["title"] == "城乡最低生活保障金"


def test_each_kind_says_its_own_thing() -> None:
    granted = mail_parts(notice("granted"))[1]
    assert "无需申请" in granted and "自2025年3月1日起" in granted and "下一步" not in granted
    assert notice("granted").next_step is None
    prepared = notice("claim_prepared")
    assert prepared.confirm_url == f"{BASE}/msg_42"
    assert prepared.next_step == f"请确认申领：{BASE}/msg_42"
    assert f'href="{BASE}/msg_42"' in mail_parts(prepared)[2]
    assert sms_message(prepared) == (
        "SMS_480100003",
        {"who": "5206020012010001", "title": "城乡最低生活保障金", "link": f"{BASE}/msg_42"},
    )
    assert "由680.00元调整为每月705.00元" in mail_parts(notice("amount_changed"))[1]
    stop = notice("no_longer_eligible")
    assert "自2025年4月1日起不再享受" in mail_parts(stop)[1]
    assert "2025年4月1日" in sms_text(*sms_message(stop))
    missing = notice("became_undetermined")
    assert missing.missing == ("household.monthly_income", "家庭人口")
    assert "household.monthly_income、家庭人口" in mail_parts(missing)[1]
    assert "<li>家庭人口</li>" in mail_parts(missing)[2]
    assert "尚待确认" in sms_text(*sms_message(notice("reminder")))


def test_a_payload_as_the_sweep_writes_it_today_falls_back_gracefully() -> None:
    ctx = ChunkContext("household", 1, HASH, {"household.dibao.allowance": "r"},
                       date(2025, 3, 1), 3, "test")  # fmt: skip
    decision = Decision(7, "household.dibao.allowance", "eligible", Decimal("705.00"), "TT", (),
                        None, "h")  # fmt: skip
    today = _payload(ctx, Change(decision, "newly_eligible", State("ineligible")), {})
    n = notice_of(json.loads(json.dumps(today)), outbox_id=9, subject_label="5206020012010001")
    assert (n.kind, n.title, n.amount, n.department, n.confirm_url) == (
        "newly_eligible", "household.dibao.allowance", "705.00", None, None,
    )  # fmt: skip
    assert "请留意主管部门的通知" in mail_parts(n)[1]
    assert len(sms_text(*sms_message(n))) <= SMS_MAX


@pytest.mark.parametrize(
    ("given", "shown"), [("705.00", "705.00"), ("916.5", "916.50"), (300, "300.00"),
                         ("0.10", "0.10"), ("12345678.99", "12345678.99")],
)  # fmt: skip
def test_amounts_are_exact_strings(given: Any, shown: str) -> None:
    n = notice("granted", after={"status": "eligible", "amount": given, "missing": []})
    assert n.amount == shown and f"每月{shown}元" in mail_parts(n)[1]
    assert json.loads(webhook_body(n))["data"]["amount"] == shown


@pytest.mark.parametrize("bad", [705.1, "七百", True])
def test_an_amount_that_is_not_a_decimal_string_is_refused(bad: Any) -> None:
    with pytest.raises(ValueError, match=r"\$\.after\.amount"):
        notice("granted", after={"status": "eligible", "amount": bad, "missing": []})


def test_an_unknown_payload_type_is_refused() -> None:
    with pytest.raises(ValueError, match="未知类型 'entitlement.renamed'"):
        notice("granted", type="entitlement.renamed")


def test_the_sandbox_refuses_attribute_escape() -> None:
    attacks = [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ n.__class__.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    ]
    for attack in attacks:
        with pytest.raises(SecurityError):
            ENVIRONMENT.from_string(attack).render(n=notice("granted"))
    with pytest.raises(SecurityError):  # immutable: a template cannot change what it is given
        ENVIRONMENT.from_string("{{ n.says.append('x') }}").render(n={"says": []})
    with pytest.raises(UndefinedError):
        ENVIRONMENT.from_string("{{ nobody }}").render()


def test_html_is_escaped_and_text_is_not() -> None:
    title = "<script>alert(1)</script>补贴&奖励"
    n = notice("granted", policy={"title": title, "delivery": "auto"})
    _, text, html = mail_parts(n)
    assert "<script>" not in html and "&lt;script&gt;" in html and "补贴&amp;奖励" in html
    assert title in text


def test_the_webhook_body_is_the_same_bytes_every_time() -> None:
    first, again = webhook_body(notice("claim_prepared")), webhook_body(notice("claim_prepared"))
    assert first == again
    body = json.loads(first)
    assert (body["type"], body["id"]) == ("entitlement.newly_eligible", "msg_42")
    data = body["data"]
    assert set(data) >= {"kind", "subject", "policy", "amount", "period", "says", "missing",
                         "next_step", "catalogue_version", "on_date", "effective_on"}  # fmt: skip
    assert data["subject"] == {"kind": "household", "label": "5206020012010001"}
    assert data["catalogue_version"] == HASH and data["says"][1] == "家庭月人均收入低于当地低保标准"


def test_every_template_fits_one_sms_with_every_param_at_its_limit() -> None:
    assert {t.kind for t in SMS_TEMPLATES.values()} == set(KINDS) | set(CLAIM_KINDS)
    for template in SMS_TEMPLATES.values():
        longest = {p: "长" * LIMITS[p] for p in template.params}
        assert len(sms_text(template.code, longest)) <= SMS_MAX, template.code
        assert set(PLACEHOLDER.findall(template.text)) == set(template.params)


@pytest.mark.parametrize("kind", KINDS)
def test_the_longest_realistic_values_still_fit_one_sms(kind: str) -> None:
    n = notice_of(
        payload(
            kind,
            policy={"title": "低保对象和特困人员城乡居民养老保险费政府代缴" * 2, "period": "once",
                    "department": "贵州省铜仁市碧江区人力资源和社会保障局", "delivery":
                    TYPES[kind][1]},
            after={"status": "eligible", "amount": "9999999.99",
                   "missing": ["家庭成员月收入", "家庭成员劳动能力", "赡养人履行能力"]},
            before={"status": "eligible", "amount": "99999999.99"},
            effective_on="2025-12-31",
        ),
        outbox_id=10**12,
        subject_label="91520602MA6DXXXX2K 贵州省铜仁市碧江区某某农业科技发展有限责任公司",
        confirm_base="https://zhida.bijiang.gov.cn/confirm",
    )  # fmt: skip
    code, params = sms_message(n)
    text = sms_text(code, params)
    assert len(text) <= SMS_MAX and SMS_TEMPLATES[code].kind == kind, text
    if "title" in params:
        assert params["title"].endswith("…") and len(params["title"]) == LIMITS["title"]
    if "amount" in params:
        assert params["amount"] == "一次性9999999.99元"  # never cut


def test_an_amount_or_link_too_long_for_an_sms_picks_the_template_without_it() -> None:
    rich = notice("granted", after={"status": "eligible", "amount": "123456789012.00"})
    assert sms_message(rich)[0] == "SMS_480100002"  # …直接享受, no amount
    far = notice_of(
        payload("claim_prepared"),
        outbox_id=1,
        subject_label="5206020012010001",
        confirm_base="https://a-very-long-host-name.example.gov.cn/claims/confirm",
    )
    code, params = sms_message(far)
    assert code == "SMS_480100004" and "link" not in params


# --- RELIABILITY M1: a title with CR/LF cannot add a header -----------------------------------


def test_a_title_with_crlf_gives_a_clean_subject(smtp: tuple[Inbox, MailSettings]) -> None:
    inbox, settings = smtp
    evil = "城乡最低生活保障金\r\nBcc: thief@evil.example\r\n\r\n伪造正文\u2028X-Evil: 1"
    n = notice("granted", policy={"title": evil, "delivery": "auto"},
               says=["理由\r\nX-Injected: yes"])  # fmt: skip
    subject, text, html = mail_parts(n)
    assert not re.search(r"[\r\n\u2028]", subject)
    send_mail(settings, "head@village.example", subject, text, html)
    ((envelope, got),) = inbox.messages
    assert envelope.rcpt_tos == ["head@village.example"]
    assert got["Bcc"] is None and got["X-Evil"] is None and got["X-Injected"] is None
    assert got["Subject"] == subject and "Bcc: thief@evil.example" in subject


def test_the_claim_decides_what_a_newly_eligible_notice_says() -> None:
    """An `auto` policy delivered through a bundle claim asks for a confirmation and lists the
    materials asked, once; a grant says it was granted; without a claim, the policy's delivery
    decides (a notice queued before claims existed)."""
    bundle = {"id": 12, "kind": "bundle", "state": "prepared", "title": "低保一件事",
              "asked": ["家庭经济状况核对授权书"], "waived": ["有线电视用户号"],
              "held": ["低保证"]}  # fmt: skip
    claimed = notice("granted", claim=bundle)  # delivery auto, but in a bundle claim
    assert claimed.kind == "claim_prepared" and claimed.claim_id == 12
    _, text, html = mail_parts(claimed)
    for out in (text, html):
        assert "申领编号 12" in out and "请一次备齐：家庭经济状况核对授权书" in out
    data = json.loads(webhook_body(claimed))["data"]
    assert data["claim"] == {"id": 12, "asked": ["家庭经济状况核对授权书"]}
    granted = notice("claim_prepared", claim={"id": 13, "kind": "grant", "state": "granted",
                                              "asked": []})  # fmt: skip
    assert granted.kind == "granted" and "已为您直接发放" in mail_parts(granted)[1]
    assert notice("granted").kind == "granted" and notice("claim_prepared").claim_id is None
