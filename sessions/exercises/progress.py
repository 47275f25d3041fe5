"""Practice streaks, in plain Python.

A streak counts the practice days in a row, where only days with an exercise scheduled count:
a child who practises every scheduled Monday, Wednesday and Friday keeps their streak over the
days in between. Today never breaks a streak (the day is not over yet) but adds to it once
practised.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

MAX_LOOKBACK_DAYS = 366


def streak(
    practised: Iterable[dt.date],
    *,
    today: dt.date,
    is_scheduled: Callable[[dt.date], bool],
) -> int:
    """Consecutive scheduled days, ending today (or yesterday's last scheduled day), practised.

    A day with practice counts even if nothing was scheduled that day (extra practice is never
    penalised); a scheduled day without practice ends the streak.
    """
    days = set(practised)
    count = 0
    day = today
    for _ in range(MAX_LOOKBACK_DAYS):
        if day in days:
            count += 1
        elif is_scheduled(day) and day != today:
            break
        day -= dt.timedelta(days=1)
    return count
