"""Listening-practice figures on hand-made answers: the numbers are worked out in comments."""

from __future__ import annotations

import datetime as dt

from analysis.engine.practice.listening import (
    Answer,
    accuracy_by_week,
    accuracy_per_emotion,
    choices_for,
    confusion,
    response_times,
)

MON = dt.date(2026, 11, 2)  # a Monday
ANSWERS = [
    # happy: 3 of 4 right, once heard as surprised.
    Answer("happy", "happy", 1200, MON),
    Answer("happy", "happy", 800, MON),
    Answer("happy", "surprised", 3000, MON + dt.timedelta(days=2)),
    Answer("happy", "happy", 1000, MON + dt.timedelta(days=7)),
    # sad: 1 of 3 right, twice heard as calm.
    Answer("sad", "calm", 2500, MON),
    Answer("sad", "calm", None, MON + dt.timedelta(days=8)),
    Answer("sad", "sad", 1500, MON + dt.timedelta(days=9)),
    # angry: 0 of 1.
    Answer("angry", "happy", 4000, MON + dt.timedelta(days=9)),
]


def test_accuracy_per_emotion_counts_answers_and_right_ones_in_canonical_order() -> None:
    result = {row.emotion: (row.answers, row.correct) for row in accuracy_per_emotion(ANSWERS)}
    assert result == {"happy": (4, 3), "sad": (3, 1), "angry": (1, 0)}
    rows = accuracy_per_emotion(ANSWERS)
    assert [row.emotion for row in rows] == ["happy", "sad", "angry"]
    assert rows[0].accuracy == 0.75
    assert abs(rows[1].accuracy - 1 / 3) < 1e-9  # type: ignore[operator]
    assert rows[2].accuracy == 0.0


def test_confusion_rows_are_the_clips_emotion_and_columns_the_answer() -> None:
    matrix = confusion(ANSWERS)
    assert matrix.labels == ["calm", "happy", "sad", "angry", "surprised"]
    happy, sad, angry = (matrix.labels.index(e) for e in ("happy", "sad", "angry"))
    calm = matrix.labels.index("calm")
    assert matrix.counts[happy] == [0, 3, 0, 0, 1]
    assert matrix.counts[sad][calm] == 2 and matrix.counts[sad][sad] == 1
    assert matrix.counts[angry][happy] == 1
    assert matrix.counts[calm] == [0, 0, 0, 0, 0]  # no calm clip was played
    assert matrix.share(sad, calm) == 2 / 3
    assert matrix.share(calm, calm) is None
    assert sum(map(sum, matrix.counts)) == len(ANSWERS)
    fixed = confusion(ANSWERS, labels=["happy", "sad"])
    assert fixed.counts == [[3, 0], [0, 1]]  # answers outside the labels are left out


def test_response_time_medians_leave_out_untimed_answers() -> None:
    times = response_times(ANSWERS)
    assert times.answers == 7
    # all: 800 1000 1200 1500 2500 3000 4000 -> 1500
    assert times.median_ms == 1500
    # right: 800 1000 1200 1500 -> 1100; wrong: 2500 3000 4000 -> 3000
    assert times.median_correct_ms == 1100
    assert times.median_wrong_ms == 3000
    assert response_times([]).median_ms is None


def test_accuracy_by_week_groups_by_monday() -> None:
    points = [(p.week, p.emotion, p.answers, p.correct) for p in accuracy_by_week(ANSWERS)]
    week2 = MON + dt.timedelta(days=7)
    assert points == [
        (MON, "happy", 3, 2),
        (MON, "sad", 1, 0),
        (week2, "happy", 1, 1),
        (week2, "sad", 2, 1),
        (week2, "angry", 1, 0),
    ]


def test_choices_always_hold_the_clips_emotion_and_are_stable_for_a_seed() -> None:
    pool = ["happy", "sad", "angry", "calm"]
    for count in (2, 3, 4):
        for seed in ("a", "b", "c", "d"):
            picked = choices_for("sad", pool, count, seed=seed)
            assert len(picked) == count and len(set(picked)) == count
            assert "sad" in picked and set(picked) <= set(pool)
            assert picked == choices_for("sad", pool, count, seed=seed)
    # The right answer does not always sit in the same place.
    places = {choices_for("sad", pool, 4, seed=str(i)).index("sad") for i in range(20)}
    assert len(places) > 1


def test_choices_from_a_too_small_pool_still_offer_a_real_choice() -> None:
    picked = choices_for("happy", ["happy"], 3, seed="x")
    assert len(picked) == 3 and "happy" in picked
    # Every feeling of a small set is offered before any from outside it.
    for seed in map(str, range(10)):
        picked = choices_for("sad", ["sad", "calm"], 4, seed=seed)
        assert len(set(picked)) == 4 and {"sad", "calm"} <= set(picked)
    assert len(choices_for("happy", ["happy", "sad"], 9, seed="x")) == 4
    assert len(choices_for("happy", ["happy", "sad"], 1, seed="x")) == 2
