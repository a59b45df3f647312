"""Logging that never writes a full ID number (RELIABILITY P1): one filter, one formatter.

Everything ID-shaped (`matcher.profiles.masking.ID_SHAPE`: 18 characters or 15 digits, valid or
not; longer runs of digits too) is masked with the one masking function,
`matcher.profiles.masking.mask_ids_in_text` (`110***********002X`):

- `MaskIdsFilter` renders a record's message with its args, and its traceback, and masks them,
  so every handler after it sees only masked text (`record.args` is emptied: it may hold IDs);
- `MaskingFormatter` masks the whole formatted line, tracebacks and stack included (an
  exception's message can quote the value it refused);
- `configure_logging(level)` puts both on one stderr handler of the root logger, and masks
  records as they are created, so handlers added later by libraries see masked text too.

    configure_logging("INFO")          # once, where a command or the server starts
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from matcher.profiles.masking import mask_ids_in_text

__all__ = ["MaskIdsFilter", "MaskingFormatter", "configure_logging", "mask_record"]

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_installed: dict[str, Any] = {}
_PLAIN = logging.Formatter()


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask every ID number in a record's message and args, in place; returns the record.

    The message is rendered with its args first (an ID may sit in either, and `%d` would
    print one held as an int), then masked; `args` becomes empty so it is not rendered again.
    The exception text is rendered and masked too: every formatter reuses `exc_text`.
    """
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # a bad format string: mask what there is, never fail
        message = f"{record.msg} {record.args!r}"
    record.msg = mask_ids_in_text(message)
    record.args = None
    if record.exc_info and not record.exc_text:  # formatters reuse this cached text
        record.exc_text = _PLAIN.formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = mask_ids_in_text(record.exc_text)
    if record.stack_info:
        record.stack_info = mask_ids_in_text(record.stack_info)
    return record


class MaskIdsFilter(logging.Filter):
    """A filter that masks ID numbers in every record it sees and lets every record through."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record (see `mask_record`); always True."""
        mask_record(record)
        return True


class MaskingFormatter(logging.Formatter):
    """A formatter whose output is masked as a whole: message, exception text and stack."""

    def format(self, record: logging.LogRecord) -> str:
        """Format as `logging.Formatter` does, then mask every ID number in the result."""
        return mask_ids_in_text(super().format(record))


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is now (tests and CLI runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _masking_factory(create: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return mask_record(create(*args, **kwargs))

    make.zhida_masking = True  # type: ignore[attr-defined]
    return make


def configure_logging(level: int | str = "WARNING") -> logging.Handler:
    """Log to stderr at `level` with ID numbers masked; calling it again only changes the level.

    Args:
        level: a logging level, as a number or a name (`"INFO"`).

    Returns:
        The root logger's masking handler.
    """
    root = logging.getLogger()
    handler = _installed.get("handler")
    if handler is None:
        handler = _StderrHandler()
        handler.addFilter(MaskIdsFilter())
        handler.setFormatter(MaskingFormatter(FORMAT))
        root.addHandler(handler)
        _installed["handler"] = handler
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "zhida_masking", False):
        logging.setLogRecordFactory(_masking_factory(factory))
    root.setLevel(level.upper() if isinstance(level, str) else level)
    return handler
