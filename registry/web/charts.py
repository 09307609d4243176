"""Chart geometry for the pages' inline SVG: numbers in, coordinates out, drawn by templates.

Charts are drawn on the server as SVG, so they need no script and show whatever the browser's
settings are; the templates escape every label like any other text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str
    value: float


@dataclass(frozen=True)
class LineChart:
    """One series across versions: its points, the polyline through them, and its axis."""

    title: str
    width: int
    height: int
    points: tuple[Point, ...]
    polyline: str
    y_ticks: tuple[tuple[float, str], ...]
    baseline: float
    left: float
    right: float


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    x: float
    y: float
    width: float
    negative: bool


@dataclass(frozen=True)
class BarChart:
    """Horizontal bars from a zero line, one a row, in the order given."""

    title: str
    width: int
    height: int
    bars: tuple[Bar, ...]
    zero: float
    row: int
    label_width: int


def axis_number(value: float, span: float) -> str:
    """Return a tick's number with enough significant digits to tell ticks ``span`` apart."""
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    digits = 3
    if span > 0:
        digits = max(3, min(12, math.ceil(math.log10(abs(value) / span)) + 3))
    return f"{value:.{digits}g}"


def line_chart(
    title: str, values: Sequence[tuple[str, float]], width: int = 320, height: int = 170
) -> LineChart:
    """Lay out ``(x label, value)`` pairs, in order, as a line with a point on each."""
    left, right, top, bottom = 78.0, width - 14.0, 12.0, height - 28.0
    numbers = [v for _, v in values]
    low, high = min(numbers), max(numbers)
    if high == low:
        pad = abs(high) * 0.1 or 1.0
        low, high = low - pad, high + pad
    span_x = max(len(values) - 1, 1)

    def y_of(value: float) -> float:
        return bottom - (value - low) / (high - low) * (bottom - top)

    points = tuple(
        Point(
            x=left + (i / span_x if len(values) > 1 else 0.5) * (right - left),
            y=y_of(value),
            label=label,
            value=value,
        )
        for i, (label, value) in enumerate(values)
    )
    step = (high - low) / 2
    ticks = tuple((y_of(v), axis_number(v, step)) for v in (low, low + step, high))
    return LineChart(
        title=title,
        width=width,
        height=height,
        points=points,
        polyline=" ".join(f"{p.x:.1f},{p.y:.1f}" for p in points),
        y_ticks=ticks,
        baseline=bottom,
        left=left,
        right=right,
    )


def bar_chart(
    title: str,
    values: Sequence[tuple[str, float]],
    width: int = 560,
    row: int = 20,
    label_width: int = 190,
) -> BarChart:
    """Lay out ``(label, value)`` pairs as horizontal bars, negatives left of zero."""
    plot_left, plot_right = float(label_width), width - 70.0
    low = min(0.0, *(v for _, v in values)) if values else 0.0
    high = max(0.0, *(v for _, v in values)) if values else 0.0
    span = (high - low) or 1.0
    zero = plot_left + (0.0 - low) / span * (plot_right - plot_left)
    bars = []
    for i, (label, value) in enumerate(values):
        end = plot_left + (value - low) / span * (plot_right - plot_left)
        bars.append(
            Bar(
                label=label,
                value=value,
                x=min(zero, end),
                y=8.0 + i * row,
                width=max(abs(end - zero), 1.0),
                negative=value < 0,
            )
        )
    return BarChart(
        title=title,
        width=width,
        height=int(16 + len(values) * row),
        bars=tuple(bars),
        zero=zero,
        row=row,
        label_width=label_width,
    )
