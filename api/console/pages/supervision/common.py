"""What the supervision pages share: their filters, read from the query string, and the answer.

Filters arrive as the filter form sends them — every field, empty ones as `""` (htmx and a
plain form both send empty inputs) — so each is read here rather than by a typed query
parameter (which would refuse an empty date with a 400 the form could not show beside its
field). A wrong value is a 400 problem naming the form field (`on`, `region`, `policy`, …),
and the page shows the form again with the message beside that field.

The region asked is narrowed to the viewer's county exactly as the API narrows it
(`store.supervision.narrowed`): a region outside the county sees nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any
from urllib.parse import urlencode

from litestar.response import Template

from api.console.web import HtmlRequest, is_htmx, page, page_needs
from api.params import DAY_FIRST, DAY_LAST, ID_MAX
from api.problems import Problem, ProblemError
from rules.clock import today
from store.supervision import narrowed

__all__ = [
    "EXPORT_MAX",
    "GUARD",
    "PAGE_SIZE",
    "Filters",
    "answer",
    "blank",
    "read_filters",
]

GUARD = [page_needs("supervisor", "county")]  # the API's supervision routes' roles
PAGE_SIZE = 50
EXPORT_MAX = 100_000  # rows in one export; a county's lists are far shorter
MAX_DAYS = 3653
_TEXT_MAX = 200


@dataclass(frozen=True)
class Filters:
    """The filters of a supervision page, read (`read_filters`), with what was typed."""

    on: date
    region: str | None = None
    prefix: str | None = None  # the region narrowed to the viewer's county; None: nothing
    policy: str | None = None
    days: int = 30
    notice: str | None = None
    claim: str | None = None
    offset: int = 0
    typed: dict[str, str] = field(default_factory=dict)

    def query(self, **changes: Any) -> str:
        """The query string of these filters (empty ones left out), with `changes` applied;
        `offset` is dropped unless changed (a new filter starts at the first page)."""
        values = {k: v for k, v in self.typed.items() if k != "offset"}
        values.update({k: str(v) for k, v in changes.items()})
        kept = {k: v for k, v in values.items() if v not in ("", "None")}
        return "?" + urlencode(kept) if kept else ""

    def value(self, name: str) -> str:
        """What the form shows in field `name`."""
        return self.typed.get(name, "")


_LABELS = {"on": "统计日期", "region": "地区", "policy": "政策", "days": "符合满（天）",
          "notice": "通知", "claim": "申领", "offset": "页码"}  # fmt: skip


def _fail(errors: list[Problem]) -> None:
    if errors:
        detail = "；".join(f"{_LABELS.get(e.path, e.path)}{e.message}" for e in errors)
        raise ProblemError(400, f"筛选条件有误：{detail}", errors)


def _day(text: str, errors: list[Problem]) -> date:
    if not text:
        return today()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        errors.append(Problem("on", f"「{text[:20]}」不是日期：应为 YYYY-MM-DD，如 2025-03-01"))
        return today()
    if not DAY_FIRST <= day <= DAY_LAST:
        errors.append(Problem("on", f"{text}：应为 {DAY_FIRST.year}–{DAY_LAST.year} 年之间的日期"))
    return day


def _count(name: str, text: str, top: int, default: int, errors: list[Problem]) -> int:
    if not text:
        return default
    if not text.isascii() or not text.isdigit() or int(text) > top:
        errors.append(Problem(name, f"「{text[:20]}」：应为 0 至 {top} 之间的整数"))
        return default
    return int(text)


def _choice(name: str, text: str, allowed: Collection[str], errors: list[Problem]) -> str | None:
    if text and text not in allowed:
        errors.append(Problem(name, f"「{text[:40]}」：不在可选项中，应从列表中选择"))
        return None
    return text or None


_FIELDS = ("on", "region", "policy", "days", "notice", "claim", "offset")


def read_filters(
    region_of_viewer: str,
    asked: Mapping[str, str],
    *,
    policies: Collection[str] = (),
    stages: tuple[Collection[str], Collection[str]] = ((), ()),
) -> Filters:
    """The filters typed into a page's form, checked; a 400 problem naming each bad field.

    Args:
        region_of_viewer: the viewer's region (a county's 6 digits).
        asked: the query string's values by field (`on`, `region`, `policy`, `days`,
            `notice`, `claim`, `offset`); a missing or empty one is not asked.
        policies: the policy ids the `policy` field may name.
        stages: the values `notice` and `claim` may take.

    Raises:
        ProblemError: 400, one `errors` entry per bad field (its name as `path`).
    """
    typed = {k: asked.get(k, "").strip()[:_TEXT_MAX] for k in _FIELDS}
    errors: list[Problem] = []
    day = _day(typed["on"], errors)
    region = typed["region"]
    if region and not (region.isascii() and region.isdigit() and len(region) <= 12):
        said = f"「{region[:20]}」：区划代码应为 1–12 位数字，如 520602101"
        errors.append(Problem("region", said))
        region = ""
    filters = Filters(
        on=day, region=region or None, prefix=narrowed(region_of_viewer, region or None),
        policy=_choice("policy", typed["policy"], policies, errors),
        days=_count("days", typed["days"], MAX_DAYS, 30, errors),
        notice=_choice("notice", typed["notice"], stages[0], errors),
        claim=_choice("claim", typed["claim"], stages[1], errors),
        offset=_count("offset", typed["offset"], ID_MAX, 0, errors),
        typed={k: v for k, v in typed.items() if v},
    )  # fmt: skip
    _fail(errors)
    return filters


def blank(region_of_viewer: str, typed: dict[str, str]) -> Filters:
    """Filters that select nothing, showing what was typed (for a form shown with problems)."""
    kept = {k: v.strip()[:_TEXT_MAX] for k, v in typed.items() if v and v.strip()}
    return replace(Filters(on=today(), typed=kept), prefix=None)


def answer(request: HtmlRequest, name: str, *, status: int = 200, **context: Any) -> Template:
    """The page `console/supervision/<name>.html`, or for an htmx request (not a history
    restore, which wants the whole page) its report part `_<name>.html`."""
    part = is_htmx(request) and not request.headers.get("hx-history-restore-request")
    template = f"console/supervision/{'_' if part else ''}{name}.html"
    return page(request, template, status=status, **context)
