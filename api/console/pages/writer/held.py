"""The drafts a writer has checked, kept in their console session between the steps.

    key = keep(request, text, name, ok=report_ok)   # after the check; the page carries `key`
    draft = held(request, key)                      # the impact preview and publish read it

Why the session and not a hidden form field: a draft's test cases hold resident ID numbers
(made up, but with valid check digits), and no page may show a full ID number (RELIABILITY
P1) — a hidden field is still in the page. The session lives on the server
(`api.console`'s server-side sessions), ends at logout, and is the writer's own. The page
carries only the draft's key (a digest of its name and text), so what is previewed and
published is exactly what was checked, even with several tabs open: the last `KEEP` checked
drafts are kept, the oldest dropped first.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from api.console.web import HtmlRequest
from api.problems import Problem, ProblemError

__all__ = ["KEEP", "Held", "held", "keep"]

KEEP = 3
_KEY = "writer_drafts"


@dataclass(frozen=True)
class Held:
    """A checked draft: its text, file name, and whether lint and its cases passed."""

    key: str
    text: str
    name: str
    ok: bool


def _key(text: str, name: str) -> str:
    return hashlib.sha256(f"{name}\0{text}".encode()).hexdigest()[:20]


def keep(request: HtmlRequest, text: str, name: str, *, ok: bool) -> Held:
    """Keep a checked draft in the session (the latest `KEEP`); its key for the next steps."""
    key = _key(text, name)
    drafts = {k: v for k, v in dict(request.session.get(_KEY) or {}).items() if k != key}
    drafts[key] = {"text": text, "name": name, "ok": ok}
    kept = dict(list(drafts.items())[-KEEP:])
    request.set_session({**request.session, _KEY: kept})
    return Held(key, text, name, ok)


def held(request: HtmlRequest, key: str) -> Held:
    """The checked draft `key` of this session.

    Raises:
        ProblemError: 404 when the session no longer holds it (logged out, or more drafts
            checked since).
    """
    found = dict(request.session.get(_KEY) or {}).get(key)
    if not isinstance(found, dict):
        said = "这份草稿已不在本次登录中（已重新登录，或之后又检查了多份草稿）：请重新上传并检查"
        raise ProblemError(404, said, [Problem("draft", said)])
    return Held(key, str(found["text"]), str(found["name"]), bool(found["ok"]))
