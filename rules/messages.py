"""The writer's wording of what Python's parser, pydantic and YAML report.

A policy writer never sees `JoinedStr`, `NamedExpr`, `instance of PolicyFile` or
`<block mapping start>`: each is said as what was written and what to write instead.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

# Python syntax a writer may type, by AST node name, as the writer would call it
NODES = {
    "JoinedStr": 'f-string (f"…")',
    "FormattedValue": 'f-string (f"…")',
    "NamedExpr": "`:=` 赋值 (assignment)",
    "Lambda": "lambda",
    "ListComp": "列表推导 (… for … in …)",
    "SetComp": "集合推导 (… for … in …)",
    "DictComp": "字典推导 (… for … in …)",
    "GeneratorExp": "生成器 (… for … in …)",
    "Subscript": "下标 x[…]",
    "Slice": "切片 x[a:b]",
    "Dict": "字典 {…: …}",
    "Set": "集合 {…}",
    "List": "列表 […]（列表只能跟在 in 后面）",
    "Tuple": "元组 (a, b)",
    "Starred": "星号 *x",
    "Await": "await",
    "Yield": "yield",
    "YieldFrom": "yield from",
}
OPERATORS = {
    "Mod": "%",
    "FloorDiv": "//",
    "MatMult": "@",
    "BitAnd": "&",
    "BitOr": "|",
    "BitXor": "^",
    "LShift": "<<",
    "RShift": ">>",
    "Is": "is",
    "IsNot": "is not",
}
ALLOWED = (
    "可以用：事实名、params.X、数字、带引号的文字、true/false、date(…)、== != < <= > >=、in、"
    "and/or/not、+ - * / **、any/all/count/sum(members, …)"
)

# what a writer types for an operator, and what the rule language wants instead
_TYPOS = (
    ("=>", "`=>` 不是运算符", "大于等于请写 `>=`"),
    ("=<", "`=<` 不是运算符", "小于等于请写 `<=`"),
    ("&&", "`&&` 不是运算符", "并且请写 `and`"),
    ("||", "`||` 不是运算符", "或者请写 `or`"),
    ("<>", "`<>` 不是运算符", "不等于请写 `!=`"),
)
_LONE_EQUALS = re.compile(r"(?<![=!<>])=(?!=)")
_FULL_WIDTH = {"“": '"', "”": '"', "‘": "'", "’": "'", "（": "(", "）": ")", "，": ","}
_FULL_WIDTH |= {"＝": "=", "＞": ">", "＜": "<", "！": "!", "＋": "+", "－": "-", "＊": "*"}


def reads_as_gb18030(data: bytes) -> bool:
    """Whether bytes that are not UTF-8 read as GB18030 (GBK): a file saved by Excel or Notepad
    on Chinese Windows. `data` may be the head of a file, cut inside a multi-byte character."""
    for cut in range(4):
        try:
            data[: len(data) - cut].decode("gb18030")
        except UnicodeDecodeError:
            continue
        return True
    return False


def node_problem(name: str) -> str:
    """The message for an AST node outside the whitelist, by its class name."""
    what = NODES.get(name, f"这种写法（{name}）")
    return f"表达式里不能用 {what}"


def operator_problem(name: str) -> tuple[str, str]:
    """The message and hint for an operator outside the whitelist, by its AST class name."""
    symbol = OPERATORS.get(name, name)
    if name in ("Is", "IsNot"):
        return f"`{symbol}` 不能用于比较", "相等请写 `==`，不等请写 `!=`"
    return f"运算符 `{symbol}` 不能用", "算术只有 + - * / 和指数为小常数的 **"


def syntax_problem(text: str, offset: int, python_msg: str) -> tuple[int, str, str]:
    """Where (0-based column), what and how to fix an expression Python cannot parse.

    Args:
        text: the expression (stripped).
        offset: Python's 1-based column of the problem (0 when unknown).
        python_msg: Python's own message, used only to recognise the case.
    """
    for char, ascii_char in _FULL_WIDTH.items():
        if char in text:
            return (
                text.index(char),
                f"全角符号 `{char}`",
                f"请改为半角 `{ascii_char}`（切换到英文输入法）",
            )
    for typo, message, hint in _TYPOS:
        if typo in text:
            return text.index(typo), message, hint
    lone = _LONE_EQUALS.search(text)
    if lone is not None:
        return lone.start(), "`=` 是赋值，不是比较", "比较是否相等请写 `==`（两个等号）"
    if "never closed" in python_msg or "unmatched" in python_msg or "does not match" in python_msg:
        return max(offset - 1, 0), "括号不成对", "每个 ( 都要有对应的 )"
    if text.rstrip().endswith(("and", "or", "not", "+", "-", "*", "/", "==", "<", ">", ",")):
        return len(text.rstrip()), "表达式没有写完", "运算符后面还缺一部分"
    if "!" in text:
        return text.index("!"), "`!` 不是运算符", "取反请写 `not`，不等于请写 `!=`"
    return max(offset - 1, 0), "表达式写法有误，无法解析", ALLOWED


def describe(value: Any) -> str:
    """A value as the writer wrote it in YAML (never a Python repr)."""
    if value is None:
        return "空值（什么也没写）"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal | date):
        return str(value)
    if isinstance(value, str):
        return f'"{value}"' if len(value) <= 60 else f'"{value[:57]}…"'
    if isinstance(value, list):
        return f"一个列表（{len(value)} 项）"
    if isinstance(value, dict):
        return f"一组键值（{', '.join(str(k) for k in list(value)[:4])}）"
    return type(value).__name__  # pragma: no cover - YAML gives no other types


_EXPECTED = {
    "dict_type": "一组 `键: 值`",
    "model_type": "一组 `键: 值`",
    "model_attributes_type": "一组 `键: 值`",
    "list_type": "一个列表（`- 项` 或 [a, b]）",
    "string_type": "文字",
    "bool_type": "true 或 false",
    "bool_parsing": "true 或 false",
    "int_type": "整数",
    "int_parsing": "整数",
    "decimal_type": "数字",
    "decimal_parsing": "数字",
    "date_type": "日期 YYYY-MM-DD",
    "date_parsing": "日期 YYYY-MM-DD",
    "date_from_datetime_parsing": "日期 YYYY-MM-DD",
    "date_from_datetime_inexact": "日期 YYYY-MM-DD（不带时间）",
}
_PATTERNS = {
    "id": "小写字母、数字和下划线，用点分段，如 household.dibao.water",
    "region": '2 到 12 位数字的行政区划代码前缀，加引号，如 "5206"',
}


def pydantic_problem(err: Any, key: str) -> tuple[str, str | None]:
    """The message and hint for one pydantic error (not `missing` or `extra_forbidden`).

    Args:
        err: the error as `ValidationError.errors()` gives it.
        key: the dotted path of keys where it is, e.g. `eligible.0.when`.
    """
    kind, found = err["type"], err.get("input")
    seen = f"实际为 {describe(found)}"
    if kind in _EXPECTED:
        if found is None and kind in ("dict_type", "model_type") and key == "(top level)":
            return (
                "文件是空的",
                "一个政策文件至少要有 id、title、department 等键，见 docs/rule-language.md",
            )
        hint = _quote_hint(found) if kind == "string_type" else None
        return f"`{key}` 应为{_EXPECTED[kind]}，{seen}", hint
    if kind == "string_pattern_mismatch":
        shape = _PATTERNS["region" if "regions" in key else "id"]
        return f"`{key}` 的写法不对，{seen}", f"应为{shape}"
    if kind == "literal_error":
        return f"`{key}` 只能是 {err['ctx']['expected']}，{seen}", None
    if kind in ("too_short", "string_too_short"):
        return f"`{key}` 不能为空", None
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, "), None
    return f"`{key}`：{err['msg']}，{seen}", None


def _quote_hint(found: Any) -> str | None:
    if isinstance(found, list | dict):
        return "YAML 把以 [ 或 { 开头的值读成列表或键值：整个表达式请加引号"
    return None


def yaml_problem(lines: list[str], line: int, problem: str) -> tuple[str, str]:
    """The message and hint for a YAML error at 0-based `line` of the file's `lines`.

    An indentation error is said as which line to indent, and by how much.
    """
    here = lines[line] if 0 <= line < len(lines) else ""
    above = next((i for i in range(line - 1, -1, -1) if _content(lines[i])), None)
    indent = len(here) - len(here.lstrip(" "))
    if "\t" in here[: indent + 1]:
        return "行首有制表符 (Tab)", "YAML 只能用空格缩进"
    opens_block = above is not None and lines[above].rstrip().endswith(":")
    if above is not None and not opens_block and _content(here) and _is_key(here):
        want = _key_column(lines[above])
        if want is not None and indent != want and ":" in here:
            key = here.strip().split(":")[0].lstrip("- ")
            return (
                f"第 {line + 1} 行的缩进不对：`{key}:` 前有 {indent} 个空格",
                f"与第 {above + 1} 行的键对齐，缩进 {want} 个空格",
            )
    value = re.search(r":\s+([\[{*&!%@`|>])", here)
    if value is not None and not here.rstrip().endswith(("]", "}")):
        return (
            f"第 {line + 1} 行的值以 `{value.group(1)}` 开头，YAML 把它当作特殊符号",
            "给整个值加引号",
        )
    return (
        f"YAML 格式有误（{_plain(problem)}）",
        "检查缩进、冒号和引号；值里有 `: `、`#`，或以 [ { * & ! 开头时，整个值要加引号",
    )


def _content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _is_key(line: str) -> bool:
    return re.match(r"^\s*(- )?[\w.\-\"']+\s*:", line) is not None


def _key_column(line: str) -> int | None:
    """The column of the key a line holds (after a `- `), or None for a line of its own."""
    found = re.match(r"^(\s*(?:- )?)[\w.\-\"']+\s*:", line)
    return len(found.group(1)) if found else None


def _plain(problem: str) -> str:
    """PyYAML's wording with its token names said plainly."""
    found = re.fullmatch(r"expected (.*), but found (.*)", problem)
    if found:
        problem = f"此处应为 {found.group(1)}，实际是 {found.group(2)}"
    for token, plain in (
        ("<block mapping start>", "新的键"),
        ("<block end>", "本段结束"),
        ("<scalar>", "一个值"),
        ("<block sequence start>", "新的列表"),
        ("mapping values are not allowed here", "这里不能出现 `键:`"),
        ("found unexpected end of stream", "文件在引号或括号闭合之前就结束了"),
        ("could not find expected ':'", "缺少冒号 `:`"),
        ("found unknown escape character", "双引号里有未知的转义字符（\\ 要写成 \\\\）"),
        ("the node content", "一个值"),
        ("<stream end>", "文件结尾"),
        ("<flow sequence end>", "]"),
        ("<flow mapping end>", "}"),
    ):
        problem = problem.replace(token, plain)
    return problem
