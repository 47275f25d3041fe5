"""Plotly figures of the model registry screens, built from selector output (never in
templates). Each function returns a plain dict in plotly.js's figure format (the one way the
portal builds interactive charts; ``docs/architecture.md`` says why), which the template embeds
with ``json_script`` and ``static/js/models_console.js`` draws with the vendored plotly.js.
Every figure has a text twin on the page (a table), so nothing is conveyed by colour alone.
"""

from __future__ import annotations

from typing import Any


def confusion_figure(confusion: dict[str, Any], *, title: str) -> dict[str, Any] | None:
    """Heatmap of a confusion matrix (rows true, columns predicted). Cell colour is the share
    of the true class (row-normalised recall), cell text the count and that share."""
    labels = list(confusion.get("labels") or [])
    matrix = confusion.get("matrix") or []
    if not labels or len(matrix) != len(labels):
        return None
    shares: list[list[float]] = []
    text: list[list[str]] = []
    for row in matrix:
        total = sum(row)
        shares.append([count / total if total else 0.0 for count in row])
        text.append([f"{count}<br>{(count / total if total else 0.0):.0%}" for count in row])
    heatmap = {
        "type": "heatmap",
        "z": shares,
        "x": labels,
        "y": labels,
        "text": text,
        "texttemplate": "%{text}",
        "colorscale": "Blues",
        "zmin": 0,
        "zmax": 1,
        "colorbar": {"title": {"text": "share of true class"}, "tickformat": ".0%"},
        "hovertemplate": "true %{y}, predicted %{x}: %{text}<extra></extra>",
    }
    layout = {
        "title": {"text": title},
        "xaxis": {"title": {"text": "predicted"}, "side": "bottom"},
        "yaxis": {"title": {"text": "true"}, "autorange": "reversed"},
        "margin": {"l": 90, "r": 20, "t": 50, "b": 80},
        "height": max(320, 60 * len(labels) + 140),
    }
    return {"data": [heatmap], "layout": layout}


def evaluation_figures(summary: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One confusion figure per grouping of ``registry_selectors.evaluation_summary``."""
    if not summary:
        return []
    figures = []
    for row in summary.get("rows", []):
        if row.get("confusion"):
            figure = confusion_figure(row["confusion"], title=f"Confusion matrix: {row['title']}")
            if figure is not None:
                figures.append(
                    {
                        "key": row["key"],
                        "element_id": f"figure-data-{row['key']}",
                        "title": row["title"],
                        "figure": figure,
                    }
                )
    return figures
