"""A profile's JSON file read safely: every refusal a `ProfileError` at a JSON path.

Python's `json` would end in a RecursionError on deeply nested text (100k `[`) and in a
ValueError on an integer of more than 4,300 digits; neither names where the problem is. Nesting
is measured by a scan of the brackets before parsing, and an integer too long to be a fact is
kept aside while parsing, then reported at its path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matcher.profiles.errors import Issue, ProfileError

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_DIGITS", "read_profile_json"]

MAX_BYTES = 4 * 1024 * 1024  # a household of 50 members is under 50 KB
MAX_DEPTH = 16  # a household → members → one member → a value is 3
MAX_DIGITS = 100  # any number over 15 significant digits is refused later, with its value
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{},:]')
Step = str | int


@dataclass(frozen=True)
class _Long:
    """An integer too long to convert (Python refuses over 4,300 digits), kept as its length."""

    digits: int


def read_profile_json(path: Path) -> Any:
    """The JSON value in `path`.

    Raises:
        ProfileError: the file cannot be read, is not JSON, nests deeper than `MAX_DEPTH`, or
            holds an integer of more than `MAX_DIGITS` digits; each at its JSON path.
    """
    source = str(path)
    text = _read(path, source)
    deep = _too_deep(text)
    if deep is not None:
        raise ProfileError(
            [
                Issue(
                    _path_text(deep),
                    f"嵌套超过 {MAX_DEPTH} 层 (nested too deeply)；档案应为一个对象，"
                    "成员为 members 列表中的对象，只有几层",
                )
            ],
            source,
        )
    try:
        value = json.loads(text, parse_int=_integer)
    except json.JSONDecodeError as exc:
        where = f"第 {exc.lineno} 行第 {exc.colno} 列"
        raise ProfileError(
            [Issue(where, f"不是有效的 JSON (invalid JSON: {exc.msg})；应为一个 JSON 对象")],
            source,
        ) from None
    long = _find_long(value, ())
    if long is not None:
        at, found = long
        raise ProfileError(
            [
                Issue(
                    _path_text(at),
                    f"{found.digits} 位数字的整数 (integer too long)；应为至多 15 位有效数字的数"
                    "（证件号、账号等编码请加引号写成字符串）",
                )
            ],
            source,
        )
    return value


def _read(path: Path, source: str) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        found = "文件不存在" if isinstance(exc, FileNotFoundError) else f"无法读取：{exc.strerror}"
        message = f"{found}；应为一户或一家企业的 JSON 档案"
        raise ProfileError([Issue("$", message)], source) from None
    if len(raw) > MAX_BYTES:
        message = f"文件 {len(raw):,} 字节，超过上限 {MAX_BYTES:,} 字节；应为一户或一家企业的档案"
        raise ProfileError([Issue("$", message)], source)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        message = f"第 {exc.start} 字节不是 UTF-8 (not UTF-8)；请把文件另存为 UTF-8 编码"
        raise ProfileError([Issue("$", message)], source) from None


def _integer(text: str) -> int | _Long:
    return int(text) if len(text.lstrip("-")) <= MAX_DIGITS else _Long(len(text.lstrip("-")))


def _too_deep(text: str) -> tuple[Step, ...] | None:
    """The path to the first container nested deeper than `MAX_DEPTH`, or None."""
    stack: list[list[Any]] = []  # per open container: [is an object, the current key or index]
    last = ""
    for token in _TOKEN.finditer(text):
        t = token.group()
        if t in "[{":
            if len(stack) >= MAX_DEPTH:
                return tuple(step for _, step in stack)
            stack.append([t == "{", "" if t == "{" else 0])
        elif t in "]}":
            if stack:
                stack.pop()
        elif t == ",":
            if stack and not stack[-1][0]:
                stack[-1][1] += 1
        elif t == ":":
            if stack and stack[-1][0]:
                stack[-1][1] = _key(last)
        else:
            last = t
    return None


def _key(token: str) -> str:
    try:
        return str(json.loads(token))
    except json.JSONDecodeError:
        return token


def _find_long(value: Any, at: tuple[Step, ...]) -> tuple[tuple[Step, ...], _Long] | None:
    """The first integer kept aside by `_integer`, with its path (the nesting is bounded)."""
    if isinstance(value, _Long):
        return at, value
    if not isinstance(value, dict | list):
        return None
    for step, item in value.items() if isinstance(value, dict) else enumerate(value):
        found = _find_long(item, (*at, step))
        if found is not None:
            return found
    return None


def _path_text(at: tuple[Step, ...]) -> str:
    """`members[0].monthly_income`, as profile errors name places; `$` for the whole file."""
    text = ""
    for step in at:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text or "$"
