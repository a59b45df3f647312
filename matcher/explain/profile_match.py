"""One profile matched against the catalogue, explained, as data (`POST /api/match`).

    data = match_profile(catalogue, raw, on, at="profile")

What `zhida match --explain` prints, as JSON-ready data (`matcher.explain.report.match_dict`):
per policy its status, amount (a string to the fen), each condition's verdict with the values
seen and its threshold, the facts still missing; the bundles; and 一次性告知 (`asks`: which
fact, of whom, for which policies). A bad profile raises a `ProfileError` whose JSON paths start
at `at` (`profile.members[2].id_number`), so an error names the place in the request body. No ID
number leaves unmasked: the values seen are masked as text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import Any

from matcher.explain.asks import asks_for
from matcher.explain.report import match_dict
from matcher.interpreter.compiled import match_compiled
from matcher.profiles.errors import Issue, ProfileError
from matcher.profiles.masking import mask_ids_in_text
from matcher.profiles.subjects import facts_for, kind_of_profile
from rules.catalogue import Catalogue

__all__ = ["EARLIEST", "LATEST", "match_profile", "under"]

EARLIEST, LATEST = date(1900, 1, 1), date(2199, 12, 31)  # an evaluation date outside is a typo


def under(at: str, path: str) -> str:
    """A profile's JSON path as a place in the enclosing document: `profile.members[2].id`."""
    if not at or path in ("", "$"):
        return at or path
    if path.startswith("第 "):  # "第 3 行第 5 列": a place in a file's text, not a path
        return f"{at}（{path}）"
    return f"{at}{path}" if path.startswith("[") else f"{at}.{path}"


def match_profile(
    catalogue: Catalogue, raw: object, on: date, *, at: str = "profile"
) -> dict[str, Any]:
    """Match one household or enterprise profile and explain every policy's verdict.

    Args:
        catalogue: the catalogue to match against.
        raw: the profile, as decoded JSON (`zhida match` reads the same shape from a file).
        on: the evaluation date.
        at: where the profile sits in the request (prefixed to every error's JSON path).

    Returns:
        `match_dict`'s data, with `subject` (household or enterprise) added and every value
        seen masked.

    Raises:
        ProfileError: every problem of the profile, at its JSON path under `at`; an evaluation
            date outside `EARLIEST`–`LATEST`, at `on`.
    """
    if not EARLIEST <= on <= LATEST:
        message = f"{on}：评估日期应在 {EARLIEST} 至 {LATEST} 之间（YYYY-MM-DD）"
        raise ProfileError([Issue("on", message)])
    if not isinstance(raw, Mapping):
        found = type(raw).__name__
        raise ProfileError(
            [Issue(at or "$", f"应为一个 JSON 对象（一户或一家企业），得到 {found}")]
        )
    subject = kind_of_profile(raw).name
    try:
        facts = facts_for(raw, subject, catalogue.facts, on, source=at or "profile")
    except ProfileError as exc:
        issues = [replace(i, path=under(at, i.path)) for i in exc.issues]
        raise ProfileError(issues, exc.source) from None
    result = match_compiled(catalogue, facts, on, subject)
    data = match_dict(result, asks_for(catalogue, facts, on, result.results), catalogue)
    for policy in data["results"]:
        for condition in policy["conditions"]:
            seen = condition["seen"]
            condition["seen"] = {k: mask_ids_in_text(v) for k, v in seen.items()}
    return {"subject": subject, **data}
