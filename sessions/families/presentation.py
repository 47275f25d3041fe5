"""Shaping a report's data for its screens and the PDF: sentences, charts and tables.

One function builds the context so the staff preview, the family page and the PDF show the
same report.
"""

from __future__ import annotations

from typing import Any

from analysis.engine.labels import CANONICAL_LABELS
from sessions.families import charts, selectors, wording
from sessions.families.models import ProgressReport


def report_context(report: ProgressReport, *, pdf: bool = False) -> dict[str, Any]:
    data = selectors.report_data(report)
    name = report.child.given_name
    uid = f"r{str(report.pk)[:8]}"
    rows = data.get("sessions", [])
    with_data = [r for r in rows if r.get("child")]
    overall = data.get("overall") or {}
    calm = [
        (r["date"], r["child"]["mood"]["positive"] + r["child"]["mood"]["neutral"])
        for r in with_data
    ]
    talk = [(r["date"], r["child"].get("talk_share")) for r in with_data]
    layout = charts.PRINT if pdf else charts.WEB
    return {
        "report": report,
        "child": report.child,
        "name": name,
        "data": data,
        "pdf": pdf,
        "sentences": wording.at_a_glance(data, name),
        "exercise_sentence": wording.exercise_sentence(data.get("exercises"), name),
        "disclaimer": wording.DISCLAIMER,
        "session_rows": rows,
        "emotion_rows": [
            (label.capitalize(), overall.get("emotion_shares", {}).get(label, 0.0))
            for label in CANONICAL_LABELS
        ]
        if overall
        else [],
        "chart_calm": charts.trend_line(
            calm,
            uid=f"{uid}-calm",
            title=f"How often {name} sounded calm or cheerful",
            axis_label="Calm or cheerful, share of speaking time",
            layout=layout,
        ),
        "chart_mood": charts.mood_bars(rows, uid=f"{uid}-mood", name=name, layout=layout),
        "chart_talk": charts.trend_line(
            talk,
            uid=f"{uid}-talk",
            title=f"How much of the talking {name} did",
            axis_label=f"{name}'s share of the talking",
            layout=layout,
        ),
        "chart_emotions": charts.emotion_bars(
            overall.get("emotion_shares", {}), uid=f"{uid}-emo", name=name, layout=layout
        )
        if overall
        else "",
    }
