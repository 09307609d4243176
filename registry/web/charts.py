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


@dataclass(frozen=True)
class XYChart:
    """Points in a plane with both axes: a scatter, or a curve through the points."""

    title: str
    x_label: str
    y_label: str
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    dots: tuple[tuple[float, float], ...]
    polyline: str | None
    x_ticks: tuple[tuple[float, str], ...]
    y_ticks: tuple[tuple[float, str], ...]
    guides: tuple[tuple[float, float, float, float], ...]


Bounds = tuple[float, float, float, float]


def nice_ticks(low: float, high: float, count: int = 5) -> list[tuple[float, str]]:
    """Return round tick values (steps of 1, 2 or 5 times a power of ten) within [low, high]."""
    raw = (high - low) / max(count - 1, 1)
    if raw <= 0 or not math.isfinite(raw):
        return [(low, axis_number(low, 0.0))]
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power * 1.5 >= raw)
    decimals = max(0, -math.floor(math.log10(step)))
    first = math.ceil(low / step - 1e-9)
    ticks = []
    for i in range(first, first + count + 2):
        value = i * step
        if value > high + step * 1e-9:
            break
        ticks.append((value, f"{value:,.{decimals}f}" if abs(value) < 1e7 else f"{value:.3g}"))
    return ticks


def _padded(low: float, high: float) -> tuple[float, float]:
    if high == low:
        pad = abs(high) * 0.1 or 1.0
        return low - pad, high + pad
    return low, high


def xy_chart(
    title: str,
    xs: Sequence[float],
    ys: Sequence[float],
    x_label: str,
    y_label: str,
    *,
    connect: bool = False,
    bounds: Bounds | None = None,
    guides: Sequence[Bounds] = (),
    width: int = 420,
    height: int = 320,
) -> XYChart:
    """Lay out points (x, y); ``guides`` are reference lines (x1, y1, x2, y2) in data units."""
    left, right, top, bottom = 84.0, width - 34.0, 14.0, height - 44.0
    if bounds is None:
        x_low, x_high = _padded(min(xs), max(xs))
        y_low, y_high = _padded(min(ys), max(ys))
    else:
        x_low, x_high, y_low, y_high = bounds

    def px(x: float) -> float:
        return left + (x - x_low) / (x_high - x_low) * (right - left)

    def py(y: float) -> float:
        return bottom - (y - y_low) / (y_high - y_low) * (bottom - top)

    dots = tuple((px(x), py(y)) for x, y in zip(xs, ys, strict=True))
    return XYChart(
        title=title,
        x_label=x_label,
        y_label=y_label,
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        dots=() if connect else dots,
        polyline=" ".join(f"{x:.1f},{y:.1f}" for x, y in dots) if connect else None,
        x_ticks=tuple((px(v), label) for v, label in nice_ticks(x_low, x_high)),
        y_ticks=tuple((py(v), label) for v, label in nice_ticks(y_low, y_high)),
        guides=tuple((px(a), py(b), px(c), py(d)) for a, b, c, d in guides),
    )
