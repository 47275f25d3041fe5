"""Plotly figures of the validation page, built from ``selectors.version_report`` as plain
plotly.js figure dicts like every interactive chart of the portal (checked against
plotly.graph_objects in the tests, not at run time) and embedded as JSON (``json_script``); the
vendored plotly.js draws them (``static/js/models_console.js``). Every figure names its item
count and has a table twin on the page."""

from __future__ import annotations

from typing import Any


def _figure(data: list[dict[str, Any]], layout: dict[str, Any]) -> dict[str, Any]:
    return {"data": data, "layout": layout}


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": title},
        "margin": {"l": 90, "r": 20, "t": 60, "b": 70},
        "height": 380,
        **extra,
    }


def confusion_figure(report: dict[str, Any]) -> dict[str, Any]:
    labels = report["labels"]
    matrix = report["confusion"]
    shares = [[c / sum(row) if sum(row) else 0.0 for c in row] for row in matrix]
    text = [[str(c) for c in row] for row in matrix]
    return _figure(
        [
            {
                "type": "heatmap",
                "z": shares,
                "x": labels,
                "y": labels,
                "text": text,
                "texttemplate": "%{text}",
                "colorscale": "Blues",
                "zmin": 0,
                "zmax": 1,
                "hovertemplate": "therapist %{y}, model %{x}: %{text} items<extra></extra>",
            }
        ],
        _layout(
            f"Therapist (rows) vs model (columns), {report['n']} items",
            xaxis={"title": {"text": "model"}},
            yaxis={"title": {"text": "therapist"}, "autorange": "reversed"},
            height=max(380, 50 * len(labels) + 160),
        ),
    )


def rates_figure(report: dict[str, Any]) -> dict[str, Any]:
    rows = report["rates"]
    labels = [f"{r['label']} (n={r['support']})" for r in rows]
    return _figure(
        [
            {"type": "bar", "name": "recall", "x": labels, "y": [r["recall"] for r in rows]},
            {
                "type": "bar",
                "name": "precision",
                "x": labels,
                "y": [r["precision"] for r in rows],
            },
        ],
        _layout(
            f"Per emotion, {report['n']} items",
            barmode="group",
            yaxis={"range": [0, 1], "tickformat": ".0%"},
        ),
    )


def reliability_figure(report: dict[str, Any]) -> dict[str, Any]:
    diagram = report["reliability"]
    return _figure(
        [
            {
                "type": "scatter",
                "name": "model",
                "x": diagram["mean_confidence"],
                "y": diagram["fraction_correct"],
                "mode": "lines+markers+text",
                "text": [f"n={c}" for c in diagram["counts"]],
                "textposition": "top center",
            },
            {
                "type": "scatter",
                "name": "perfectly calibrated",
                "x": [0, 1],
                "y": [0, 1],
                "mode": "lines",
                "line": {"dash": "dash", "color": "grey"},
            },
        ],
        _layout(
            f"Is the model's confidence right that often? {report['n']} items",
            xaxis={"title": {"text": "model confidence"}, "range": [0, 1], "tickformat": ".0%"},
            yaxis={"title": {"text": "share agreed"}, "range": [0, 1], "tickformat": ".0%"},
        ),
    )


def weeks_figure(report: dict[str, Any]) -> dict[str, Any]:
    rows = report["by_week"]
    return _figure(
        [
            {
                "type": "scatter",
                "x": [r["group"] for r in rows],
                "y": [r["agreement"] for r in rows],
                "mode": "lines+markers+text",
                "text": [f"n={r['n']}" for r in rows],
                "textposition": "top center",
                "name": "share agreed",
            }
        ],
        _layout(
            "Agreement per week (drift)",
            yaxis={"range": [0, 1], "tickformat": ".0%"},
            xaxis={"title": {"text": "week (Monday)"}, "type": "category"},
        ),
    )


def validation_figures(report: dict[str, Any]) -> list[dict[str, Any]]:
    if not report["n"]:
        return []
    figures = [
        ("vfig-confusion", "Confusion matrix", confusion_figure),
        ("vfig-rates", "Recall and precision", rates_figure),
        ("vfig-reliability", "Reliability diagram", reliability_figure),
        ("vfig-weeks", "Agreement per week", weeks_figure),
    ]
    return [
        {"element_id": element_id, "title": title, "figure": build(report)}
        for element_id, title, build in figures
    ]
