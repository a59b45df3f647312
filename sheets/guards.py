"""Upload guards (RELIABILITY U1): refuse a spreadsheet that would exhaust memory, before parsing.

An xlsx file is a zip of XML parts. Before python-calamine sees it, the zip directory is read:
a declared uncompressed total over the cap or a compression ratio over the limit is refused.
Declared sizes can lie, so every part is then decompressed in a stream, counting real bytes and
stopping at the cap; XML parts that declare a DOCTYPE or an ENTITY (the billion-laughs attack)
are refused too — spreadsheets never need them. A damaged part (a flipped byte, a CRC or a size
that does not match what it holds) is refused as a damaged file, naming the part.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from matcher.profiles.masking import mask_ids_in_text
from rules.errors import ZhidaError

__all__ = ["Limits", "SheetError", "check_xlsx"]

_MB = 1024 * 1024
_STREAM_BLOCK = 1 << 20


class SheetError(ZhidaError):
    """Raised when a whole spreadsheet is refused (too big, a zip bomb, not a sheet, no header).

    Its message is masked (`mask_ids_in_text`): it names the file, which may be named after a
    person, and may quote what a reader refused.
    """

    def __init__(self, message: str) -> None:
        super().__init__(mask_ids_in_text(message))


@dataclass(frozen=True)
class Limits:
    """Caps on one upload. The defaults are those of a web upload (RELIABILITY U1)."""

    max_rows: int = 1_100_000
    max_file_bytes: int = 2048 * _MB
    max_xlsx_uncompressed: int = 50 * _MB
    max_ratio: float = 100.0
    max_cell_chars: int = 2000


def _declared(info: zipfile.ZipInfo, limits: Limits, name: str) -> None:
    if info.compress_size and info.file_size / info.compress_size > limits.max_ratio:
        ratio = info.file_size / info.compress_size
        raise SheetError(
            f"{name}: part {info.filename} expands {ratio:.0f}:1 (limit {limits.max_ratio:.0f}:1); "
            "this looks like a zip bomb, not a spreadsheet"
        )


def _stream(book: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int, name: str) -> int:
    """Decompress one part, counting real bytes; a damaged part is refused as such."""
    try:
        seen = _inflate(book, info, budget, name)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError) as exc:
        raise _damaged(name, info, f"无法解压：{exc}") from None
    if seen != info.file_size:
        raise _damaged(name, info, f"声明 {info.file_size:,} 字节，实际解压出 {seen:,} 字节")
    return seen


def _damaged(name: str, info: zipfile.ZipInfo, found: str) -> SheetError:
    return SheetError(
        f"{name}：文件已损坏 (corrupt xlsx)，其中的 {info.filename} {found}；应为完整的 .xlsx："
        "请用 Excel 或 WPS 打开后另存为 .xlsx，或重新复制、下载原文件"
    )


def _inflate(book: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int, name: str) -> int:
    """Decompress one part, counting real bytes; refuse entity declarations in XML."""
    seen = 0
    with book.open(info) as part:
        while block := part.read(_STREAM_BLOCK):
            if seen == 0 and info.filename.endswith(".xml") and (b"<!DOCTYPE" in block[:4096]):
                raise SheetError(
                    f"{name}: part {info.filename} declares a DOCTYPE (XML entities); "
                    "spreadsheets never need one, and entity expansion can exhaust memory"
                )
            if b"<!ENTITY" in block:
                raise SheetError(f"{name}: part {info.filename} declares an XML ENTITY; refused")
            seen += len(block)
            if seen > budget:
                raise SheetError(f"{name}: expands beyond {budget // _MB} MB while reading")
    return seen


def check_xlsx(path: Path, limits: Limits) -> None:
    """Inspect an xlsx file's zip structure and refuse bombs before parsing it.

    Args:
        path: the .xlsx file.
        limits: the caps (declared and real uncompressed total, ratio per part and overall).

    Raises:
        SheetError: when the file is not a zip, declares or really expands beyond the cap,
            or a part's compression ratio is over the limit.
    """
    name = path.name
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise SheetError(
            f"{name}: {size // _MB} MB is over the {limits.max_file_bytes // _MB} MB cap"
        )
    try:
        book = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise SheetError(
            f"{name}：不是 xlsx 文件，不是 zip 压缩包 (not an xlsx file)；应为 .xlsx："
            "请用 Excel 或 WPS 另存为 .xlsx"
        ) from None
    with book:
        infos = book.infolist()
        total = sum(i.file_size for i in infos)
        cap = limits.max_xlsx_uncompressed
        if total > cap:
            raise SheetError(
                f"{name}: declares {total / _MB:.1f} MB uncompressed (cap {cap // _MB} MB); "
                "split the sheet into smaller files"
            )
        if total / max(1, size) > limits.max_ratio:
            raise SheetError(
                f"{name}: expands {total / max(1, size):.0f}:1 (limit {limits.max_ratio:.0f}:1); "
                "this looks like a zip bomb, not a spreadsheet"
            )
        budget = cap
        for info in infos:
            _declared(info, limits, name)
            budget -= _stream(book, info, budget, name)
