"""Plotly figures of listening practice, built from ``selectors.child_figures`` (plotly.js
figure dicts, as ``sessions.exercises.charts``). Each chart has a table beside it that says the
same, for screen readers and people who do not read charts."""

from __future__ import annotations

from typing import Any

from analysis.engine.practice.feedback import EMOTION_WORDS
from analysis.engine.practice.listening import Confusion, WeekPoint
from sessions.exercises.charts import _COLOURS, _LAYOUT, _SYMBOLS


def _word(emotion: str) -> str:
    return EMOTION_WORDS.get(emotion, emotion)


def confusion_figure(matrix: Confusion) -> dict[str, Any]:
    """Rows: the clip's emotion; columns: what the child picked; cells: share of the row's
    answers (the count in the hover and the cell text)."""
    words = [_word(label) for label in matrix.labels]
    shares = [
        [round(matrix.share(i, j) or 0.0, 3) for j in range(len(matrix.labels))]
        for i in range(len(matrix.labels))
    ]
    text = [[str(n) if n else "" for n in row] for row in matrix.counts]
    return {
        "data": [
            {
                "type": "heatmap",
                "z": shares,
                "x": words,
                "y": words,
                "text": text,
                "texttemplate": "%{text}",
                "customdata": matrix.counts,
                "zmin": 0,
                "zmax": 1,
                "colorscale": [[0, "#ffffff"], [1, "#2857a4"]],
                "colorbar": {"title": {"text": "Share"}, "tickformat": ".0%"},
                "hovertemplate": "Clip %{y}, picked %{x}: %{customdata} (%{z:.0%})<extra></extra>",
            }
        ],
        "layout": {
            **_LAYOUT,
            "height": 360,
            "margin": {"l": 96, "r": 16, "t": 16, "b": 72},
            "xaxis": {"title": {"text": "Picked"}, "side": "bottom"},
            "yaxis": {"title": {"text": "The clip's feeling"}, "autorange": "reversed"},
        },
    }


def accuracy_figure(points: list[WeekPoint]) -> dict[str, Any]:
    """Share right per clip emotion per week, one line (shape and colour) per emotion."""
    emotions = list(dict.fromkeys(p.emotion for p in points))
    data = []
    for i, emotion in enumerate(emotions):
        series = [p for p in points if p.emotion == emotion]
        colour = _COLOURS[i % len(_COLOURS)]
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": _word(emotion),
                "x": [p.week.isoformat() for p in series],
                "y": [round(p.accuracy, 3) for p in series],
                "customdata": [[p.correct, p.answers] for p in series],
                "marker": {"symbol": _SYMBOLS[i % len(_SYMBOLS)], "size": 11, "color": colour},
                "line": {"color": colour, "width": 2},
                "hovertemplate": "Week of %{x|%d %b}: %{customdata[0]} of %{customdata[1]} right"
                f"<extra>{_word(emotion)}</extra>",
            }
        )
    return {
        "data": data,
        "layout": {
            **_LAYOUT,
            "xaxis": {"title": {"text": "Week"}, "type": "date", "tickformat": "%d %b"},
            "yaxis": {"title": {"text": "Right"}, "range": [0, 1.05], "tickformat": ".0%"},
        },
    }
