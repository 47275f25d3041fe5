"""Plotly figures of the practice screens, built from selector output (never in templates).

Each function returns the figure as a JSON-ready dict in plotly.js's figure format for
``Plotly.newPlot`` (served from static/vendor/plotly): the one way the portal builds interactive
charts (``docs/architecture.md`` says why not ``plotly.graph_objects``). Every chart on a page
has a table or text next to it that says the same, for screen readers and for people who do
not read charts; markers differ in shape as well as colour.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sessions.exercises.models import Attempt

_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "star", "hexagon", "cross", "x")
_COLOURS = ("#2857a4", "#b5651d", "#1f6b3a", "#7b3fa0", "#a42828", "#0f7c8c", "#6b6b00", "#444444")
_LAYOUT: dict[str, Any] = {
    "margin": {"l": 48, "r": 16, "t": 16, "b": 48},
    "height": 320,
    "font": {"family": "system-ui, sans-serif", "size": 14},
    "paper_bgcolor": "#ffffff",
    "plot_bgcolor": "#ffffff",
    "legend": {"orientation": "h", "y": -0.25},
}


def _finished(attempts: Sequence[Attempt]) -> list[Attempt]:
    return [a for a in attempts if a.final_stars is not None and a.finished_at is not None]


def progress_figure(attempts: Sequence[Attempt]) -> dict[str, Any]:
    """Stars of every analysed attempt over time, one series (shape and colour) per exercise."""
    by_exercise: dict[str, list[Attempt]] = {}
    for attempt in sorted(_finished(attempts), key=lambda a: a.created_at):
        by_exercise.setdefault(attempt.assignment.exercise.title, []).append(attempt)
    data = [
        {
            "type": "scatter",
            "x": [a.created_at.isoformat() for a in series],
            "y": [a.final_stars for a in series],
            "mode": "lines+markers",
            "name": title,
            "marker": {
                "symbol": _SYMBOLS[i % len(_SYMBOLS)],
                "size": 12,
                "color": _COLOURS[i % len(_COLOURS)],
            },
            "line": {"color": _COLOURS[i % len(_COLOURS)], "width": 2},
            "hovertemplate": "%{x|%d %b %H:%M}: %{y} stars<extra>" + title + "</extra>",
        }
        for i, (title, series) in enumerate(sorted(by_exercise.items()))
    ]
    xaxis: dict[str, Any] = {"title": {"text": "Date"}, "type": "date", "tickformat": "%d %b"}
    times = [a.created_at for a in _finished(attempts)]
    if times:
        # At least a week on the axis, so a first try is not drawn against a seconds scale.
        start, end = min(times), max(times)
        pad = max(dt.timedelta(days=7) - (end - start), dt.timedelta(0)) / 2
        pad = max(pad, dt.timedelta(hours=12))
        xaxis["range"] = [(start - pad).isoformat(), (end + pad).isoformat()]
    layout = {
        **_LAYOUT,
        "xaxis": xaxis,
        "yaxis": {
            "range": [0.5, 3.5],
            "tickvals": [1, 2, 3],
            "ticktext": ["1 star", "2 stars", "3 stars"],
            "title": {"text": "Stars"},
        },
    }
    return {"data": data, "layout": layout}


def exercise_figure(attempts: Sequence[Attempt], target_word: str) -> dict[str, Any]:
    """How strongly the target emotion was heard in each try of one exercise (0-100 %)."""
    series = sorted(
        (a for a in _finished(attempts) if a.target_probability is not None),
        key=lambda a: a.created_at,
    )
    bars = {
        "type": "bar",
        "x": [f"Try {i + 1}" for i in range(len(series))],
        "y": [round(100 * (a.target_probability or 0.0)) for a in series],
        "text": [f"{'★' * (a.final_stars or 0)}" for a in series],
        "textposition": "outside",
        "marker": {"color": "#f0b400", "line": {"color": "#7a5b00", "width": 1}},
        "hovertemplate": "%{x}: %{y} % " + target_word + "<extra></extra>",
    }
    layout = {
        **_LAYOUT,
        "height": 260,
        "showlegend": False,
        # Room for at least five bars, so one or two tries do not stretch across the chart.
        "xaxis": {"range": [-0.5, max(4.5, len(series) - 0.5)]},
        "yaxis": {"range": [0, 110], "title": {"text": f"How {target_word} (%)"}},
    }
    return {"data": [bars], "layout": layout}


def voice_figure(contours: dict[str, dict[str, Any] | None]) -> dict[str, Any] | None:
    """The try and the model recording over time: the waveform (level envelope, top) and the
    melody (pitch in semitones from each voice's own median, bottom), target and attempt laid
    over each other on one time axis. None when neither clip can be drawn."""
    styles = {
        "attempt": ("This try", "#2857a4", "solid", "circle"),
        "model": ("Model recording", "#b5651d", "dash", "diamond"),
    }
    data: list[dict[str, Any]] = []
    for key, (name, colour, dash, _symbol) in styles.items():
        shape = contours.get(key)
        if not shape or not shape.get("times"):
            continue
        times = shape["times"]
        level = shape["level"]
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"{name}: waveform",
                "legendgroup": key,
                "x": times + times[::-1],
                "y": level + [-v for v in level[::-1]],
                "fill": "toself",
                "fillcolor": colour + ("55" if key == "attempt" else "22"),
                "line": {"color": colour, "width": 0.5 if key == "attempt" else 1, "dash": dash},
                "hoverinfo": "skip",
                "xaxis": "x",
                "yaxis": "y",
            }
        )
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"{name}: melody",
                "legendgroup": key,
                "x": times,
                "y": shape["pitch_st"],
                "connectgaps": False,
                "line": {"color": colour, "width": 2.5 if key == "attempt" else 2, "dash": dash},
                "hovertemplate": f"{name} %{{x:.1f}} s: %{{y:+.1f}} semitones<extra></extra>",
                "xaxis": "x",
                "yaxis": "y2",
            }
        )
    if not data:
        return None
    layout = {
        **_LAYOUT,
        "height": 380,
        "margin": {"l": 64, "r": 16, "t": 16, "b": 80},
        # Below the axis title ("Seconds"), not over it.
        "legend": {"orientation": "h", "y": -0.3, "yanchor": "top"},
        "hovermode": "closest",
        "xaxis": {"title": {"text": "Seconds"}, "anchor": "y2", "rangemode": "tozero"},
        "yaxis": {
            "domain": [0.62, 1.0],
            "range": [-1.05, 1.05],
            "showticklabels": False,
            "fixedrange": True,
            "title": {"text": "Waveform"},
            "zeroline": False,
        },
        "yaxis2": {
            "domain": [0.0, 0.52],
            "fixedrange": True,
            "title": {"text": "Melody<br>(semitones)"},
            "zeroline": True,
            "zerolinecolor": "#b8bfcc",
        },
    }
    return {"data": data, "layout": layout}
