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
