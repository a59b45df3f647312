"""Errors as RFC 9457 problem details: one handler for every error a request can meet.

    {"type": "urn:zhida:problem:invalid", "title": "请求有误", "status": 422,
     "detail": "members[2].id_number：校验码不对…", "instance": "/api/match",
     "errors": [{"path": "members[2].id_number", "message": "…"}]}

`errors` name where (a JSON path, a query parameter, `file:line:col`, a sheet's row and
column) and say what was found and what was expected, in the same words as the CLI. Every
`detail` and message has ID numbers masked. A domain error maps to its status here, once:

| error | status |
|---|---|
| ProfileError, RuleError, UserError, SheetError, ClaimError(invalid, calendar), … | 422 |
| ClaimError(not_found), an object outside the caller's scope | 404 |
| ClaimError(refused) | 403 |
| ClaimError(conflict), ImportConflict, an idempotency key in use | 409 |
| DatabaseUnavailable, a connection lost or a lock timed out during a request | 503 |
| what the database refuses to store (a NUL character on PostgreSQL) | 422 |
| Litestar's own: a malformed body or parameter 400, 401, 403, 404, 405, 413, 429 | as raised |

Anything else is a fault of ours: the client gets a 500 problem that names no internals, and
the traceback goes to the log with ID numbers masked. The schemathesis run in `make test`
holds that no request reaches it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from sqlalchemy.exc import DataError, InterfaceError, OperationalError

from matcher.profiles.errors import ProfileError
from matcher.profiles.masking import mask_ids_in_text
from rules.errors import RuleError, ZhidaError
from store.claims.errors import ClaimError
from store.db import DatabaseUnavailable
from store.ingest.run import ImportConflict

__all__ = [
    "PROBLEMS",
    "PROBLEM_JSON",
    "Problem",
    "ProblemError",
    "ProblemOut",
    "found",
    "handlers",
    "problem_of",
    "problem_response",
]

PROBLEM_JSON = "application/problem+json"
T = TypeVar("T")
log = logging.getLogger("zhida.api")

_TITLES = {
    400: "请求格式有误", 401: "需要登录", 403: "无权办理", 404: "找不到", 405: "不支持的方法",
    409: "冲突", 413: "请求过大", 415: "不支持的内容类型", 422: "请求有误", 429: "请求过于频繁",
    500: "内部错误", 503: "服务暂不可用",
}  # fmt: skip
_KINDS = {
    400: "malformed", 401: "unauthenticated", 403: "forbidden", 404: "not-found",
    405: "method", 409: "conflict", 413: "too-large", 415: "media-type", 422: "invalid",
    429: "rate-limited", 500: "internal", 503: "unavailable",
}  # fmt: skip
_LITESTAR_SAYS = {
    401: "需要登录：请先 POST /api/auth/login 取得令牌，放在 Authorization: Bearer … 中",
    403: "无权办理：当前角色不能使用这个接口",
    404: "找不到：没有这个地址，或对象不在您的辖区内",
    405: "不支持这个请求方法",
    413: "请求体过大：超过了服务允许的大小",
    429: "请求过于频繁：请稍后再试",
}  # fmt: skip
_CLAIM_STATUS = {"not_found": 404, "refused": 403, "conflict": 409, "invalid": 422, "calendar": 422}


@dataclass(frozen=True)
class Problem:
    """One thing wrong: where (a JSON path, parameter or `file:line:col`) and what."""

    path: str
    message: str


class ProblemItem(msgspec.Struct):
    """One problem of a problem-details answer."""

    path: str
    message: str


class ProblemOut(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem-details body."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[ProblemItem] = msgspec.field(default_factory=list)


def _spec(status: int) -> ResponseSpec:
    return ResponseSpec(
        data_container=ProblemOut, description=_TITLES[status], media_type=PROBLEM_JSON
    )


class ProblemError(ZhidaError):
    """A request refused by a handler with a status and the problems found."""

    def __init__(self, status: int, detail: str, errors: Sequence[Problem] = ()) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = list(errors)


def found(value: T | None, what: str) -> T:
    """`value`, or a 404 problem saying `what` is not there (or outside the caller's scope:
    the two are one answer, so existence is not revealed)."""
    if value is None:
        raise ProblemError(404, f"{what}不存在，或不在您的辖区内")
    return value


def problem_response(
    request: Request[Any, Any, Any],
    status: int,
    detail: str,
    errors: Sequence[Problem] = (),
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    """The problem-details response of `status`."""
    body: dict[str, Any] = {
        "type": f"urn:zhida:problem:{_KINDS.get(status, 'error')}",
        "title": _TITLES.get(status, "错误"),
        "status": status,
        "detail": mask_ids_in_text(detail),
        "instance": mask_ids_in_text(request.url.path),
    }
    if errors:
        body["errors"] = [{"path": e.path, "message": mask_ids_in_text(e.message)} for e in errors]
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _path(key: str | None, source: Any) -> str:
    source = getattr(source, "value", source)  # Litestar's ParamType enum: "query", "path"…
    if not key:
        return "$" if source in {None, "body"} else str(source)
    return key if source in {None, "body"} else f"{source}.{key}"


_TYPES = {
    "str": "文本", "int": "整数", "float": "数", "bool": "真假值（true / false）",
    "object": "对象 {…}", "array": "列表 […]", "null": "null", "date": "日期 YYYY-MM-DD",
    "datetime": "时间 YYYY-MM-DDTHH:MM:SS+08:00",
}  # fmt: skip
# msgspec's and Litestar's validation messages, in Chinese: what was expected (and found)
_SAYS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p), says)
    for p, says in (
        (r"Object contains unknown field `(?P<a>[^`]+)`", "未知字段 {a}：应删去（见 /schema）"),
        (r"Object missing required field `(?P<a>[^`]+)`", "缺少必填字段 {a}"),
        (r"Expected `(?P<a>\w+)`, got `(?P<b>\w+)`", "应为{A}，实际为{B}"),
        (r"Expected `(?P<a>\w+)` >= (?P<b>[-\d.e]+)", "应为不小于 {b} 的{A}"),
        (r"Expected `(?P<a>\w+)` <= (?P<b>[-\d.e]+)", "应为不大于 {b} 的{A}"),
        (r"Expected `(?P<a>\w+)` > (?P<b>[-\d.e]+)", "应为大于 {b} 的{A}"),
        (r"Expected `(?P<a>\w+)` < (?P<b>[-\d.e]+)", "应为小于 {b} 的{A}"),
        (r"Expected `(?P<a>\w+)` of length <= (?P<b>\d+)", "{A}长度应不超过 {b}"),
        (r"Expected `(?P<a>\w+)` of length >= (?P<b>\d+)", "{A}长度应至少为 {b}"),
        (r"Expected `str` matching regex '(?P<a>.*)'", "格式不对：应符合 {a}"),
        (r"Invalid enum value (?P<a>.*)", "{a} 不是可选的值（可选值见 /schema/swagger）"),
        (r"Invalid RFC3339 encoded (?P<a>date|datetime|time)", "应为{A}"),
        (r"Invalid base64 encoded string", "应为 base64 文本"),
        (r"JSON is malformed: (?P<a>.*)", "不是合法的 JSON（{a}）"),
        (r"Invalid multipart/form-data.*", "不是合法的 multipart/form-data 上传"),
    )
]  # fmt: skip
_AT = re.compile(r"\s*-\s*at `\$(?P<at>[^`]*)`$")


def _chinese(message: str) -> tuple[str, str | None]:
    """msgspec's message in Chinese, and the JSON path it names (`- at `$.a[0]``), if any."""
    at = _AT.search(message)
    text = message[: at.start()] if at else message
    for pattern, says in _SAYS:
        if found := pattern.match(text):
            parts = found.groupdict()
            words = {k.upper(): _TYPES.get(v, v) for k, v in parts.items() if v is not None}
            text = says.format(**parts, **words)
            break
    return text, (at.group("at").lstrip(".") if at else None)


