"""The SMS channel: a registered template and its params, sent through a gateway.

`SmsGateway` is the interface the drain calls; `AliyunSms` implements it over the Aliyun
dysmsapi `SendSms` RPC API (version 2017-05-25), with our own httpx client (no SDK, no redirects
followed). A Tencent Cloud client (API 3.0 `SendSms`, TC3-HMAC-SHA256) can be added beside it
with the same `send`; see docs/delivery.md "Notices and channels".

Settings come from the environment: `ZHIDA_SMS_ENDPOINT` (e.g. `https://dysmsapi.aliyuncs.com/`),
`ZHIDA_SMS_KEY_ID`, `ZHIDA_SMS_KEY_SECRET`, `ZHIDA_SMS_SIGN_NAME` (the registered sign, e.g. 直达),
optional `ZHIDA_SMS_REGION` (cn-hangzhou). None set: no SMS channel; some set: an error naming
the missing ones. The secret is never logged nor shown (it is left out of the settings' repr).

The request (RPC signature version 1.0): a POST form of the common parameters (`Action=SendSms`,
`Version`, `Format=JSON`, `RegionId`, `AccessKeyId`, `SignatureMethod=HMAC-SHA1`,
`SignatureVersion=1.0`, `SignatureNonce`, `Timestamp` in UTC with `Z`) and the call's
(`PhoneNumbers`, `SignName`, `TemplateCode`, `TemplateParam` as a JSON string, `OutId`), and
`Signature` = base64(HMAC-SHA1(secret + "&", "POST&%2F&" + pe(canonical query))), where the
canonical query is the parameters sorted by name, `pe(name)=pe(value)` joined by `&`, and `pe` is
RFC 3986 percent-encoding of UTF-8 (space `%20`, `*` `%2A`, `~` kept).

Outcomes. `{"Code": "OK", "BizId": …}` is a sent message; anything else is one `SmsError` with
the gateway's code, a Chinese message for people and `retryable`: throttling, a platform fault,
an HTTP 5xx, a timeout or a refused connection may pass later; a bad number, template, sign or
key never will. A phone number is checked before any request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote

import httpx
import orjson

from rules.errors import ZhidaError
from store.delivery.registration import mask_phone

__all__ = [
    "AliyunSettings",
    "AliyunSms",
    "SmsError",
    "SmsGateway",
    "normalise_phone",
    "percent_encode",
    "rpc_signature",
]

VERSION = "2017-05-25"
_PHONE = re.compile(r"(?:\+?86)?(1[3-9][0-9]{9})")  # ASCII digits only
_RETRYABLE = frozenset({
    "isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL", "isv.OUT_OF_SERVICE",
    "isv.AMOUNT_NOT_ENOUGH", "isp.SYSTEM_ERROR", "SignatureNonceUsed",
    "InvalidTimeStamp.Expired", "ServiceUnavailable", "InternalError", "UnknownError",
})  # fmt: skip
_SAID = {
    "isv.BUSINESS_LIMIT_CONTROL": "发送频率超过网关的流控限制，稍后重试",
    "isv.DAY_LIMIT_CONTROL": "该号码当日发送量已达上限，稍后重试",
    "isv.OUT_OF_SERVICE": "短信账户已停机（可能欠费），充值后重试",
    "isv.AMOUNT_NOT_ENOUGH": "短信账户余额不足，充值后重试",
    "isv.MOBILE_NUMBER_ILLEGAL": "手机号码格式不正确",
    "isv.SMS_TEMPLATE_ILLEGAL": "短信模板不存在或未通过审核（请核对 jobs/templates/sms.yaml）",
    "isv.SMS_SIGNATURE_ILLEGAL": "短信签名不存在或未通过审核（请核对 ZHIDA_SMS_SIGN_NAME）",
    "isv.TEMPLATE_MISSING_PARAMETERS": "短信模板缺少参数",
    "isv.INVALID_JSON_PARAM": "短信模板参数不是合法的 JSON",
    "SignatureDoesNotMatch": "签名不匹配：请核对 ZHIDA_SMS_KEY_SECRET",
    "InvalidAccessKeyId.NotFound": "AccessKey 不存在：请核对 ZHIDA_SMS_KEY_ID",
    "SignatureNonceUsed": "签名随机数重复，稍后重试",
    "InvalidTimeStamp.Expired": "请求时间戳已过期：请核对本机时钟",
}


class SmsError(ZhidaError):
    """A message the gateway did not accept (or could not be asked to accept).

    Attributes:
        code: the gateway's code (`isv.MOBILE_NUMBER_ILLEGAL`), or ours: `InvalidPhone`,
            `HTTP500`, `Timeout`, `ConnectError`, `BadResponse`.
        message: what happened, in Chinese, for people (never the secret).
        retryable: whether the same message may pass later.
    """

    def __init__(self, code: str, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.code, self.message, self.retryable = code, message, retryable


class SmsGateway(Protocol):
    """What the drain needs of an SMS gateway."""

    def send(self, *, phone: str, template: str, params: Mapping[str, str], out_id: str) -> str:
        """Send one templated message; returns the gateway's id for it (BizId).

        Raises:
            SmsError: refused or not sent.
        """
        ...


@dataclass(frozen=True)
class AliyunSettings:
    """Where and as whom to call the Aliyun SMS API."""

    endpoint: str
    access_key_id: str
    access_key_secret: str = field(repr=False)
    sign_name: str
    region: str = "cn-hangzhou"
    timeout: float = 15.0

    @classmethod
    def from_env(cls) -> AliyunSettings | None:
        """The settings of the environment, or None when no SMS gateway is configured.

        Raises:
            ValueError: some variables set and others not (the message names the missing), or
                an endpoint that is not an http(s) address.
        """
        names = ("ZHIDA_SMS_ENDPOINT", "ZHIDA_SMS_KEY_ID", "ZHIDA_SMS_KEY_SECRET",
                 "ZHIDA_SMS_SIGN_NAME")  # fmt: skip
        values = [os.environ.get(n, "").strip() for n in names]
        if not any(values):
            return None
        missing = [n for n, v in zip(names, values, strict=True) if not v]
        if missing:
            raise ValueError(f"短信网关配置不完整：未设置 {'、'.join(missing)}（四项应同时设置）")
        endpoint, key_id, secret, sign = values
        if not endpoint.startswith(("https://", "http://")):
            raise ValueError(
                f"ZHIDA_SMS_ENDPOINT 应为 https:// 开头的地址（如 https://dysmsapi.aliyuncs.com/），"
                f"不是 {endpoint!r}"
            )
        region = os.environ.get("ZHIDA_SMS_REGION", "").strip() or "cn-hangzhou"
        return cls(endpoint, key_id, secret, sign, region)


def percent_encode(value: str) -> str:
    """Aliyun's percent-encoding (RFC 3986 over UTF-8): space `%20`, `*` `%2A`, `~` kept."""
    return quote(value, safe="~")


