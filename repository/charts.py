"""Server-rendered SVG charts for the operators' dashboard: no JavaScript, no CDN.

Why SVG from Python: the site must work offline in a school network and under a
strict Content-Security-Policy (no inline scripts or styles), so charts are plain
markup. Colours come from classes in huiju.css (presentation only), never from
``style`` attributes, which the CSP would block.

Every text (labels, titles, descriptions) is escaped here; the result is Markup
that templates insert as is. Each chart is ``role="img"`` with a <title> and a
<desc>, and every bar has its own <title> (label and value) for pointer users; the
page also shows the same numbers as a table for screen readers and for copying.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH = 640
ROW = 26
LABEL_CHARS = 12


def _text_width(text: str) -> float:
    """Rough width in em: CJK characters are square, Latin ones about half as wide."""
    return sum(1.0 if ord(ch) > 0x2E7F else 0.6 for ch in text)


def _short(label: str, limit: int = LABEL_CHARS) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _open(chart_id: str, height: int, title: str, desc: str) -> list[str]:
    cid = escape(chart_id)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'aria-labelledby="{cid}-t {cid}-d" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{cid}-t">{escape(title)}</title>',
        f'<desc id="{cid}-d">{escape(desc)}</desc>',
    ]


def bar_chart(bars: Sequence[tuple[str, float]], *, chart_id: str, title: str, desc: str) -> Markup:
    """Horizontal bars, one row per (label, value): for categories with long (Chinese) names."""
    bars = list(bars)
    height = max(1, len(bars)) * ROW + 8
    top = max((value for _, value in bars), default=0) or 1
    label_w = min(200.0, max((_text_width(_short(label)) for label, _ in bars), default=4) * 14 + 12)
    value_w = 70
    span = WIDTH - label_w - value_w
    parts = _open(chart_id, height, title, desc)
    for n, (label, value) in enumerate(bars):
        y = 4 + n * ROW
        width = max(0.0, span * value / top)
        tip = escape(f"{label}: {_number(value)}")
        parts.append(f'<g class="row"><title>{tip}</title>'
                     f'<text class="label" x="{label_w - 8:.0f}" y="{y + 17}" text-anchor="end">'
                     f"{escape(_short(label))}</text>"
                     f'<rect class="bar" x="{label_w:.0f}" y="{y + 3}" width="{width:.1f}" height="{ROW - 8}"/>'
                     f'<text class="value" x="{label_w + width + 6:.1f}" y="{y + 17}">{escape(_number(value))}'
                     "</text></g>")
    parts.append("</svg>")
    return Markup("".join(parts))


def column_chart(points: Sequence[tuple[str, float]], *, chart_id: str, title: str, desc: str,
                 every: int = 1) -> Markup:
    """Vertical columns over an ordered axis (days, sizes); every n-th axis label is written."""
    points = list(points)
    height, bottom, left, top_pad = 220, 40, 44, 16
    plot_h = height - bottom - top_pad
    top = max((value for _, value in points), default=0) or 1
    step = (WIDTH - left - 8) / max(1, len(points))
    parts = _open(chart_id, height, title, desc)
    parts.append(f'<line class="axis" x1="{left}" y1="{height - bottom}" x2="{WIDTH - 4}" y2="{height - bottom}"/>')
    parts.append(f'<text class="tick" x="{left - 6}" y="{top_pad + 4}" text-anchor="end">{escape(_number(top))}'
                 "</text>")
    parts.append(f'<text class="tick" x="{left - 6}" y="{height - bottom}" text-anchor="end">0</text>')
    for n, (label, value) in enumerate(points):
        x = left + n * step
        h = plot_h * value / top
        tip = escape(f"{label}: {_number(value)}")
        parts.append(f'<g class="col"><title>{tip}</title><rect class="bar" x="{x + step * 0.12:.1f}" '
                     f'y="{height - bottom - h:.1f}" width="{step * 0.76:.1f}" height="{h:.1f}"/></g>')
        if n % max(1, every) == 0:
            parts.append(f'<text class="tick" x="{x + step / 2:.1f}" y="{height - bottom + 16}" '
                         f'text-anchor="middle">{escape(_short(label, 10))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked_bar_chart(rows: Sequence[tuple[str, Sequence[float]]], series: Sequence[str], *, chart_id: str,
                      title: str, desc: str) -> Markup:
    """Horizontal bars split into series (e.g. review statuses per source level), with a legend."""
    rows = list(rows)
    legend_h = 24
    height = legend_h + max(1, len(rows)) * ROW + 8
    top = max((sum(values) for _, values in rows), default=0) or 1
    label_w = min(200.0, max((_text_width(_short(label)) for label, _ in rows), default=4) * 14 + 12)
    value_w = 70
    span = WIDTH - label_w - value_w
    parts = _open(chart_id, height, title, desc)
    x = 4.0
    for n, name in enumerate(series):
        parts.append(f'<rect class="bar s{n}" x="{x:.0f}" y="6" width="12" height="12"/>'
                     f'<text class="legend" x="{x + 16:.0f}" y="17">{escape(name)}</text>')
        x += 16 + _text_width(name) * 13 + 14
    for n, (label, values) in enumerate(rows):
        y = legend_h + 4 + n * ROW
        parts.append(f'<text class="label" x="{label_w - 8:.0f}" y="{y + 17}" text-anchor="end">'
                     f"{escape(_short(label))}<title>{escape(label)}</title></text>")
        offset = label_w
        for k, value in enumerate(values):
            width = span * value / top
            if width <= 0:
                continue
            tip = escape(f"{label} · {series[k] if k < len(series) else k}: {_number(value)}")
            parts.append(f'<rect class="bar s{k}" x="{offset:.1f}" y="{y + 3}" width="{width:.1f}" '
                         f'height="{ROW - 8}"><title>{tip}</title></rect>')
            offset += width
        parts.append(f'<text class="value" x="{offset + 6:.1f}" y="{y + 17}">{escape(_number(sum(values)))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
