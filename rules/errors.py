"""The exception tree of zhida, drawn once.

ZhidaError              base of every error zhida raises on purpose
├── RuleError           a rule file, bundle or fact catalogue is wrong (carries file:line:col)
│   └── ExpressionError an expression cannot be parsed or type-checked (position in the file)
├── ProfileError        a household or enterprise profile is invalid (carries JSON paths)
│                       (matcher.profiles.errors)
├── EngineError         an engine could not evaluate (e.g. durable-rules error 303)
│                       (matcher.profiles.errors)
├── CalendarUnknown     a date in a year whose holiday schedule is not known (rules.workdays)
├── SheetError          a whole spreadsheet is refused: too big, damaged, not a sheet
│                       (sheets.guards)
└── DatabaseUnavailable the database cannot be opened: unsupported URL, server down, a file
                        that is not SQLite (store.db)
"""

from __future__ import annotations

from dataclasses import dataclass


class ZhidaError(Exception):
    """Base of every error zhida raises on purpose."""


@dataclass(frozen=True)
class Location:
    """Where in a file: 1-based line and column."""

    file: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{self.col}"


class RuleError(ZhidaError):
    """Raised when a rule file, bundle or the fact catalogue is wrong; names where and what."""

    def __init__(self, location: Location, message: str, hint: str | None = None) -> None:
        self.location = location
        self.message = message
        self.hint = hint
        text = f"{location}: {message}"
        super().__init__(f"{text} ({hint})" if hint else text)


class ExpressionError(RuleError):
    """Raised when an expression cannot be parsed or does not type-check."""