def rpc_signature(params: Mapping[str, str], secret: str, method: str = "POST") -> str:
    """The RPC signature (version 1.0) of `params` (without `Signature`) under `secret`."""
    query = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{percent_encode('/')}&{percent_encode(query)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def normalise_phone(phone: str) -> str:
    """A mainland mobile number as the gateway takes it: 11 digits, no +86.

    Raises:
        SmsError: not a mainland mobile number (not retryable).
    """
    digits = re.sub(r"[\s-]", "", phone)
    match = _PHONE.fullmatch(digits)
    if match is None:
        raise SmsError(
            "InvalidPhone",
            f"手机号 {mask_phone(digits)} 无效：应为中国大陆 11 位手机号（1 开头，第二位 3–9），"
            "可带 +86",
            retryable=False,
        )
    return match[1]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _nonce() -> str:
    return str(uuid.uuid4())


class AliyunSms:
    """`SmsGateway` over the Aliyun dysmsapi `SendSms` API."""

    def __init__(
        self,
        settings: AliyunSettings,
        *,
        client: httpx.Client | None = None,
        clock: Callable[[], datetime] = _utc_now,
        nonce: Callable[[], str] = _nonce,
    ) -> None:
        self.settings = settings
        self._client = client
        self._clock, self._nonce = clock, nonce

    @property
    def client(self) -> httpx.Client:
        """The HTTP client, made on first use (its TLS context takes a moment to load)."""
        if self._client is None:
            s = self.settings
            self._client = httpx.Client(timeout=s.timeout, follow_redirects=False)
        return self._client

    def params(
        self, *, phone: str, template: str, params: Mapping[str, str], out_id: str
    ) -> dict[str, str]:
        """The signed form of one SendSms call (`phone` already normalised)."""
        s = self.settings
        form = {
            "Action": "SendSms", "Version": VERSION, "Format": "JSON", "RegionId": s.region,
            "AccessKeyId": s.access_key_id, "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0", "SignatureNonce": self._nonce(),
            "Timestamp": self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "PhoneNumbers": phone, "SignName": s.sign_name, "TemplateCode": template,
            "TemplateParam": orjson.dumps(dict(params)).decode(), "OutId": out_id,
        }  # fmt: skip
        form["Signature"] = rpc_signature(form, s.access_key_secret)
        return form

    def send(self, *, phone: str, template: str, params: Mapping[str, str], out_id: str) -> str:
        """Send one templated message; returns its BizId.

        Raises:
            SmsError: a bad number (before any request), a refusal, an HTTP or network failure.
        """
        number = normalise_phone(phone)
        form = self.params(phone=number, template=template, params=params, out_id=out_id)
        where = f"短信网关 {self.settings.endpoint}（发往 {mask_phone(number)}，模板 {template}）"
        try:
            response = self.client.post(self.settings.endpoint, data=form)
        except httpx.TimeoutException:
            raise SmsError("Timeout", f"{where}：请求超时", retryable=True) from None
        except httpx.HTTPError as exc:
            kind = type(exc).__name__
            raise SmsError(kind, f"{where}：无法连接（{kind}）", retryable=True) from None
        return _outcome(response, where)


def _outcome(response: httpx.Response, where: str) -> str:
    if response.status_code >= 500:
        code = f"HTTP{response.status_code}"
        raise SmsError(code, f"{where}：网关内部错误 HTTP {response.status_code}", retryable=True)
    try:
        body: Any = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict) or "Code" not in body:
        raise SmsError(
            "BadResponse",
            f"{where}：无法识别的应答 HTTP {response.status_code}",
            retryable=response.status_code in (408, 429),
        )
    code = str(body["Code"])
    if code == "OK":
        return str(body.get("BizId", ""))
    said = _SAID.get(code, "网关拒绝发送")
    detail = str(body.get("Message", ""))[:160]
    retryable = code in _RETRYABLE or code.startswith("Throttling")
    raise SmsError(code, f"{where}：{code} {said}（网关说明：{detail}）", retryable=retryable)
