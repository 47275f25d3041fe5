"""Forms of the therapist workspace: a phase line or goal on a child's trend charts."""

from __future__ import annotations

from typing import Any

from django import forms

from sessions.workspace.models import MarkerKind, TrendMetric


class TrendMarkerForm(forms.Form):
    """Checks a marker field by field, so each error can be shown beside its input."""

    kind = forms.ChoiceField(choices=MarkerKind.choices)
    date = forms.DateField(error_messages={"required": "Choose the date the phase or goal starts."})
    label = forms.CharField(
        max_length=80,
        error_messages={
            "required": "Give the marker a short label, e.g. “Phase B: emotion cards”."
        },
    )
    metric = forms.ChoiceField(choices=[("", "—"), *TrendMetric.choices], required=False)
    target = forms.CharField(required=False, max_length=20)

    def clean_label(self) -> str:
        label = str(self.cleaned_data["label"]).strip()
        if not label:
            raise forms.ValidationError(
                "Give the marker a short label, e.g. “Phase B: emotion cards”."
            )
        return label

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") != MarkerKind.GOAL:
            data["metric"], data["target"] = "", None
            return data
        metric = data.get("metric") or ""
        if not metric:
            self.add_error("metric", "A goal needs a measure: choose one.")
        raw = str(data.get("target") or "").strip().replace(",", ".").rstrip("%").strip()
        if not raw:
            self.add_error("target", "A goal needs a target value.")
            return data
        try:
            target = float(raw)
        except ValueError:
            self.add_error("target", "The target must be a number, e.g. 40 or 0.3.")
            return data
        if metric == TrendMetric.TALK_SHARE and target > 1:
            target /= 100.0  # typed as a percentage
        low, high = (0.0, 1.0) if metric == TrendMetric.TALK_SHARE else (-1.0, 1.0)
        if not low <= target <= high:
            text = "0 and 100 %" if metric == TrendMetric.TALK_SHARE else f"{low:g} and {high:g}"
            self.add_error("target", f"The target must be between {text}.")
            return data
        data["target"] = target
        return data


class SessionGoalForm(forms.Form):
    """An optional goal set when a session is created: drawn on the child's trends as a goal
    line from the session's date (a ``TrendMarker``), like the goals added on the child page."""

    prefix = "goal"

    label = forms.CharField(
        max_length=80,
        required=False,
        label="Goal (optional)",
        help_text="What the child works towards, e.g. “Talks for a third of the session”.",
    )
    metric = forms.ChoiceField(
        choices=[("", "—"), *TrendMetric.choices], required=False, label="Measured by"
    )
    target = forms.CharField(
        required=False,
        max_length=20,
        label="Target",
        help_text="Talk-time share as a percentage (e.g. 35); valence and arousal from -1 to +1.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        label = str(data.get("label") or "").strip()
        if not label and not data.get("metric") and not str(data.get("target") or "").strip():
            data["goal"] = None  # no goal: nothing to check
            return data
        if not label:
            self.add_error("label", "Name the goal, or leave all three goal fields empty.")
        marker = TrendMarkerForm(
            {
                "kind": MarkerKind.GOAL,
                "date": "2000-01-01",  # the session's date is used; only the rest is checked
                "label": label or "goal",
                "metric": data.get("metric") or "",
                "target": data.get("target") or "",
            }
        )
        if not marker.is_valid():
            for name in ("metric", "target"):
                for message in marker.errors.get(name, []):
                    self.add_error(name, message)
            return data
        data["goal"] = {
            "label": label,
            "metric": marker.cleaned_data["metric"],
            "target": marker.cleaned_data["target"],
        }
        return data
