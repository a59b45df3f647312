"""A safe YAML loader for rule files: positions kept, and everything risky refused.

Refused, each with `file:line:col`: object tags (`!!python/…`) and every non-core tag, aliases and
anchors (billion laughs), duplicate keys (PyYAML silently keeps the last), files over `MAX_BYTES`,
and identifier-like values (`regions`, `region_code`, `credit_code`, `id_number`) that YAML would
turn into numbers (`[5206]`, `010`). So are a file that is not UTF-8 (a policy saved as GBK on
Chinese Windows), dates that do not exist (`2025-13-01`, `2025-02-30`), and nesting deeper than
`MAX_DEPTH` (PyYAML composes recursively: 600 `[` would end in a RecursionError).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, ScalarEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from rules.errors import Location, RuleError
from rules.messages import reads_as_gb18030, yaml_problem
from rules.numbers import SIGNIFICANT, NumberError, read_number

MAX_BYTES = 256 * 1024
MAX_DEPTH = 64  # a policy's deepest part (tests → household → members → one member) is 6
CODE_KEYS = frozenset({"region_code", "credit_code", "id_number", "household_id"})
CODE_LIST_KEYS = frozenset({"regions"})
_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_CORE}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}
Path_ = tuple[Any, ...]


@dataclass
class Loaded:
    """A parsed file: the data and where each value starts (by path of keys and indices)."""

    file: str
    data: Any
    positions: dict[Path_, Location] = field(default_factory=dict)
    quoted: set[Path_] = field(default_factory=set)
    keys: dict[Path_, Location] = field(default_factory=dict)

    def where(self, path: Path_) -> Location:
        """The position of the value at `path`, or of its closest ancestor that has one."""
        for end in range(len(path), -1, -1):
            found = self.positions.get(tuple(path[:end]))
            if found is not None:
                return found
        return Location(self.file, 1, 1)

    def key_where(self, path: Path_) -> Location:
        """The position of the key that ends `path` (for errors about the key itself)."""
        return self.keys.get(tuple(path)) or self.where(path)

    def expression_start(self, path: Path_) -> Location:
        """Where an expression's first character is (after an opening quote)."""
        loc = self.where(path)
        if tuple(path) in self.quoted:
            return Location(loc.file, loc.line, loc.col + 1)
        return loc


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses aliases, anchors and deep nesting as the events arrive."""

    depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if not isinstance(event, CollectionStartEvent):
            return self._compose(parent, index, event)
        if self.depth >= MAX_DEPTH:
            raise _refusal(
                event.start_mark,
                f"嵌套超过 {MAX_DEPTH} 层 (nested too deeply)",
                f"规则文件的列表与映射最多嵌套 {MAX_DEPTH} 层；检查是否多写了 `[` 或 `{{`",
            )
        self.depth += 1
        try:
            return self._compose(parent, index, event)
        finally:
            self.depth -= 1

    def _compose(self, parent: Node | None, index: Any, event: Any) -> Node | None:
        if isinstance(event, AliasEvent):
            raise _refusal(
                event.start_mark,
                "YAML aliases (*name) are not allowed",
                "write the value out in full",
            )
        if isinstance(event, ScalarEvent | CollectionStartEvent) and event.anchor is not None:
            raise _refusal(
                event.start_mark,
                "YAML anchors (&name) are not allowed",
                "write the value out in full",
            )
        return super().compose_node(parent, index)


# YAML 1.1 reads `on`, `off`, `yes`, `no` as booleans, which would turn the `on:` of a test case
# into True; rule files take YAML 1.2's booleans only.
_Loader.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != f"{_CORE}bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    f"{_CORE}bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _construct_decimal(loader: yaml.SafeLoader, node: ScalarNode) -> Any:
    """A YAML float as an exact decimal (`0.4556`, never the binary float nearest to it)."""
    text = str(node.value).replace("_", "")
    try:
        return read_number(Decimal(text))
    except (ArithmeticError, NumberError):
        raise _refusal(
            node.start_mark,
            f"number {node.value} cannot be held exactly",
            f"write a finite number of at most {SIGNIFICANT} significant digits",
        ) from None


_Loader.add_constructor(f"{_CORE}float", _construct_decimal)

_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})")


def _construct_timestamp(loader: yaml.SafeLoader, node: ScalarNode) -> Any:
    """A YAML date, or a refusal naming what does not exist (`2025-13-01`, `2025-02-30`)."""
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        raise _refusal(
            node.start_mark,
            f"日期 {node.value} 不存在（{_why_no_date(str(node.value))}）(no such date)",
            "应为真实存在的日期 YYYY-MM-DD，如 2025-12-01",
        ) from None


def _why_no_date(text: str) -> str:
    found = _DATE.match(text)
    if found is None:  # pragma: no cover - the resolver only sends dates here
        return "无法读作日期"
    year, month, day = (int(g) for g in found.groups())
    if not 1 <= month <= 12:
        return f"月份 {month} 不在 1–12 之间"
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        return f"{year} 年 {month} 月只有 {days} 天，没有 {day} 日"
    return "时刻不存在"


_Loader.add_constructor(f"{_CORE}timestamp", _construct_timestamp)

_CLoader: Any = None
if getattr(yaml, "__with_libyaml__", False):

    class _CLoader(yaml.CSafeLoader):  # type: ignore[no-redef]
        """The same resolvers and constructors over libyaml (for files `_fast_node` passes)."""

    _CLoader.yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers
    _CLoader.yaml_constructors = _Loader.yaml_constructors


class _Refusal(Exception):
    def __init__(self, mark: Any, message: str, hint: str | None) -> None:
        self.mark, self.message, self.hint = mark, message, hint


def _refusal(mark: Any, message: str, hint: str | None = None) -> _Refusal:
    return _Refusal(mark, message, hint)


def load_file(path: Path | str, *, display: str | None = None) -> Loaded:
    """Read and safely parse one YAML file.

    Raises:
        RuleError: at `file:line:col` for anything refused or malformed.
    """
    name = display or str(path)
    raw = _read(Path(path), name)
    if len(raw) > MAX_BYTES:
        raise RuleError(
            Location(name, 1, 1),
            f"file is {len(raw)} bytes",
            f"rule files are limited to {MAX_BYTES} bytes",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _not_utf8(raw, exc.start, name) from None
    return load_text(text, name)


def _read(path: Path, name: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise RuleError(
            Location(name), "文件不存在 (no such file)", "应为一个已有的 .yaml 规则文件；检查路径"
        ) from None
    except IsADirectoryError:
        raise RuleError(
            Location(name), "这是一个文件夹，不是文件 (a folder)", "应为一个 .yaml 规则文件"
        ) from None
    except OSError as exc:
        raise RuleError(
            Location(name), f"无法读取 (cannot read): {exc.strerror}", "检查文件的读取权限"
        ) from None


def _not_utf8(raw: bytes, start: int, name: str) -> RuleError:
    """Where the first byte that is not UTF-8 is, and how to re-save the file as UTF-8."""
    before = raw[:start]
    line_start = before.rfind(b"\n") + 1
    col = len(before[line_start:].decode("utf-8", errors="replace")) + 1
    guess = "，像是 GBK/GB18030 编码" if reads_as_gb18030(raw) else ""
    return RuleError(
        Location(name, before.count(b"\n") + 1, col),
        f"文件不是 UTF-8 编码（字节 0x{raw[start]:02x}{guess}）(not UTF-8)",
        "请另存为 UTF-8：记事本“另存为”选编码 UTF-8；VS Code 右下角编码→“通过编码保存”→ UTF-8；"
        "或 iconv -f GB18030 -t UTF-8 旧文件 > 新文件",
    )


def load_text(text: str, name: str) -> Loaded:
    """Safely parse YAML text (see `load_file`)."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise RuleError(
            Location(name, 1, 1), "text too large", f"rule files are limited to {MAX_BYTES} bytes"
        )
    try:
        fast = _fast_node(text)
        loader: Any = fast[0] if fast else _Loader(text)
    except yaml.reader.ReaderError as exc:  # a control character: the reader refuses the text
        before = text[: max(exc.position, 0)]
        where = Location(name, before.count("\n") + 1, len(before) - before.rfind("\n"))
        raise RuleError(
            where,
            f"unprintable character U+{exc.character:04X} (不可打印的控制字符)",
            "remove it: a rule file is plain UTF-8 text",
        ) from None
    try:
        node = fast[1] if fast else loader.get_single_node()
        loaded = Loaded(name, None)
        loaded.data = _build(loader, node, (), loaded) if node is not None else None
        return loaded
    except _Refusal as exc:
        raise RuleError(_loc(name, exc.mark), exc.message, exc.hint) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line if mark is not None else -1
        message, hint = yaml_problem(text.splitlines(), line, str(exc.problem or exc.context))
        raise RuleError(_loc(name, mark), message, hint) from None
    except yaml.YAMLError as exc:
        raise RuleError(Location(name, 1, 1), f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()


def _fast_node(text: str) -> tuple[Any, Node | None] | None:
    """The file composed by libyaml when it is plainly clean, else None.

    libyaml composes ten times faster than the pure-Python loader (a catalogue loads in a
    fraction of the time), but composes aliases and deep nesting without asking. So its events
    are screened first; a file with an alias, an anchor, nesting over `MAX_DEPTH` or any YAML
    error goes to `_Loader`, which refuses it exactly as it always has (same place, same words).
    """
    if _CLoader is None:
        return None
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_CLoader):
            if isinstance(event, AliasEvent):
                return None
            if isinstance(event, ScalarEvent | CollectionStartEvent) and event.anchor is not None:
                return None
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    return None
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
        loader = _CLoader(text)
        return loader, loader.get_single_node()
    except yaml.YAMLError:
        return None


