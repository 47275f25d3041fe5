"""``{% listening_today child %}``: today's listening sets, for the family's practice page
beside the speaking exercises (so that page's view needs no change)."""

from __future__ import annotations

from typing import Any

from django import template

from sessions.listening.selectors import family_board

register = template.Library()


@register.inclusion_tag("listening/_today.html")
def listening_today(child: Any) -> dict[str, Any]:
    return {"child": child, "board": family_board(child=child)}


@register.inclusion_tag("listening/_child_trends.html")
def listening_trends(child: Any, weeks: int = 6) -> dict[str, Any]:
    """The child's listening results for the child page, beside the speaking trends: right
    answers per feeling in each of the last ``weeks`` weeks with answers, and the most common
    confusions. Staff only (the child page is)."""
    from sessions.listening.selectors import child_figures, trend_table

    figures = child_figures(child=child)
    return {"child": child, "figures": figures, **trend_table(figures, weeks=weeks)}
