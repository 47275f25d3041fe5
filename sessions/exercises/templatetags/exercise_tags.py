"""Stars, emotion faces and numbers for the practice pages."""

from __future__ import annotations

from typing import Any

from django import template

from analysis.engine.practice.feedback import EMOTION_WORDS

register = template.Library()


@register.inclusion_tag("exercises/_stars.html")
def stars(count: int | None, size: str = "big") -> dict[str, Any]:
    """Three stars, ``count`` of them filled, with the same in words for screen readers."""
    n = int(count or 0)
    return {"filled": range(n), "empty": range(3 - n), "count": n, "size": size}


@register.inclusion_tag("exercises/_face.html")
def face(emotion: str, size: int = 64) -> dict[str, Any]:
    return {"emotion": emotion, "size": size}


@register.filter
def emotion_word(label: str) -> str:
    return EMOTION_WORDS.get(label, label)


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{round(100 * float(value))} %"


@register.filter
def percent_number(value: float | None) -> int:
    return 0 if value is None else round(100 * float(value))


@register.filter
def signed(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{float(value):+.{digits}f}"


@register.filter
def number(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{float(value):.{digits}f}"
