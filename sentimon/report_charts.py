"""Inline SVG charts for the report: volume with its negative share, and one line per topic,
each with axes, tick labels and a legend, so a printed page reads without hovering.

No script and no external request (the report's Content-Security-Policy forbids both); every
label from data is escaped.
"""

from __future__ import annotations

import html
from typing import Any, Sequence

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 48, 30, 40
TOPIC_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _x(i: int, n: int) -> float:
    return LEFT + (WIDTH - LEFT - RIGHT) * ((i + 0.5) / n)


def _y(value: float, peak: float) -> float:
    return HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * (value / peak if peak else 0)


def _nice_peak(value: float) -> float:
    """A round top for the y axis (1, 2, 5, 10, 20, 50, ...) at or above ``value``."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if step * m >= value:
                return float(step * m)
        step *= 10


def _axes(labels: Sequence[str], peak: float, y_label: str, right: str | None = None) -> list[str]:
    """The frame, y ticks (0, half, peak), up to 8 x tick labels and axis titles."""
    bottom, n = HEIGHT - BOTTOM, len(labels)
    parts = [f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}"/>',
             f'<line class="axis" x1="{LEFT}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}"/>']
    for value in (0, peak / 2, peak):
        y = _y(value, peak)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
                     f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{value:g}</text>')
    if right:
        for share in (0, 50, 100):
            y = _y(share, 100)
            parts.append(f'<text class="tick" x="{WIDTH - RIGHT + 6}" y="{y + 4:.1f}">{share}%</text>')
    every = max(1, -(-n // 8))
    for i in range(0, n, every):
        parts.append(f'<text class="tick" x="{_x(i, n):.1f}" y="{bottom + 16}" text-anchor="middle">{esc(labels[i])}</text>')
    parts.append(f'<text class="axis-title" x="12" y="{TOP - 12}">{esc(y_label)}</text>')
    if right:
        parts.append(f'<text class="axis-title" x="{WIDTH - 12}" y="{TOP - 12}" text-anchor="end">{esc(right)}</text>')
    return parts


def _legend(entries: Sequence[tuple[str, str]]) -> str:
    """Swatches in a row under the x axis: (css class or colour, label)."""
    items, x = [], LEFT
    for style, name in entries:
        fill = f'style="fill:{style}"' if style.startswith("#") else f'class="{style}"'
        items.append(f'<rect x="{x}" y="{HEIGHT - 14}" width="12" height="10" {fill}/>'
                     f'<text x="{x + 16}" y="{HEIGHT - 5}">{esc(name)}</text>')
        x += 30 + 8 * len(name)
    return f'<g class="legend">{"".join(items)}</g>'


def _short(label: str) -> str:
    """``2026-11-09`` -> ``11-09``; ``2026-11-09T14:00`` -> ``09 14:00``: ticks stay short."""
    return label[8:10] + " " + label[11:16] if "T" in label else label[5:10]


def volume_chart(series: Sequence[dict[str, Any]], unit: str, baseline: float | None) -> str:
    """Bars of mentions per bucket with the negative part, the negative share as a line on a
    0-100% right axis, and the previous period's share dashed."""
    if not any(p["total"] for p in series):
        return '<p class="empty">No mentions in this period.</p>'
    n, peak = len(series), _nice_peak(max(p["total"] for p in series))
    width = (WIDTH - LEFT - RIGHT) / n * 0.8
    parts = [f'<svg class="chart volume" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="Mentions and negative share per {esc(unit)}">',
             *_axes([_short(p["bucket"]) for p in series], peak, f"mentions per {unit}", "negative share")]
    for i, point in enumerate(series):
        x = _x(i, n) - width / 2
        for css, value in (("vol", point["total"]), ("neg", point["negative"])):
            y = _y(value, peak)
            parts.append(f'<rect class="{css}" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
                         f'height="{HEIGHT - BOTTOM - y:.1f}"><title>{esc(point["bucket"])}: {point["total"]} mentions, '
                         f'{point["negative"]} negative</title></rect>')
    line = " ".join(f"{_x(i, n):.1f},{_y(100 * p['negative_share'], 100):.1f}"
                    for i, p in enumerate(series) if p["total"])
    parts.append(f'<polyline class="share" points="{line}"/>')
    legend = [("vol", "mentions"), ("neg", "negative"), ("share-key", "negative share")]
    if baseline is not None:
        y = _y(100 * baseline, 100)
        parts.append(f'<line class="baseline" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        legend.append(("baseline-key", f"previous period {baseline:.0%}"))
    parts += [_legend(legend), "</svg>"]
    return "".join(parts)


def topic_chart(topic_series: Sequence[dict[str, Any]], unit: str) -> str:
    """One line per topic: its negative mentions per bucket, the topics most negative first."""
    if not topic_series:
        return '<p class="empty">No topics in this period.</p>'
    labels = [p["bucket"] for p in topic_series[0]["points"]]
    n = len(labels)
    peak = _nice_peak(max(max(p["negative"] for p in t["points"]) for t in topic_series) or 1)
    parts = [f'<svg class="chart topics" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="Negative mentions per topic per {esc(unit)}">',
             *_axes([_short(b) for b in labels], peak, f"negative mentions per {unit}")]
    legend = []
    for colour, topic in zip(TOPIC_COLOURS, topic_series):
        points = " ".join(f"{_x(i, n):.1f},{_y(p['negative'], peak):.1f}" for i, p in enumerate(topic["points"]))
        parts.append(f'<polyline class="topic" style="stroke:{colour}" points="{points}">'
                     f'<title>{esc(topic["topic"])}</title></polyline>')
        legend.append((colour, topic["topic"]))
    parts += [_legend(legend), "</svg>"]
    return "".join(parts)
