"""Charts drawn on the server as SVG: no chart library, nothing to fetch, prints as it shows.

`bars(rows, series)` lays out a grouped horizontal bar chart: one group per row (a policy, a
township), one bar per series (eligible, notified, claimed, paid). The template draws the
`<rect>`s; every bar carries its value in `data-value` and as visible text, so what the chart
shows is exactly the numbers the table beside it holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = ["Bar", "Chart", "bars"]

COLOURS = ("#2f6fb3", "#e08a1e", "#3a9a5b", "#b8433a", "#7a5aa6", "#6b7280")
ROW_GAP = 10
BAR = 14
LABEL_WIDTH = 180
WIDTH = 720


@dataclass(frozen=True)
class Bar:
    """One bar: its series, value, geometry and colour."""

    series: str
    label: str
    value: Decimal
    x: int
    y: int
    width: int
    height: int
    colour: str


@dataclass(frozen=True)
class Chart:
    """A laid-out chart: its size, the group labels with their y, the bars, the legend."""

    width: int
    height: int
    groups: list[tuple[str, int]]
    bars: list[Bar]
    legend: list[tuple[str, str]]
    label_width: int


def bars(rows: Sequence[Mapping[str, Any]], label_key: str,
         series: Sequence[tuple[str, str]]) -> Chart:  # fmt: skip
    """A grouped bar chart of `rows`: each row's `label_key` names its group, and each
    `(key, label)` of `series` is one bar, scaled to the largest value of the chart."""
    values = [Decimal(str(row.get(key) or 0)) for row in rows for key, _ in series]
    top = max(values, default=Decimal(0)) or Decimal(1)
    span = WIDTH - LABEL_WIDTH - 60
    out: list[Bar] = []
    groups: list[tuple[str, int]] = []
    y = 24
    for row in rows:
        groups.append((str(row.get(label_key, "")), y))
        for i, (key, label) in enumerate(series):
            value = Decimal(str(row.get(key) or 0))
            width = int(span * value / top) if value > 0 else 0
            out.append(Bar(key, label, value, LABEL_WIDTH, y, max(width, 1 if value else 0), BAR,
                           COLOURS[i % len(COLOURS)]))  # fmt: skip
            y += BAR + 2
        y += ROW_GAP
    legend = [(label, COLOURS[i % len(COLOURS)]) for i, (_, label) in enumerate(series)]
    return Chart(WIDTH, y + 4, groups, out, legend, LABEL_WIDTH)
