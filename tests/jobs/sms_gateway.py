"""A fake Aliyun SMS gateway (dysmsapi `SendSms`) on loopback, strict the way the real one is.

A real HTTP server (`ThreadingHTTPServer` in a thread, port 0). For every POST it checks, in the
real API's order, and answers the real error bodies: the common parameters are present
(`MissingParameter`), the AccessKeyId is known (`InvalidAccessKeyId.NotFound`, HTTP 404), the
signature recomputed from the received parameters with the known secret matches
(`SignatureDoesNotMatch`, HTTP 400, the server's string-to-sign in the message), the Timestamp is
within 15 minutes (`InvalidTimeStamp.Expired`), the nonce is new (`SignatureNonceUsed`); then,
like the SMS service (HTTP 200 with a `Code`): the number (`isv.MOBILE_NUMBER_ILLEGAL`), the sign
(`isv.SMS_SIGNATURE_ILLEGAL`), the template code exists (`isv.SMS_TEMPLATE_ILLEGAL`; the
registered templates are `jobs/templates/sms.yaml`), the params are JSON
(`isv.INVALID_JSON_PARAM`) and fill the template (`isv.TEMPLATE_MISSING_PARAMETERS`). An
accepted message is recorded in `messages`.

The signature check is written independently of `jobs.sms`, the way Aliyun's Java SDK encodes
(`URLEncoder` form encoding, then `+`→`%20`, `*`→`%2A`, `%7E`→`~`).

`script(*answers)` queues answers for the next requests that pass authentication: an error code
(`"isv.BUSINESS_LIMIT_CONTROL"`), an HTTP status (`500`), or `"redirect"` (a 302 back to itself).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote_plus

from jobs.sms import AliyunSettings
from jobs.sms_templates import SMS_TEMPLATES

COMMON = ("AccessKeyId", "Action", "Format", "RegionId", "SignatureMethod", "SignatureNonce",
          "SignatureVersion", "Timestamp", "Version", "Signature")  # fmt: skip
ERRORS = {  # code → (HTTP status, message) as the real API answers
    "InvalidAction.NotFound": (404, "Specified api is not found."),
    "InvalidAccessKeyId.NotFound": (404, "Specified access key is not found."),
    "InvalidSignatureMethod": (400, "Specified signature method is not supported."),
    "SignatureDoesNotMatch": (
        400,
        "Specified signature is not matched with our calculation. server string to sign is:",
    ),
    "InvalidTimeStamp.Format": (400, "Specified time stamp or date value is not well formatted."),
    "InvalidTimeStamp.Expired": (400, "Specified time stamp or date value is expired."),
    "SignatureNonceUsed": (400, "Specified signature nonce was used already."),
    "isv.BUSINESS_LIMIT_CONTROL": (200, "触发分钟级流控Permits:1"),
    "isv.DAY_LIMIT_CONTROL": (200, "触发天级流控Permits:10"),
    "isv.MOBILE_NUMBER_ILLEGAL": (200, "非法手机号"),
    "isv.SMS_TEMPLATE_ILLEGAL": (200, "该账号下找不到对应模板"),
    "isv.SMS_SIGNATURE_ILLEGAL": (200, "该账号下找不到对应签名"),
    "isv.TEMPLATE_MISSING_PARAMETERS": (200, "模板变量中存在未赋值变量"),
    "isv.INVALID_JSON_PARAM": (200, "JSON参数不合法，只接受字符串值"),
    "isv.OUT_OF_SERVICE": (200, "账户已停机"),
}
Answer = tuple[int, dict[str, Any]]


@dataclass(frozen=True)
class Sent:
    """One message the gateway accepted."""

    phone: str
    template: str
    params: dict[str, str]
    out_id: str
    sign_name: str
    biz_id: str


def java_encode(value: str) -> str:
    """Percent-encoding as the Aliyun SDKs do it (URLEncoder, then the RFC 3986 fixes)."""
    return quote_plus(value, safe="").replace("+", "%20").replace("*", "%2A").replace("%7E", "~")


def string_to_sign(method: str, params: dict[str, str]) -> str:
    """The server's string-to-sign of the received parameters (all but `Signature`)."""
    pairs = sorted((k, v) for k, v in params.items() if k != "Signature")
    query = "&".join(f"{java_encode(k)}={java_encode(v)}" for k, v in pairs)
    return f"{method}&{java_encode('/')}&{java_encode(query)}"


