"""Small inline SVG charts drawn on the server: bars and a sparkline, no JavaScript.

Each chart is an `<svg role="img">` with a `<title>` and a `<desc>` (the data in words) named
by `aria-labelledby`, so a screen reader reads the numbers; the panels show the same numbers
as text beside it. Colours are the shell's CSS variables (`--accent`, `--muted`, `--text`),
so a chart follows the light or dark theme of the page it sits in.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

_ids = itertools.count(1)
BAR_HEIGHT, BAR_GAP, LABEL_WIDTH, WIDTH = 18, 8, 150, 460


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str  # the value as shown (an amount, a count, a rate)


def _open(kind: str, title: str, desc: str, width: int, height: int) -> tuple[str, str]:
    uid = f"rc-{kind}-{next(_ids)}"
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" '
        f'class="recovery-chart recovery-chart-{kind}" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="{uid}-t {uid}-d">'
        f'<title id="{uid}-t">{escape(title)}</title><desc id="{uid}-d">{escape(desc)}</desc>'
    )
    return uid, head


def describe(bars: Sequence[Bar]) -> str:
    return "; ".join(f"{bar.label}: {bar.text}" for bar in bars) or "No data."


def bars(items: Sequence[Bar], title: str, maximum: float | None = None) -> Markup:
    """Horizontal bars, one per item, longest = `maximum` (default: the largest value)."""
    height = max(len(items), 1) * (BAR_HEIGHT + BAR_GAP)
    _, svg = _open("bars", title, describe(items), WIDTH, height)
    top = maximum or max((item.value for item in items), default=0) or 1
    room = WIDTH - LABEL_WIDTH - 70
    parts = [svg]
    for n, item in enumerate(items):
        y = n * (BAR_HEIGHT + BAR_GAP)
        length = max(room * max(item.value, 0) / top, 1 if item.value else 0)
        text_y = y + BAR_HEIGHT * 0.72
        parts.append(
            f'<text x="0" y="{text_y:.1f}" font-size="12" class="chart-label">'
            f"{escape(item.label[:24])}</text>"
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{BAR_HEIGHT}" rx="3" '
            f'class="chart-bar"></rect>'
            f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{text_y:.1f}" font-size="12" '
            f'class="chart-value">{escape(item.text)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()


def sparkline(
    values: Sequence[float], title: str, desc: str, width: int = 240, height: int = 48
) -> Markup:
    """A line through `values` (left = oldest), with the area under it lightly filled."""
    _, svg = _open("spark", title, desc, width, height)
    if not values:
        return Markup(svg + "</svg>")  # noqa: S704 - title and desc escaped in _open
    top = max(values) or 1
    step = width / max(len(values) - 1, 1)
    pad = 3
    points = [
        (i * step, height - pad - (height - 2 * pad) * max(v, 0) / top)
        for i, v in enumerate(values)
    ]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    area = f"0,{height} {line} {points[-1][0]:.1f},{height}"
    return Markup(  # noqa: S704 - numbers only, title and desc escaped in _open
        f'{svg}<polygon points="{area}" class="chart-area"></polygon>'
        f'<polyline points="{line}" fill="none" stroke-width="2" stroke-linejoin="round" '
        f'class="chart-line"></polyline></svg>'
    )
