"""How the writer's pages lay out what the store and the rule service return (no decisions).

- `catalogue_rows`: the API's policy rows (`matcher.explain.catalogue_data.policy_rows`), each
  with its amount formula as written and as it reads today (parameters put in).
- `reference_parts`: a parameter's reference as text and links — a policy file's `reference`
  is one string; any `http(s)://…` in it (a document's address, `#page=12` kept) is a link.
- `source_lines`: a rule file's lines, ID numbers masked, each with the findings and failing
  cases placed on it, the column a finding names picked out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from matcher.explain.catalogue_data import policy_rows
from matcher.explain.report import period_label, unit_label
from matcher.profiles.masking import mask_ids_in_text
from rules import ir
from rules.catalogue import Catalogue, CompiledPolicy

__all__ = [
    "Line",
    "Mark",
    "amount_summary",
    "catalogue_rows",
    "impact_rows",
    "in_force_since",
    "pretty",
    "reference_parts",
    "rule_text",
    "source_lines",
]

_LINK = re.compile(r"https?://[^\s，。；、（）()<>\"'“”]+")


def amount_summary(policy: CompiledPolicy, on: date) -> dict[str, str] | None:
    """The benefit's formula as written, as it reads on `on` (the parameters' values put in),
    and its unit per period (`元/月`); None for a policy that pays no amount."""
    benefit = policy.spec.benefit
    if benefit is None:
        return None
    bound = policy.bind(on)
    per = period_label(benefit.period)
    unit = unit_label(benefit.unit) or benefit.unit
    return {
        "formula": str(benefit.amount),
        "today": ir.to_text(bound.amount) if bound and bound.amount is not None else "",
        "unit": unit + ("" if benefit.period == "once" else f"/{per}"),
        "period": per,
    }


def catalogue_rows(catalogue: Catalogue, on: date) -> list[dict[str, Any]]:
    """The policies as the API lists them, each with `amount` (`amount_summary`)."""
    return [
        {**row, "amount": amount_summary(catalogue.policies[row["id"]], on)}
        for row in policy_rows(catalogue)
    ]


def in_force_since(policy: CompiledPolicy, on: date) -> dict[str, str | None]:
    """Per parameter, the start (ISO) of its value in force on `on` (None: none yet)."""
    since: dict[str, str | None] = {}
    for name, parameter in policy.spec.parameters.items():
        start = max((d for d in parameter.values if d <= on), default=None)
        since[name] = start.isoformat() if start else None
    return since


def impact_rows(answer: Mapping[str, Any], catalogue: Catalogue) -> list[dict[str, Any]]:
    """The impact answer's policies (`draft_impact`), each titled (from the catalogue served,
    when it holds the policy) and each township and village row labelled by its name."""
    served = catalogue.policies
    return [
        {
            **p,
            "title": served[p["policy_id"]].spec.title if p["policy_id"] in served else "",
            "townships": [_labelled(r) for r in p["townships"]],
            "villages": [_labelled(r) for r in p["villages"]],
        }
        for p in answer["policies"]
    ]


def _labelled(row: Mapping[str, Any]) -> dict[str, Any]:
    return {**row, "label": row["name"] or row["region"]}


def pretty(value: Any) -> str:
    """Data as indented JSON, Chinese left readable (a test case's profile)."""
    return json.dumps(value, ensure_ascii=False, indent=2)


def reference_parts(text: str) -> list[tuple[str, str | None]]:
    """`text` as (piece, link or None) pieces: each web address in it is a link."""
    parts: list[tuple[str, str | None]] = []
    at = 0
    for found in _LINK.finditer(text):
        if found.start() > at:
            parts.append((text[at : found.start()], None))
        parts.append((found.group(), found.group()))
        at = found.end()
    if at < len(text):
        parts.append((text[at:], None))
    return parts


def rule_text(policy: CompiledPolicy) -> str | None:
    """The policy file's text, ID numbers masked (None when it can no longer be read)."""
    try:
        text = Path(policy.path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return mask_ids_in_text(text)


@dataclass(frozen=True)
class Mark:
    """A finding placed on a line: `error`, `warning` or `case` (a failing test case)."""

    kind: str
    col: int
    where: str
    message: str


@dataclass
class Line:
    """One line of a source listing: its number, its text around the marked column."""

    number: int
    before: str
    at: str
    after: str
    marks: list[Mark] = field(default_factory=list)

    @property
    def kind(self) -> str:
        """The gravest mark on the line (`error` over `case` over `warning`), or ''."""
        kinds = {m.kind for m in self.marks}
        return next((k for k in ("error", "case", "warning") if k in kinds), "")


def _marks(report: Mapping[str, Any], tests: Mapping[str, Any] | None) -> list[tuple[int, Mark]]:
    found = [
        (int(d["line"]), Mark(d["severity"], int(d["col"]), d["where"],
                              d["message"] + (f"（{d['hint']}）" if d["hint"] else "")))
        for d in report.get("diagnostics", [])
    ]  # fmt: skip
    for case in (tests or {}).get("cases", []):
        line, col = _line_col(str(case["where"]))
        if not case["passed"] and line:
            said = f"用例「{case['name']}」未通过：{'；'.join(case['problems'])}"
            found.append((line, Mark("case", col, case["where"], said)))
    return found


def _line_col(where: str) -> tuple[int, int]:
    """`water.yaml:29:5` → (29, 5); (0, 0) when it names no line."""
    parts = where.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return int(parts[1]), int(parts[2])
    return 0, 0


def source_lines(
    text: str, report: Mapping[str, Any], tests: Mapping[str, Any] | None = None
) -> list[Line]:
    """The lines of `text` (IDs masked), each with the lint findings of `report` and the
    failing cases of `tests` (both as the API's `DraftReportOut`) that name it; a finding's
    column is picked out on its line."""
    by_line: dict[int, list[Mark]] = {}
    for number, mark in _marks(report, tests):
        by_line.setdefault(number, []).append(mark)
    lines = mask_ids_in_text(text).split("\n")
    out = [_line(i, body, by_line.get(i, [])) for i, body in enumerate(lines, start=1)]
    beyond = [m for n, ms in sorted(by_line.items()) if n > len(lines) for m in ms]
    if beyond and out:  # a finding after the last line (e.g. "unexpected end of file")
        out[-1].marks.extend(beyond)
    return out


def _line(number: int, body: str, marks: Iterable[Mark]) -> Line:
    marks = list(marks)
    col = min((m.col for m in marks if m.kind != "case" and m.col > 0), default=0)
    if col and col <= len(body):
        return Line(number, body[: col - 1], body[col - 1], body[col:], marks)
    return Line(number, body, "", "", marks)