def expected_signature(method: str, params: dict[str, str], secret: str) -> str:
    """What the server computes for the received parameters."""
    key = (secret + "&").encode()
    digest = hmac.new(key, string_to_sign(method, params).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass
class FakeAliyun:
    """The gateway's state: its keys, the accepted messages, the scripted answers."""

    key_id: str = "LTAI5tZhidaTestKey"
    secret: str = "zhida-test-secret-7f3a"
    sign_names: tuple[str, ...] = ("直达",)
    messages: list[Sent] = field(default_factory=list)
    requests: int = 0
    url: str = ""
    now: Any = None  # a callable giving the gateway's time (default: the real clock)
    _answers: deque[str | int] = field(default_factory=deque)
    _nonces: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, *answers: str | int) -> None:
        """Answer the next authenticated requests with these codes or HTTP statuses, in order."""
        self._answers.extend(answers)

    def settings(self, **overrides: Any) -> AliyunSettings:
        """Client settings that reach this gateway with its key (override any field)."""
        fields = {"endpoint": self.url, "access_key_id": self.key_id,
                  "access_key_secret": self.secret, "sign_name": self.sign_names[0],
                  "timeout": 5.0}  # fmt: skip
        return AliyunSettings(**{**fields, **overrides})

    def answer(self, params: dict[str, str]) -> Answer:
        """The HTTP status and JSON body for one request's form."""
        with self._lock:
            self.requests += 1
            return self._auth(params) or self._scripted() or self._send(params)

    def _error(self, code: str, more: str = "") -> Answer:
        status, message = ERRORS.get(code, (200, code))
        body = {"RequestId": str(uuid.uuid4()).upper(), "Code": code, "Message": message + more}
        if status != 200:
            body |= {"HostId": "dysmsapi.aliyuncs.com",
                     "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}"}  # fmt: skip
        return status, body

    def _auth(self, p: dict[str, str]) -> Answer | None:
        for name in COMMON:
            if not p.get(name):
                return 400, {"RequestId": str(uuid.uuid4()).upper(), "Code": f"Missing{name}",
                             "Message": f"{name} is mandatory for this action."}  # fmt: skip
        if p["Action"] != "SendSms" or p["Version"] != "2017-05-25":
            return self._error("InvalidAction.NotFound")
        if p["AccessKeyId"] != self.key_id:
            return self._error("InvalidAccessKeyId.NotFound")
        if p["SignatureMethod"] != "HMAC-SHA1" or p["SignatureVersion"] != "1.0":
            return self._error("InvalidSignatureMethod")
        if not hmac.compare_digest(p["Signature"], expected_signature("POST", p, self.secret)):
            return self._error("SignatureDoesNotMatch", string_to_sign("POST", p))
        try:
            at = datetime.strptime(p["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return self._error("InvalidTimeStamp.Format")
        now = self.now() if self.now else datetime.now(UTC)
        if abs(now - at) > timedelta(minutes=15):
            return self._error("InvalidTimeStamp.Expired")
        if p["SignatureNonce"] in self._nonces:
            return self._error("SignatureNonceUsed")
        self._nonces.add(p["SignatureNonce"])
        return None

    def _scripted(self) -> Answer | None:
        if not self._answers:
            return None
        answer = self._answers.popleft()
        if answer == "redirect":
            return 302, {}
        if isinstance(answer, int):
            return answer, {"RequestId": str(uuid.uuid4()).upper(), "Code": "InternalError",
                            "Message": "The request processing has failed due to some unknown "
                            "error, exception or failure."}  # fmt: skip
        return self._error(answer)

    def _send(self, p: dict[str, str]) -> Answer:
        phone, code = p.get("PhoneNumbers", ""), p.get("TemplateCode", "")
        if not re.fullmatch(r"1[3-9][0-9]{9}", phone):
            return self._error("isv.MOBILE_NUMBER_ILLEGAL")
        if p.get("SignName") not in self.sign_names:
            return self._error("isv.SMS_SIGNATURE_ILLEGAL")
        if code not in SMS_TEMPLATES:
            return self._error("isv.SMS_TEMPLATE_ILLEGAL")
        try:
            params = json.loads(p.get("TemplateParam", "{}"))
        except ValueError:
            params = None
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            return self._error("isv.INVALID_JSON_PARAM")
        if any(name not in params for name in SMS_TEMPLATES[code].params):
            return self._error("isv.TEMPLATE_MISSING_PARAMETERS")
        biz_id = f"{len(self.messages) + 900000}^0"
        self.messages.append(Sent(phone, code, params, p.get("OutId", ""), p["SignName"], biz_id))
        return 200, {"Code": "OK", "Message": "OK", "BizId": biz_id,
                     "RequestId": str(uuid.uuid4()).upper()}  # fmt: skip


def _handler(gateway: FakeAliyun) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            size = int(self.headers.get("Content-Length", "0"))
            form = dict(parse_qsl(self.rfile.read(size).decode(), keep_blank_values=True))
            status, body = gateway.answer(form)
            data = json.dumps(body, ensure_ascii=False).encode() if body else b""
            self.send_response(status)
            if status in (301, 302, 307, 308):
                self.send_header("Location", gateway.url)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

    return Handler


class GatewayServer:
    """The fake gateway served on 127.0.0.1 (port 0) from a thread; a context manager."""

    def __init__(self, gateway: FakeAliyun | None = None) -> None:
        self.gateway = gateway or FakeAliyun()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.gateway))
        self._server.daemon_threads = True
        self.gateway.url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        self._thread = threading.Thread(  # a short poll: shutdown() waits for one
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> FakeAliyun:
        self._thread.start()
        return self.gateway

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
