"""Charts of the progress-report and family screens, drawn server-side as SVG.

SVG (not plotly) because the same charts go into the PDF, and WeasyPrint draws SVG without a
browser. Every chart has a title and a text description for screen readers, labels its values in
words or numbers, and uses patterns as well as colours, so colour never carries meaning alone.
The pages also show the numbers as a table.

Input is selector output (plain dicts); output is markup marked safe after escaping every text.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from django.utils.safestring import SafeString, mark_safe

from analysis.engine.labels import CANONICAL_LABELS

# Okabe-Ito colours (distinguishable with the common colour-vision deficiencies) plus patterns.
MOOD_STYLE: dict[str, tuple[str, str]] = {
    "positive": ("#E69F00", "solid"),
    "neutral": ("#56B4E9", "stripes"),
    "negative": ("#8F5A99", "dots"),
}
MOOD_LABELS: dict[str, str] = {
    "positive": "Cheerful",
    "neutral": "Calm or neutral",
    "negative": "Upset or tense",
}
LINE_COLOUR = "#1F5FA8"
AXIS_COLOUR = "#5B6475"
GRID_COLOUR = "#D8DCE5"
FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif"


class Layout:
    """Sizes of one chart style. ``web`` is narrow with large text, so that on a phone (where
    the chart shrinks to the screen) the labels stay readable and on a desktop it is shown at
    its natural size; ``print`` fills an A4 page width."""

    def __init__(self, width: int, font: int, small: int, label_px: int) -> None:
        self.width, self.font, self.small, self.label_px = width, font, small, label_px


WEB = Layout(width=480, font=14, small=13, label_px=62)
PRINT = Layout(width=720, font=12, small=11, label_px=46)


def _pct(value: float) -> str:
    return f"{round(value * 100)}%"


def _short_date(iso: str) -> str:
    day = dt.date.fromisoformat(iso)
    return f"{day.day} {day:%b}"


def _open(uid: str, width: int, height: int, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" class="chart" role="img" aria-labelledby="{uid}-t {uid}-d" '
        f'style="{FONT};max-width:{width}px;height:auto">',
        f'<title id="{uid}-t">{escape(title)}</title><desc id="{uid}-d">{escape(desc)}</desc>',
    ]


def _patterns(uid: str) -> str:
    defs = ["<defs>"]
    for key, (colour, pattern) in MOOD_STYLE.items():
        pid = f"{uid}-{key}"
        if pattern == "stripes":
            defs.append(
                f'<pattern id="{pid}" width="6" height="6" patternUnits="userSpaceOnUse" '
                f'patternTransform="rotate(45)"><rect width="6" height="6" fill="{colour}"/>'
                f'<rect width="2" height="6" fill="#ffffff" fill-opacity="0.55"/></pattern>'
            )
        elif pattern == "dots":
            defs.append(
                f'<pattern id="{pid}" width="6" height="6" patternUnits="userSpaceOnUse">'
                f'<rect width="6" height="6" fill="{colour}"/>'
                f'<circle cx="3" cy="3" r="1.3" fill="#ffffff" fill-opacity="0.7"/></pattern>'
            )
    defs.append("</defs>")
    return "".join(defs)


def _fill(uid: str, key: str) -> str:
    colour, pattern = MOOD_STYLE[key]
    return colour if pattern == "solid" else f"url(#{uid}-{key})"


def _legend(uid: str, x: float, y: float, layout: Layout) -> str:
    parts = []
    for key, label in MOOD_LABELS.items():
        parts.append(
            f'<rect x="{x:.1f}" y="{y - 11:.1f}" width="14" height="14" fill="{_fill(uid, key)}" '
            f'stroke="{AXIS_COLOUR}" stroke-width="0.5"/>'
            f'<text x="{x + 19:.1f}" y="{y + 1:.1f}" font-size="{layout.small}" fill="#1d2330">'
            f"{escape(label)}</text>"
        )
        x += 30 + 0.58 * layout.small * len(label)
    return "".join(parts)


def _label_every(count: int, room: float, layout: Layout) -> int:
    """Show every n-th axis label so date labels never overlap."""
    return max(1, math.ceil(layout.label_px / max(room, 1.0))) if count else 1


def _percent_axis(left: int, top: int, width: int, height: int, layout: Layout) -> list[str]:
    parts = []
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        y = top + height * (1 - tick)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + width}" y2="{y:.1f}" '
            f'stroke="{GRID_COLOUR}" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="{layout.small}" text-anchor="end" '
            f'fill="{AXIS_COLOUR}">{_pct(tick)}</text>'
        )
    return parts


def mood_bars(
    rows: Sequence[Mapping[str, Any]], *, uid: str, name: str, layout: Layout = WEB
) -> SafeString:
    """Stacked bars, one per session: the share of the child's speech in each mood group."""
    data = [r for r in rows if r.get("child")]
    title = f"How {name}'s voice sounded in each session"
    if not data:
        return mark_safe("")
    width = layout.width
    left, top, bottom = 50, 44, 50
    height = 300 if layout is PRINT else 290
    plot_w, plot_h = width - left - 12, height - top - bottom
    slot = plot_w / len(data)
    bar = min(36.0, slot * 0.72)
    desc = "; ".join(
        f"{_short_date(r['date'])}: "
        + ", ".join(f"{MOOD_LABELS[k].lower()} {_pct(r['child']['mood'][k])}" for k in MOOD_LABELS)
        for r in data
    )
    parts = _open(uid, width, height, title, desc)
    parts.append(_patterns(uid))
    parts.append(_legend(uid, 8, 20, layout))
    parts.extend(_percent_axis(left, top, plot_w, plot_h, layout))
    every = _label_every(len(data), slot, layout)
    for i, row in enumerate(data):
        x = left + slot * i + (slot - bar) / 2
        y = float(top + plot_h)
        for key in ("negative", "neutral", "positive"):
            share = float(row["child"]["mood"][key])
            h = plot_h * share
            y -= h
            if h > 0:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                    f'fill="{_fill(uid, key)}"><title>{escape(_short_date(row["date"]))}: '
                    f"{escape(MOOD_LABELS[key].lower())} {_pct(share)}</title></rect>"
                )
        if i % every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + layout.small + 5}" '
                f'font-size="{layout.small}" text-anchor="middle" fill="{AXIS_COLOUR}">'
                f"{escape(_short_date(row['date']))}</text>"
            )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" font-size="{layout.small}" '
        f'text-anchor="middle" fill="{AXIS_COLOUR}">Session date</text></svg>'
    )
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def trend_line(
    points: Sequence[tuple[str, float | None]],
    *,
    uid: str,
    title: str,
    axis_label: str,
    layout: Layout = WEB,
) -> SafeString:
    """A line of one percentage per session date (0 to 100%), with each value marked."""
    data = [(d, v) for d, v in points if v is not None]
    if not data:
        return mark_safe("")
    width = layout.width
    left, top, bottom = 50, 16, 50
    height = 250 if layout is PRINT else 240
    plot_w, plot_h = width - left - 18, height - top - bottom
    step = plot_w / max(len(data) - 1, 1)
    desc = "; ".join(f"{_short_date(d)}: {_pct(v)}" for d, v in data)
    parts = _open(uid, width, height, title, desc)
    parts.extend(_percent_axis(left, top, plot_w, plot_h, layout))
    coords = [
        (left + (step * i if len(data) > 1 else plot_w / 2), top + plot_h * (1 - float(v)))
        for i, (_, v) in enumerate(data)
    ]
    if len(coords) > 1:
        path = " ".join(
            f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(coords)
        )
        parts.append(
            f'<path d="{path}" fill="none" stroke="{LINE_COLOUR}" stroke-width="2.5" '
            'stroke-linejoin="round"/>'
        )
    radius = 4 if step >= 12 or len(data) == 1 else 2.5
    every = _label_every(len(data), step if len(data) > 1 else plot_w, layout)
    for i, ((day, value), (x, y)) in enumerate(zip(data, coords, strict=True)):
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}" fill="#ffffff" '
            f'stroke="{LINE_COLOUR}" stroke-width="2"><title>{escape(_short_date(day))}: '
            f"{_pct(value)}</title></circle>"
        )
        if i % every == 0:
            parts.append(
                f'<text x="{x:.1f}" y="{top + plot_h + layout.small + 5}" '
                f'font-size="{layout.small}" text-anchor="middle" fill="{AXIS_COLOUR}">'
                f"{escape(_short_date(day))}</text>"
            )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" font-size="{layout.small}" '
        f'text-anchor="middle" fill="{AXIS_COLOUR}">{escape(axis_label)}</text></svg>'
    )
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def emotion_bars(
    shares: Mapping[str, float], *, uid: str, name: str, layout: Layout = WEB
) -> SafeString:
    """Horizontal bars: the share of the child's speech time per emotion label, value printed."""
    labels = [label for label in CANONICAL_LABELS if label in shares]
    if not labels:
        return mark_safe("")
    row_h, left, width = layout.font + 14, 8 * layout.font, layout.width
    height = row_h * len(labels) + 12
    plot_w = width - left - 4 * layout.font
    desc = ", ".join(f"{label} {_pct(float(shares[label]))}" for label in labels)
    parts = _open(uid, width, height, f"Share of {name}'s speaking time by emotion", desc)
    for i, label in enumerate(labels):
        share = float(shares[label])
        y = 6 + i * row_h
        bar_h = row_h - 8
        parts.append(
            f'<text x="{left - 8}" y="{y + bar_h:.1f}" font-size="{layout.font}" '
            f'text-anchor="end" fill="#1d2330">{escape(label.capitalize())}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{plot_w}" height="{bar_h}" fill="#EEF1F6"/>'
            f'<rect x="{left}" y="{y + 3}" width="{plot_w * share:.1f}" height="{bar_h}" '
            f'fill="{LINE_COLOUR}"/>'
            f'<text x="{left + plot_w * share + 6:.1f}" y="{y + bar_h:.1f}" '
            f'font-size="{layout.font}" fill="#1d2330">{_pct(share)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped
