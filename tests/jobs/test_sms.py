"""The SMS channel against a fake Aliyun gateway on loopback that checks signatures as the real
one does: a send is accepted and recorded; every refusal or fault is one SmsError that says
whether a retry may help, and never a traceback."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest

from jobs.sms import AliyunSettings, AliyunSms, SmsError, normalise_phone, rpc_signature
from tests.jobs.sms_gateway import FakeAliyun, expected_signature

# Aliyun's published SendSms signature example (document 56189): secret "testSecret", GET.
DOC_PARAMS = {
    "AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123",
    "PhoneNumbers": "15300000001", "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用",
    "SignatureMethod": "HMAC-SHA1", "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    "SignatureVersion": "1.0", "TemplateCode": "SMS_71390007",
    "TemplateParam": '{"customer":"test"}', "Timestamp": "2017-07-12T02:42:19Z",
    "Version": "2017-05-25",
}  # fmt: skip
PARAMS = {"who": "5206020012010001", "title": "城乡最低生活保障金", "amount": "每月705.00元",
          "date": "2025年3月1日"}  # fmt: skip


def _send(gateway: FakeAliyun, phone: str = "13800138000", **settings: object) -> str:
    sms = AliyunSms(gateway.settings(**settings))
    return sms.send(phone=phone, template="SMS_480100001", params=PARAMS, out_id="msg_42")


def test_the_signer_and_the_fake_reproduce_aliyuns_published_example() -> None:
    assert rpc_signature(DOC_PARAMS, "testSecret", "GET") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    assert expected_signature("GET", DOC_PARAMS, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_a_send_is_accepted_and_recorded(sms_gateway: FakeAliyun) -> None:
    biz_id = _send(sms_gateway, phone="+86 138-0013-8000")
    (sent,) = sms_gateway.messages
    assert biz_id == sent.biz_id and biz_id.endswith("^0")
    assert (sent.phone, sent.template, sent.params, sent.out_id, sent.sign_name) == (
        "13800138000", "SMS_480100001", PARAMS, "msg_42", "直达",
    )  # fmt: skip


def test_a_wrong_secret_is_refused_for_good(sms_gateway: FakeAliyun) -> None:
    with pytest.raises(SmsError) as caught:
        _send(sms_gateway, access_key_secret="not-the-secret")
    assert caught.value.code == "SignatureDoesNotMatch" and not caught.value.retryable
    assert "ZHIDA_SMS_KEY_SECRET" in caught.value.message
    assert "not-the-secret" not in caught.value.message and sms_gateway.messages == []


def test_an_unknown_key_is_refused_for_good(sms_gateway: FakeAliyun) -> None:
    with pytest.raises(SmsError) as caught:
        _send(sms_gateway, access_key_id="LTAI-nobody")
    assert (caught.value.code, caught.value.retryable) == ("InvalidAccessKeyId.NotFound", False)


@pytest.mark.parametrize(
    ("code", "retryable"),
    [
        ("isv.BUSINESS_LIMIT_CONTROL", True),
        ("isv.DAY_LIMIT_CONTROL", True),
        ("isv.OUT_OF_SERVICE", True),
        ("isv.MOBILE_NUMBER_ILLEGAL", False),
        ("isv.SMS_TEMPLATE_ILLEGAL", False),
        ("isv.SMS_SIGNATURE_ILLEGAL", False),
    ],
)
def test_an_error_code_says_whether_a_retry_may_help(
    sms_gateway: FakeAliyun, code: str, retryable: bool
) -> None:
    sms_gateway.script(code)
    with pytest.raises(SmsError) as caught:
        _send(sms_gateway)
    assert (caught.value.code, caught.value.retryable) == (code, retryable)
    assert sms_gateway.messages == []


def test_throttled_twice_then_accepted(sms_gateway: FakeAliyun) -> None:
    sms_gateway.script("isv.BUSINESS_LIMIT_CONTROL", "isv.BUSINESS_LIMIT_CONTROL")
    for _ in range(2):
        with pytest.raises(SmsError, match="流控") as caught:
            _send(sms_gateway)
        assert caught.value.retryable
    _send(sms_gateway)  # a fresh nonce each time: the gateway refuses a reused one
    assert len(sms_gateway.messages) == 1 and sms_gateway.requests == 3


def test_an_unregistered_template_is_refused_by_the_gateway(sms_gateway: FakeAliyun) -> None:
    sms = AliyunSms(sms_gateway.settings())
    with pytest.raises(SmsError) as caught:
        sms.send(phone="13800138000", template="SMS_1", params={}, out_id="msg_1")
    assert (caught.value.code, caught.value.retryable) == ("isv.SMS_TEMPLATE_ILLEGAL", False)
    with pytest.raises(SmsError) as caught:
        sms.send(phone="13800138000", template="SMS_480100001", params={"who": "x"}, out_id="m")
    assert caught.value.code == "isv.TEMPLATE_MISSING_PARAMETERS"


@pytest.mark.parametrize(
    "phone", ["12345678901", "1380013800", "+1 415 555 0100", "", "１３８００１３８０００"]
)
def test_a_bad_phone_is_refused_before_any_request(sms_gateway: FakeAliyun, phone: str) -> None:
    with pytest.raises(SmsError, match="应为中国大陆 11 位手机号") as caught:
        _send(sms_gateway, phone=phone)
    assert (caught.value.code, caught.value.retryable) == ("InvalidPhone", False)
    assert sms_gateway.requests == 0


def test_phone_numbers_are_normalised() -> None:
    assert normalise_phone("+8613800138000") == normalise_phone("138 0013 8000") == "13800138000"


def test_a_stale_clock_and_a_reused_nonce_are_refused(sms_gateway: FakeAliyun) -> None:
    stale = AliyunSms(sms_gateway.settings(), clock=lambda: datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(SmsError) as caught:
        stale.send(phone="13800138000", template="SMS_480100001", params=PARAMS, out_id="m")
    assert caught.value.code == "InvalidTimeStamp.Expired"
    same = AliyunSms(sms_gateway.settings(), nonce=lambda: "the-same-nonce")
    same.send(phone="13800138000", template="SMS_480100001", params=PARAMS, out_id="m")
    with pytest.raises(SmsError) as caught:
        same.send(phone="13800138000", template="SMS_480100001", params=PARAMS, out_id="m")
    assert (caught.value.code, caught.value.retryable) == ("SignatureNonceUsed", True)
    assert len(sms_gateway.messages) == 1


def test_http_500_is_retryable(sms_gateway: FakeAliyun) -> None:
    sms_gateway.script(500)
    with pytest.raises(SmsError, match="HTTP 500") as caught:
        _send(sms_gateway)
    assert (caught.value.code, caught.value.retryable) == ("HTTP500", True)


def test_a_refused_connection_is_retryable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before the request: nobody listens there
    settings = AliyunSettings(f"http://127.0.0.1:{port}/", "LTAI", "secret", "直达", timeout=2.0)
    with pytest.raises(SmsError, match="无法连接") as caught:
        AliyunSms(settings).send(phone="13800138000", template="SMS_1", params={}, out_id="m")
    assert (caught.value.code, caught.value.retryable) == ("ConnectError", True)


def test_a_redirect_is_not_followed(sms_gateway: FakeAliyun) -> None:
    sms_gateway.script("redirect")  # 302 back to the gateway itself: following it would send
    with pytest.raises(SmsError) as caught:
        _send(sms_gateway)
    assert (caught.value.code, caught.value.retryable) == ("BadResponse", False)
    assert sms_gateway.requests == 1 and sms_gateway.messages == []


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    names = (
        "ZHIDA_SMS_ENDPOINT",
        "ZHIDA_SMS_KEY_ID",
        "ZHIDA_SMS_KEY_SECRET",
        "ZHIDA_SMS_SIGN_NAME",
    )
    for name in names:
        monkeypatch.delenv(name, raising=False)
    assert AliyunSettings.from_env() is None
    monkeypatch.setenv("ZHIDA_SMS_ENDPOINT", "https://dysmsapi.aliyuncs.com/")
    monkeypatch.setenv("ZHIDA_SMS_KEY_ID", "LTAI")
    with pytest.raises(ValueError, match="未设置 ZHIDA_SMS_KEY_SECRET、ZHIDA_SMS_SIGN_NAME"):
        AliyunSettings.from_env()
    monkeypatch.setenv("ZHIDA_SMS_KEY_SECRET", "s3cret-value")
    monkeypatch.setenv("ZHIDA_SMS_SIGN_NAME", "直达")
    got = AliyunSettings.from_env()
    assert got is not None and (got.sign_name, got.region) == ("直达", "cn-hangzhou")
    assert "s3cret-value" not in repr(got)
    monkeypatch.setenv("ZHIDA_SMS_ENDPOINT", "dysmsapi.aliyuncs.com")
    with pytest.raises(ValueError, match="ZHIDA_SMS_ENDPOINT 应为 https:// 开头的地址"):
        AliyunSettings.from_env()
