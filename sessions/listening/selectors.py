"""Reads of listening practice: a child's board, the items of a set, streaks and the figures.

Access is decided in ``sessions.access``; every function here takes objects the caller fetched
through it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from analysis.engine.practice.feedback import EMOTION_WORDS
from analysis.engine.practice.listening import (
    Answer,
    accuracy_by_week,
    accuracy_per_emotion,
    confusion,
    response_times,
)
from sessions.exercises.progress import streak
from sessions.listening.models import ListeningAnswer, ListeningAssignment
from sessions.listening.services import item_choices
from sessions.models import Child


def today() -> dt.date:
    return timezone.localdate()


def child_assignments(
    *, child: Child, include_ended: bool = False
) -> QuerySet[ListeningAssignment]:
    queryset = ListeningAssignment.objects.filter(child=child).select_related("listening_set")
    if not include_ended:
        queryset = queryset.filter(ended_at__isnull=True)
    return queryset.order_by("listening_set__choice_count", "listening_set__title")


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def family_board(*, child: Child, day: dt.date | None = None) -> dict[str, Any]:
    """Sets due today (with today's right answers), other active ones, and the streak."""
    day = day or today()
    assignments = [a for a in child_assignments(child=child) if a.is_active_on(day)]
    todays = ListeningAnswer.objects.filter(child=child, answered_at__gte=_day_start(day))
    answered: dict[Any, list[int]] = {}
    for assignment_id, correct in todays.values_list("assignment_id", "correct"):
        cell = answered.setdefault(assignment_id, [0, 0])
        cell[0] += 1
        cell[1] += int(correct)
    due: list[dict[str, Any]] = []
    other: list[dict[str, Any]] = []
    for assignment in assignments:
        n, right = answered.get(assignment.pk, [0, 0])
        item = {"assignment": assignment, "answered_today": n, "right_today": right}
        (due if assignment.is_due_on(day) else other).append(item)
    return {
        "day": day,
        "due": due,
        "other": other,
        "done_today": sum(1 for item in due if int(item["answered_today"])),
        "streak": child_streak(child=child, day=day),
    }


def child_streak(*, child: Child, day: dt.date | None = None) -> int:
    """Listening days in a row, counted as speaking practice streaks are
    (``sessions.exercises.progress.streak``)."""
    day = day or today()
    assignments = list(ListeningAssignment.objects.filter(child=child))
    since = _day_start(day - dt.timedelta(days=366))
    practised = {
        timezone.localdate(at)
        for at in ListeningAnswer.objects.filter(child=child, answered_at__gte=since).values_list(
            "answered_at", flat=True
        )
    }
    return streak(
        practised, today=day, is_scheduled=lambda d: any(a.is_due_on(d) for a in assignments)
    )


def set_items(assignment: ListeningAssignment) -> list[dict[str, Any]]:
    """What the listening page plays: per clip its audio URL, whether it is generated, and the
    choices (emotion and the child's word for it)."""
    clips = assignment.listening_set.clips.filter(archived_at__isnull=True).order_by(
        "emotion", "created_at"
    )
    items: list[dict[str, Any]] = []
    for clip in clips:
        items.append(
            {
                "clip": str(clip.pk),
                "audio_url": reverse("listening_clip_audio", args=[clip.pk]),
                "generated": clip.is_generated,
                # The person-given label: the page gives its feedback at once, even offline.
                "emotion": clip.emotion,
                "word": EMOTION_WORDS.get(clip.emotion, clip.emotion),
                "choices": [
                    {"emotion": e, "word": EMOTION_WORDS.get(e, e)}
                    for e in item_choices(assignment, clip)
                ],
            }
        )
    # A fixed shuffle per assignment, so the clips don't come sorted by emotion.
    items.sort(key=lambda item: hash_order(str(assignment.pk), str(item["clip"])))
    return items


def hash_order(*parts: str) -> str:
    return hashlib.sha256(":".join(parts).encode()).hexdigest()


def child_answers(*, child: Child) -> QuerySet[ListeningAnswer]:
    return (
        ListeningAnswer.objects.filter(child=child)
        .select_related("assignment__listening_set", "clip")
        .order_by("-answered_at")
    )


def engine_answers(answers: Any) -> list[Answer]:
    return [
        Answer(a.target_emotion, a.chosen_emotion, a.response_ms, timezone.localdate(a.answered_at))
        for a in answers
    ]


def child_figures(*, child: Child, since: dt.datetime | None = None) -> dict[str, Any]:
    """Accuracy per emotion (all time and per week), the confusion matrix and response times
    of the child's answers (``since`` a time, if given)."""
    answers = ListeningAnswer.objects.filter(child=child)
    if since is not None:
        answers = answers.filter(answered_at__gte=since)
    rows = engine_answers(
        answers.only("target_emotion", "chosen_emotion", "response_ms", "answered_at")
    )
    return {
        "answers": len(rows),
        "correct": sum(1 for a in rows if a.correct),
        "per_emotion": accuracy_per_emotion(rows),
        "by_week": accuracy_by_week(rows),
        "confusion": confusion(rows),
        "times": response_times(rows),
    }


def trend_table(figures: dict[str, Any], *, weeks: int = 6) -> dict[str, Any]:
    """The last ``weeks`` weeks with answers as columns, a row per clip feeling with the right
    answers of each week ("2 of 3" or None), and the confusions (clip feeling heard as another)
    most common first."""
    week_list = sorted({p.week for p in figures["by_week"]})[-weeks:]
    cells = {(p.emotion, p.week): p for p in figures["by_week"]}
    rows = [
        {
            "emotion": row.emotion,
            "cells": [cells.get((row.emotion, week)) for week in week_list],
            "total": row,
        }
        for row in figures["per_emotion"]
    ]
    matrix = figures["confusion"]
    mixups = sorted(
        (
            {"target": matrix.labels[i], "chosen": matrix.labels[j], "count": n}
            for i, row in enumerate(matrix.counts)
            for j, n in enumerate(row)
            if i != j and n
        ),
        key=lambda m: -int(m["count"]),
    )
    return {"weeks": week_list, "rows": rows, "mixups": mixups[:3]}


def report_figures(*, child: Child, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Listening practice of a report's period as plain JSON (frozen into a released report):
    answers, right ones, per clip feeling, the most common mix-ups, median response time."""
    answers = ListeningAnswer.objects.filter(
        child=child, answered_at__gte=_day_start(start),
        answered_at__lt=_day_start(end + dt.timedelta(days=1)),
    )  # fmt: skip
    rows = engine_answers(answers)
    figures: dict[str, Any] = {
        "answers": len(rows),
        "correct": sum(1 for a in rows if a.correct),
        "per_emotion": accuracy_per_emotion(rows),
        "by_week": accuracy_by_week(rows),
        "confusion": confusion(rows),
        "times": response_times(rows),
    }
    table = trend_table(figures, weeks=0)
    return {
        "answers": figures["answers"],
        "correct": figures["correct"],
        "per_emotion": [
            {"emotion": r.emotion, "word": EMOTION_WORDS.get(r.emotion, r.emotion),
             "answers": r.answers, "correct": r.correct}
            for r in figures["per_emotion"]
        ],
        "mixups": [
            {**m, "target_word": EMOTION_WORDS.get(m["target"], m["target"]),
             "chosen_word": EMOTION_WORDS.get(m["chosen"], m["chosen"])}
            for m in table["mixups"]
        ],
        "median_ms": figures["times"].median_ms,
    }  # fmt: skip
