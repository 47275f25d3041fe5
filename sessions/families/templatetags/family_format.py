"""Number formatting for report templates: whole percentages, never raw fractions."""

from __future__ import annotations

import datetime as dt

from django import template

register = template.Library()


@register.filter
def pct(value: object) -> str:
    """0.623 -> "62%"; missing -> "—"."""
    if not isinstance(value, int | float):
        return "—"
    return f"{round(float(value) * 100)}%"


@register.filter
def isoday(value: object) -> str:
    """ "2026-10-01" -> "1 Oct 2026" (dates inside a report's frozen JSON summary)."""
    try:
        day = dt.date.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return f"{day.day} {day:%b %Y}"
