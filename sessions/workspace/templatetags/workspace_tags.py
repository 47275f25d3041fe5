"""Formatting for the workspace templates: clock times, shares and signed changes."""

from __future__ import annotations

from typing import Any

from django import template

from sessions.workspace.charts import clock as _clock

register = template.Library()


@register.filter
def clock(seconds: Any) -> str:
    """1234.5 -> "20:35"; empty for unknown durations."""
    if seconds in (None, ""):
        return ""
    return _clock(float(seconds))


@register.filter
def percent(value: Any) -> str:
    if value in (None, ""):
        return "—"
    return f"{float(value) * 100:.0f}%"


@register.filter
def percent_width(value: Any) -> str:
    """A CSS width for a share (0-1), never below a hairline so small shares stay visible."""
    if value in (None, ""):
        return "0%"
    return f"{max(float(value) * 100, 0.5):.1f}%"


@register.filter
def signed(value: Any, digits: int = 2) -> str:
    if value in (None, ""):
        return "—"
    return f"{float(value):+.{int(digits)}f}".replace("-", "\u2212")


@register.filter
def change(row: dict[str, Any]) -> str:
    """A change between sessions in words and symbols (never colour alone)."""
    delta = row["delta"]
    if row["kind"] == "share":
        points = delta * 100
        if abs(points) < 1:
            return "about the same"
        return f"{'▲ up' if points > 0 else '▼ down'} {abs(points):.0f} points"
    if abs(delta) < 0.05:
        return "about the same"
    return f"{'▲ up' if delta > 0 else '▼ down'} {abs(delta):.2f}"


@register.filter
def valence_words(value: Any) -> str:
    if value in (None, ""):
        return ""
    v = float(value)
    if v > 0.15:
        return "rather pleasant"
    if v < -0.15:
        return "rather unpleasant"
    return "neutral"


@register.filter
def arousal_words(value: Any) -> str:
    if value in (None, ""):
        return ""
    v = float(value)
    if v > 0.15:
        return "rather energetic"
    if v < -0.15:
        return "rather calm, low energy"
    return "moderate energy"


@register.filter
def pattern_class(label: str) -> str:
    return f"pat-{label}"


@register.filter
def get(mapping: Any, key: str) -> Any:
    return mapping.get(key) if hasattr(mapping, "get") else None
