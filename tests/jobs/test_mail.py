"""The e-mail channel against a real SMTP server on loopback (aiosmtpd): a Chinese subject and
body arrive intact, in a text and an HTML part; a refused recipient is one clear MailError."""

from __future__ import annotations

import pytest

from jobs.mail import MailError, MailSettings, send_mail
from tests.jobs.mailbox import Inbox, free_port


def test_a_chinese_notice_arrives_intact_in_two_parts(smtp: tuple[Inbox, MailSettings]) -> None:
    inbox, settings = smtp
    subject = "您可享受：城乡最低生活保障金（每月 710.00 元）"
    text = "贵户已符合城乡最低生活保障金条件，自2025年3月起每月710.00元，无需申请。"
    html = f"<p>{text}</p>"
    message_id = send_mail(settings, "finance@firm.example", subject, text, html)
    ((envelope, got),) = inbox.messages
    assert envelope.rcpt_tos == ["finance@firm.example"]
    assert got["Subject"] == subject and got["Message-ID"] == message_id
    assert "=?utf-8?" in (envelope.original_content or b"").decode("ascii").lower()  # RFC 2047
    plain, rich = got.get_body(("plain",)), got.get_body(("html",))
    assert plain is not None and rich is not None
    assert plain.get_content().strip() == text and text in rich.get_content()
    assert got["From"].addresses[0].display_name == "直达 惠民惠企政策"


def test_a_refused_recipient_is_one_clear_error(smtp: tuple[Inbox, MailSettings]) -> None:
    inbox, settings = smtp
    with pytest.raises(MailError, match="拒收收件人 nobody@refused.example：550"):
        send_mail(settings, "nobody@refused.example", "主题", "正文", "<p>正文</p>")
    assert inbox.messages == []


def test_a_server_that_is_not_there_is_one_clear_error() -> None:
    settings = MailSettings(host="127.0.0.1", port=free_port())
    with pytest.raises(MailError, match=r"SMTP 127\.0\.0\.1:\d+ 发送失败：ConnectionRefusedError"):
        send_mail(settings, "a@b.example", "主题", "正文", "<p>正文</p>")


def test_settings_from_the_environment_refuse_half_a_login(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ZHIDA_SMTP_HOST", "mail.county.example")
    monkeypatch.setenv("ZHIDA_SMTP_USER", "zhida")
    monkeypatch.delenv("ZHIDA_SMTP_PASSWORD", raising=False)
    with pytest.raises(MailError, match="应同时设置"):
        MailSettings.from_env()
    monkeypatch.setenv("ZHIDA_SMTP_PASSWORD", "secret")
    monkeypatch.setenv("ZHIDA_SMTP_PORT", "587")
    monkeypatch.setenv("ZHIDA_SMTP_STARTTLS", "1")
    got = MailSettings.from_env()
    assert (got.host, got.port, got.starttls, got.user) == (
        "mail.county.example",
        587,
        True,
        "zhida",
    )
