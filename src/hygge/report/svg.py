"""Small charts as inline SVG, drawn here: the report needs no script library and works offline.

Every chart names itself (``role="img"``, ``aria-label`` and a ``<title>``) and carries its numbers in the
DOM: ``data-points`` on the chart, ``data-value``/``data-at``/``data-status`` on each bar or point, and a
``<title>`` per mark that a browser shows on hover.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 340, 150
LEFT, RIGHT, TOP, BOTTOM = 50, 10, 12, 24  # room for the axis labels
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM


@dataclass
class Point:
    at: str  # when the run started, ISO 8601
    value: float
    status: str = "ok"


def short(value: float) -> str:
    """An axis number: 950, 12k, 3.4M."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            scaled = value / limit
            return f"{scaled:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{value:.3g}"


def _top(values: list[float]) -> float:
    """A round upper end of the y axis (1, 2 or 5 times a power of ten) at or above the largest value."""
    peak = max([v for v in values if v > 0], default=1.0)
    step = 10.0 ** math.floor(math.log10(peak))
    return next(factor * step for factor in (1, 2, 5, 10) if peak <= factor * step * (1 + 1e-9))


def _when(at: str, seconds: bool = False) -> str:
    return at[5:19 if seconds else 16].replace("T", " ")  # MM-DD HH:MM[:SS] of an ISO timestamp


def _frame(kind: str, label: str, points: list[Point], top: float, body: str) -> str:
    axis = "".join(
        f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
        f'<text class="axis" x="{LEFT - 4}" y="{y + 3:.1f}" text-anchor="end">{escape(short(v))}</text>'
        for v, y in ((0.0, TOP + PLOT_H), (top / 2, TOP + PLOT_H / 2), (top, TOP)))
    if points:
        close = _when(points[0].at) == _when(points[-1].at)  # runs within a minute: say their seconds
        axis += (f'<text class="axis" x="{LEFT}" y="{HEIGHT - 6}">{escape(_when(points[0].at, close))}</text>'
                 f'<text class="axis" x="{WIDTH - RIGHT}" y="{HEIGHT - 6}" text-anchor="end">'
                 f'{escape(_when(points[-1].at, close))}</text>')
    else:
        axis += (f'<text class="empty" x="{LEFT + PLOT_W / 2}" y="{TOP + PLOT_H / 2}" text-anchor="middle">'
                 'no runs to show</text>')
    return (f'<svg class="chart" data-chart="{escape(kind)}" data-points="{len(points)}" role="img" '
            f'aria-label="{escape(label)}" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}"'
            f'><title>{escape(label)}</title>{axis}{body}</svg>')


def _mark(point: Point, text: str) -> str:
    return (f'data-value="{point.value:.15g}" data-at="{escape(point.at)}" data-status="{escape(point.status)}">'
            f'<title>{escape(_when(point.at))} {escape(point.status)}: {escape(text)}</title>')


def bars(kind: str, label: str, points: list[Point], text: Callable[[float], str]) -> str:
    """One bar per run, coloured by its status; a run that moved nothing still shows as a sliver."""
    top = _top([p.value for p in points])
    slot = PLOT_W / max(len(points), 1)
    width = max(slot * 0.7, 1.0)
    body = []
    for i, p in enumerate(points):
        height = max(PLOT_H * p.value / top, 2.0)
        x = LEFT + i * slot + (slot - width) / 2
        body.append(f'<rect class="mark bar {escape(p.status)}" x="{x:.1f}" y="{TOP + PLOT_H - height:.1f}" '
                    f'width="{width:.1f}" height="{height:.1f}" {_mark(p, text(p.value))}</rect>')
    return _frame(kind, label, points, top, "".join(body))


def line(kind: str, label: str, points: list[Point], text: Callable[[float], str]) -> str:
    """A line through one point per run, spaced by run: runs come when they come, and each is worth a point."""
    top = _top([p.value for p in points])
    slot = PLOT_W / max(len(points), 1)
    xy = [(LEFT + (i + 0.5) * slot, TOP + PLOT_H - PLOT_H * p.value / top) for i, p in enumerate(points)]
    body = []
    if len(xy) > 1:
        body.append(f'<polyline class="trend" points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in xy)}"/>')
    for (x, y), p in zip(xy, points, strict=True):
        body.append(f'<circle class="mark dot {escape(p.status)}" cx="{x:.1f}" cy="{y:.1f}" r="3.5" '
                    f'{_mark(p, text(p.value))}</circle>')
    return _frame(kind, label, points, top, "".join(body))
