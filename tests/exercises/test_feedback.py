"""Stars, messages and streaks: the plain-Python rules of the feedback."""

from __future__ import annotations

import datetime as dt

import pytest

from analysis.engine.labels import CANONICAL_LABELS
from analysis.engine.practice.feedback import message_for, verdict
from sessions.exercises.progress import streak


def probs(**given: float) -> dict[str, float]:
    rest = (1.0 - sum(given.values())) / (len(CANONICAL_LABELS) - len(given))
    return {label: given.get(label, rest) for label in CANONICAL_LABELS}


def test_a_clearly_happy_voice_gets_three_stars_and_counts_as_conveyed() -> None:
    v = verdict(probs(happy=0.7), "happy", seed="a")
    assert v.stars == 3 and v.conveyed
    assert v.top[0] == ("happy", pytest.approx(0.7))
    assert "happy" in v.message


def test_target_heard_most_but_weakly_gets_two_stars() -> None:
    v = verdict(probs(happy=0.3, neutral=0.25), "happy")
    assert v.stars == 2 and v.conveyed


def test_runner_up_target_gets_two_stars_but_is_not_conveyed() -> None:
    v = verdict(probs(neutral=0.4, happy=0.3), "happy")
    assert v.stars == 2 and not v.conveyed


def test_a_nearby_feeling_earns_two_stars_a_far_one_one_star() -> None:
    # Calm heard as neutral is close on the valence/arousal plane...
    near = verdict(probs(neutral=0.5, calm=0.1, sad=0.1), "calm")
    assert near.stars == 2 and not near.conveyed
    # ...happy heard as angry is not.
    far = verdict(probs(angry=0.8, happy=0.01), "happy")
    assert far.stars == 1 and not far.conveyed


def test_a_try_never_gets_zero_stars_and_messages_stay_kind() -> None:
    for label in CANONICAL_LABELS:
        for target in CANONICAL_LABELS:
            v = verdict(probs(**{label: 0.9}), target, seed=label)
            assert 1 <= v.stars <= 3
            assert not any(word in v.message.lower() for word in ("wrong", "bad", "fail"))


def test_messages_vary_with_the_seed_but_are_stable_for_one_attempt() -> None:
    assert message_for(3, "happy", "x") == message_for(3, "happy", "x")
    assert len({message_for(3, "happy", str(i)) for i in range(20)}) > 1
    assert "scared" in message_for(3, "fearful", "")  # children's words, not labels


def test_unknown_target_is_refused() -> None:
    with pytest.raises(ValueError):
        verdict(probs(happy=0.5), "joyful")


MON = dt.date(2026, 11, 2)  # a Monday


def every_day(day: dt.date) -> bool:
    return True


def mon_wed_fri(day: dt.date) -> bool:
    return day.weekday() in (0, 2, 4)


def test_streak_counts_consecutive_practice_days() -> None:
    days = {MON, MON + dt.timedelta(1), MON + dt.timedelta(2)}
    assert streak(days, today=MON + dt.timedelta(2), is_scheduled=every_day) == 3


def test_today_not_yet_practised_does_not_break_the_streak() -> None:
    days = {MON, MON + dt.timedelta(1)}
    assert streak(days, today=MON + dt.timedelta(2), is_scheduled=every_day) == 2


def test_a_missed_scheduled_day_ends_the_streak() -> None:
    days = {MON, MON + dt.timedelta(2)}  # Tuesday missed
    assert streak(days, today=MON + dt.timedelta(2), is_scheduled=every_day) == 1


def test_unscheduled_days_do_not_break_the_streak() -> None:
    friday = MON + dt.timedelta(4)
    days = {MON, MON + dt.timedelta(2), friday}
    assert streak(days, today=friday + dt.timedelta(1), is_scheduled=mon_wed_fri) == 3


def test_no_practice_no_streak() -> None:
    assert streak(set(), today=MON, is_scheduled=every_day) == 0
