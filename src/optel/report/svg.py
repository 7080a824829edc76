"""Inline SVG charts drawn by hand: horizontal bars (stacked segments) and columns (stacked series).

No script and no external resource: the page shows the same offline, in any browser, and
under a Content-Security-Policy that forbids everything but inline styles. Every label comes
from the data, which anything may have written: it is escaped.
"""

from __future__ import annotations

import math
from html import escape

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

# Colour-blind-safe (Okabe-Ito), in the order series take them.
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000")
FAILED = "#d55e00"
LABEL_WIDTH = 230
BAR_WIDTH = 400
NOTE_WIDTH = 260
ROW = 22
MAX_BARS = 25


def hbars(
    rows: Sequence[tuple[str, Sequence[float], str]],
    colours: Sequence[str] = PALETTE,
) -> str:
    """One bar per row, made of stacked segments; `rows` are (label, segments, note at the bar's end)."""
    rows = list(rows)[:MAX_BARS]
    top = max((sum(segments) for _, segments, _ in rows), default=0) or 1
    height = ROW * len(rows) + 4
    width = LABEL_WIDTH + BAR_WIDTH + NOTE_WIDTH
    parts = [_open(width, height)]
    for i, (label, segments, note) in enumerate(rows):
        y = i * ROW + 2
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end">{escape(_short(label))}</text>'
        )
        x = float(LABEL_WIDTH)
        for j, value in enumerate(segments):
            w = BAR_WIDTH * value / top
            if w > 0:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{max(w, 1):.1f}" height="{ROW - 6}" '
                    f'fill="{colours[j % len(colours)]}"><title>{escape(label)}: {value:g}</title></rect>'
                )
            x += w
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 15}">{escape(note)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def columns(x_labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]]) -> str:
    """Stacked columns, one per x label; each series (name, values) takes the next palette colour."""
    count = len(x_labels)
    step = max(6.0, min(40.0, 720 / max(count, 1)))
    plot_h = 180
    top = max((sum(s[1][i] for s in series) for i in range(count)), default=0) or 1
    width = int(60 + step * count + 20)
    parts = [_open(max(width, 320), plot_h + 60)]
    parts.append(
        f'<text x="4" y="14">{top:g}</text><line x1="56" y1="10" x2="56" y2="{plot_h + 10}" stroke="#888"/>'
    )
    parts.append(
        f'<line x1="56" y1="{plot_h + 10}" x2="{width - 10}" y2="{plot_h + 10}" stroke="#888"/>'
    )
    # Tick labels are ~6 px a character at 10 px: skip enough of them not to overlap.
    widest = max((len(label) for label in x_labels), default=1)
    label_every = max(1, math.ceil((widest * 6 + 8) / step))
    for i, label in enumerate(x_labels):
        x = 60 + i * step
        base = plot_h + 10.0
        for j, (name, values) in enumerate(series):
            h = plot_h * values[i] / top
            if h > 0:
                base -= h
                parts.append(
                    f'<rect x="{x:.1f}" y="{base:.1f}" width="{step * 0.8:.1f}" height="{max(h, 1):.1f}" '
                    f'fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(label)} {escape(name)}: {values[i]:g}</title></rect>'
                )
        if i % label_every == 0:
            parts.append(f'<text x="{x:.1f}" y="{plot_h + 26}" class="tick">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def legend(names: Sequence[str], colours: Sequence[str] = PALETTE) -> str:
    """An HTML legend for the colours of a chart's series or segments."""
    items = (
        f'<span class="key"><i style="background:{colours[i % len(colours)]}"></i>{escape(_short(name))}</span>'
        for i, name in enumerate(names)
    )
    return f'<p class="legend">{"".join(items)}</p>'


def _open(width: int, height: int) -> str:
    return f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">'


def _short(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