def _loc(name: str, mark: Any) -> Location:
    if mark is None:
        return Location(name, 1, 1)
    return Location(name, mark.line + 1, mark.column + 1)


def _build(loader: _Loader, node: Node, path: Path_, out: Loaded) -> Any:
    out.positions[path] = _loc(out.file, node.start_mark)
    if isinstance(node, ScalarNode):
        return _scalar(loader, node, path, out)
    if isinstance(node, SequenceNode):
        _check_tag(node, f"{_CORE}seq")
        return [_build(loader, item, (*path, i), out) for i, item in enumerate(node.value)]
    if isinstance(node, MappingNode):
        _check_tag(node, f"{_CORE}map")
        return _mapping(loader, node, path, out)
    raise _refusal(node.start_mark, "unsupported YAML node")  # pragma: no cover


def _check_tag(node: Node, allowed: str) -> None:
    if node.tag != allowed:
        raise _refusal(
            node.start_mark,
            f"YAML tag {node.tag!r} is not allowed",
            "rule files hold plain data: no tags",
        )


def _scalar(loader: _Loader, node: ScalarNode, path: Path_, out: Loaded) -> Any:
    if node.tag not in _SCALAR_TAGS:
        raise _refusal(
            node.start_mark,
            f"YAML tag {node.tag!r} is not allowed",
            "rule files hold plain data: no tags",
        )
    if node.style in ("'", '"'):
        out.quoted.add(path)
    value = loader.construct_object(node, deep=True)
    key = path[-1] if path else None
    parent = path[-2] if len(path) >= 2 else None
    is_code = key in CODE_KEYS or (isinstance(key, int) and parent in CODE_LIST_KEYS)
    if is_code and not isinstance(value, str):
        raise _refusal(
            node.start_mark,
            f"code {node.value} must be a quoted string",
            f'write "{node.value}": YAML reads unquoted digits as a number '
            "(and a leading 0 as octal)",
        )
    return value


def _mapping(loader: _Loader, node: MappingNode, path: Path_, out: Loaded) -> dict[Any, Any]:
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode):
            raise _refusal(key_node.start_mark, "mapping keys must be plain values")
        key = _scalar(loader, key_node, (*path, "<key>"), out)
        if not isinstance(key, Hashable):  # pragma: no cover
            raise _refusal(key_node.start_mark, "unhashable key")
        if key in result:
            first = out.keys[(*path, key)]
            raise _refusal(
                key_node.start_mark,
                f"duplicate key {key!r}",
                f"first defined at line {first.line}; YAML would silently keep the last one",
            )
        out.keys[(*path, key)] = _loc(out.file, key_node.start_mark)
        result[key] = _build(loader, value_node, (*path, key), out)
    return result