def _validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    extra = exc.extra if isinstance(exc.extra, list) else []
    errors = []
    for e in extra:
        if not isinstance(e, dict):
            continue
        source, key = getattr(e.get("source"), "value", e.get("source")), e.get("key")
        text, at = _chinese(str(e.get("message", "")))
        path = at if at and source in {None, "body"} else _path(key, source)
        if unknown := re.match(r"Object contains unknown field `([^`]+)`", str(e.get("message"))):
            path = f"{at}.{unknown.group(1)}" if at else unknown.group(1)  # the field itself
        if source == "query" and key and (given := request.query_params.get(key)) is not None:
            text += f"；收到 {given[:60]!r}"
        errors.append(Problem(path, text))
    if not errors:  # a body that is not JSON at all, or a form that is not a form
        text, _ = _chinese(str(exc.detail or ""))
        errors.append(Problem("$", text if _is_ours(text) else "请求格式有误：应为合法的 JSON"))
    detail = "；".join(f"{p.path}：{p.message}" for p in errors)
    return problem_response(request, 400, detail, errors)


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, ValidationException):
        return _validation(request, exc)
    status = exc.status_code
    said = str(exc.detail or "")
    if status == 400 and not _is_ours(said):  # a body Litestar could not read at all
        text, _ = _chinese(said)
        text = text if _is_ours(text) else "请求格式有误：应为合法的 JSON"
        return problem_response(request, 400, text, [Problem("$", text)])
    detail = _LITESTAR_SAYS.get(status, said) if not _is_ours(said) else said
    return problem_response(request, status, detail, headers=dict(exc.headers or {}))


