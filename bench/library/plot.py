"""bench/library.svg: answer latency (p50, p95) and peak memory (ingest, answering) against
library size on a log axis, hand-written SVG in the style of bench/report.py's scale plot."""

from __future__ import annotations

import math
from html import escape

from .render import columns, get

WIDTH, HEIGHT, LEFT, TOP, PANEL_W, PANEL_H, GAP = 880, 340, 60, 50, 340, 220, 100
COLOURS = {"p50": "#4c78a8", "p95": "#f58518", "ingest": "#54a24b", "answering": "#e45756"}
LEGEND = {"p50": "p50 latency", "p95": "p95 latency", "ingest": "RSS, ingest",
          "answering": "RSS, answering"}
Series = dict[str, list[tuple[int, float]]]


def series(results: dict) -> dict[str, Series]:
    """Panel title -> line name -> (chunks, value) of each library that has the measure."""
    panels: dict[str, Series] = {"answer latency (ms)": {"p50": [], "p95": []},
                                 "peak RSS (MB)": {"ingest": [], "answering": []}}
    for _, row in columns(results):
        chunks = get(row, "ingest", "chunks") or get(row, "corpus", "chunks")
        if not chunks:
            continue
        values = {("answer latency (ms)", "p50"): get(row, "answering", "p50_ms"),
                  ("answer latency (ms)", "p95"): get(row, "answering", "p95_ms"),
                  ("peak RSS (MB)", "ingest"): get(row, "ingest", "peak_rss_mb"),
                  ("peak RSS (MB)", "answering"): get(row, "answering", "peak_rss_mb")}
        for (panel, name), value in values.items():
            if value is not None:
                panels[panel][name].append((chunks, value))
    return panels


def _panel(x0: float, title: str, lines: Series, low: float, high: float) -> list[str]:
    """One panel: axes, size labels, a polyline with points per series."""
    top = max((v for points in lines.values() for _, v in points), default=0) * 1.1 or 1

    def x(size: int) -> float:
        return x0 + (math.log10(size) - low) / ((high - low) or 1) * PANEL_W

    def y(value: float) -> float:
        return TOP + PANEL_H - value / top * PANEL_H

    body = [f'<text x="{x0}" y="{TOP - 12}" font-weight="bold">{escape(title)}</text>',
            f'<line x1="{x0}" y1="{TOP + PANEL_H}" x2="{x0 + PANEL_W}" y2="{TOP + PANEL_H}" stroke="black"/>',
            f'<line x1="{x0}" y1="{TOP}" x2="{x0}" y2="{TOP + PANEL_H}" stroke="black"/>',
            f'<text x="{x0 - 6}" y="{TOP + 4}" text-anchor="end">{top:.0f}</text>',
            f'<text x="{x0 - 6}" y="{TOP + PANEL_H}" text-anchor="end">0</text>']
    sizes = sorted({size for points in lines.values() for size, _ in points})
    body += [f'<text x="{x(s):.1f}" y="{TOP + PANEL_H + 18}" text-anchor="middle">{s:,}</text>'
             for s in sizes]
    for name, points in lines.items():
        coords = " ".join(f"{x(s):.1f},{y(v):.1f}" for s, v in points)
        body.append(f'<polyline points="{coords}" fill="none" stroke="{COLOURS[name]}" stroke-width="2"/>')
        body += [f'<circle cx="{x(s):.1f}" cy="{y(v):.1f}" r="3" fill="{COLOURS[name]}"/>' for s, v in points]
    body.append(f'<text x="{x0 + PANEL_W / 2}" y="{TOP + PANEL_H + 38}" '
                'text-anchor="middle">chunks (log scale)</text>')
    return body


def plot_svg(results: dict) -> str:
    """Two panels against library size (log scale): answer latency and peak RSS."""
    panels = series(results)
    sizes = [s for lines in panels.values() for points in lines.values() for s, _ in points] or [1]
    low, high = math.log10(min(sizes)), math.log10(max(sizes))
    body = []
    for number, (title, lines) in enumerate(panels.items()):
        body += _panel(LEFT + number * (PANEL_W + GAP), title, lines, low, high)
    for number, (name, colour) in enumerate(COLOURS.items()):
        body.append(f'<rect x="{LEFT + number * 120}" y="{HEIGHT - 22}" width="12" height="12" '
                    f'fill="{colour}"/>')
        body.append(f'<text x="{LEFT + number * 120 + 18}" y="{HEIGHT - 12}">{LEGEND[name]}</text>')
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">')
    return "\n".join([head, '<rect width="100%" height="100%" fill="white"/>', *body, "</svg>"]) + "\n"