def _is_ours(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)  # a message we wrote says it in Chinese


def problem_of(exc: ZhidaError) -> tuple[int, str, list[Problem]]:
    """The status, detail and problems a domain error answers (the table above; the API's
    problem details and the console's messages both say it this way)."""
    if isinstance(exc, ProblemError):
        return exc.status, exc.detail, exc.errors
    if isinstance(exc, ClaimError):
        return _CLAIM_STATUS[exc.why], str(exc), []
    if isinstance(exc, ProfileError):
        errors = [Problem(i.path, i.message) for i in exc.issues]
        return 422, f"资料有 {len(errors)} 处问题", errors
    if isinstance(exc, RuleError):
        where = Problem(str(exc.location), exc.message + (f"（{exc.hint}）" if exc.hint else ""))
        return 422, str(exc), [where]
    if isinstance(exc, ImportConflict):
        return 409, str(exc), []
    if isinstance(exc, DatabaseUnavailable):
        log.error("database unavailable: %s", exc)
        return 503, "数据库暂不可用，请稍后再试", []
    return 422, str(exc), []


def _domain(request: Request[Any, Any, Any], exc: ZhidaError) -> Response[Any]:
    return problem_response(request, *problem_of(exc))


def _too_deep(request: Request[Any, Any, Any], exc: RecursionError) -> Response[Any]:
    return problem_response(request, 400, "请求体嵌套过深：应为层次不超过几十层的 JSON")


def _unstorable(request: Request[Any, Any, Any], exc: DataError) -> Response[Any]:
    said = "请求含有数据库不能保存的内容（如 NUL 字符 \\u0000，或超出范围的数值）：应删去后重试"
    log.warning("refused by the database on %s: %s", request.url.path, type(exc.orig).__name__)
    return problem_response(request, 422, said, [Problem("$", said)])


def _database_down(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.error("database unavailable on %s: %s", request.url.path, type(exc).__name__)
    return problem_response(
        request, 503, "数据库暂不可用，请稍后再试", headers={"Retry-After": "30"}
    )


def _internal(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.error(
        "internal error on %s %s: %s",
        request.method,
        request.url.path,
        mask_ids_in_text(repr(exc)),
        exc_info=exc,
    )
    return problem_response(request, 500, "内部错误：已记录，请联系运维人员")


# Every handler documents these answers (a handler adds its own, e.g. 202, on top).
PROBLEMS: dict[int, ResponseSpec] = {
    s: _spec(s) for s in (400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 503)
}


def handlers() -> dict[type[Exception] | int, Any]:
    """The exception handlers of the application."""
    return {
        HTTPException: _http,
        ZhidaError: _domain,
        RecursionError: _too_deep,  # msgspec decoding a body nested thousands deep
        DataError: _unstorable,  # e.g. a NUL character, which PostgreSQL cannot store in text
        OperationalError: _database_down,  # the server went away, a lock waited too long
        InterfaceError: _database_down,
        Exception: _internal,
    }
