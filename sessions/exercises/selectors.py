"""Reads of practice exercises: a child's board, streak, attempts and progress.

Who may see or change an exercise, assignment or attempt, and the fetch-if-allowed helpers
(``get_exercise_for_user``, ``get_assignment_for_user``, ``get_attempt_for_user``, ...), live in
``sessions.access``; every function here takes objects the caller already fetched through it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from analysis.engine.prosody import Baseline, Prosody, baseline_from
from sessions.exercises.models import (
    Assignment,
    Attempt,
    AttemptStatus,
)
from sessions.exercises.progress import streak
from sessions.models import Child


def child_assignments(*, child: Child, include_ended: bool = False) -> QuerySet[Assignment]:
    queryset = Assignment.objects.filter(child=child).select_related("exercise")
    if not include_ended:
        queryset = queryset.filter(ended_at__isnull=True)
    return queryset.order_by("exercise__difficulty", "exercise__title")


def today() -> dt.date:
    return timezone.localdate()


def family_exercise_board(*, child: Child, day: dt.date | None = None) -> dict[str, Any]:
    """What the family page shows: exercises due today (with today's best stars), the other
    active ones, and the streak."""
    day = day or today()
    assignments = [a for a in child_assignments(child=child) if a.is_active_on(day)]
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    todays = Attempt.objects.filter(child=child, created_at__gte=start)
    best: dict[Any, int] = {}
    tried: set[Any] = set()
    for attempt in todays:
        tried.add(attempt.assignment_id)
        stars = attempt.final_stars or 0
        best[attempt.assignment_id] = max(best.get(attempt.assignment_id, 0), stars)
    due: list[dict[str, Any]] = []
    other: list[dict[str, Any]] = []
    for assignment in assignments:
        item = {
            "assignment": assignment,
            "best_stars_today": best.get(assignment.pk, 0),
            "tried_today": assignment.pk in tried,
        }
        (due if assignment.is_due_on(day) else other).append(item)
    return {
        "day": day,
        "due": due,
        "other": other,
        "done_today": sum(1 for item in due if item["tried_today"]),
        "streak": child_streak(child=child, day=day),
    }


def child_streak(*, child: Child, day: dt.date | None = None) -> int:
    day = day or today()
    assignments = list(Assignment.objects.filter(child=child))
    since = day - dt.timedelta(days=366)
    practised = {
        timezone.localdate(created)
        for created in Attempt.objects.filter(child=child, created_at__date__gte=since).values_list(
            "created_at", flat=True
        )
    }
    return streak(
        practised, today=day, is_scheduled=lambda d: any(a.is_due_on(d) for a in assignments)
    )


# --- attempts -----------------------------------------------------------------------------------


def attempt_history(*, assignment: Assignment, limit: int = 50) -> list[Attempt]:
    return list(Attempt.objects.filter(assignment=assignment).order_by("-created_at")[:limit])


def child_attempts(*, child: Child) -> QuerySet[Attempt]:
    return (
        Attempt.objects.filter(child=child)
        .select_related("assignment__exercise", "reviewed_by")
        .order_by("-created_at")
    )


def attempts_to_review(*, child: Child) -> QuerySet[Attempt]:
    return child_attempts(child=child).filter(status=AttemptStatus.DONE, reviewed_at__isnull=True)


def child_baseline(*, child: Child, before: Any = None, limit: int = 20) -> Baseline | None:
    """The child's usual voice from their latest finished attempts (before ``before``)."""
    queryset = Attempt.objects.filter(child=child, status=AttemptStatus.DONE)
    if before is not None:
        queryset = queryset.filter(created_at__lt=before)
    profiles = [
        Prosody.from_dict(p)
        for p in queryset.order_by("-created_at").values_list("prosody", flat=True)[:limit]
        if p
    ]
    return baseline_from(profiles)


def attempt_feedback(attempt: Attempt) -> dict[str, Any]:
    """The attempt as the feedback panel and the API show it (model output and review)."""
    from analysis.engine.practice.feedback import EMOTION_WORDS

    exercise = attempt.assignment.exercise
    top = sorted(attempt.probabilities.items(), key=lambda kv: -kv[1])[:3]
    # The therapist's stars win: the sentence and the tips must agree with them.
    message = attempt.final_message
    tips = [] if (attempt.final_stars or 0) >= 3 else attempt.tips
    return {
        "id": str(attempt.pk),
        "status": attempt.status,
        "status_label": attempt.get_status_display(),
        "final": attempt.is_final,
        "error_code": attempt.error_code,
        "message": message,
        "stars": attempt.final_stars,
        "model_stars": attempt.stars,
        "conveyed": attempt.final_conveyed,
        "reviewed": attempt.reviewed_at is not None,
        "encouragement": attempt.encouragement,
        "target_emotion": exercise.target_emotion,
        "target_word": EMOTION_WORDS.get(exercise.target_emotion, exercise.target_emotion),
        "target_probability": attempt.target_probability,
        "top_emotions": [
            {"emotion": label, "word": EMOTION_WORDS.get(label, label), "probability": p}
            for label, p in top
        ],
        "prosody": attempt.prosody,
        "comparisons": attempt.comparisons,
        "tips": tips,
        "duration_s": attempt.duration_s,
        "created_at": attempt.created_at.isoformat(),
        "finished_at": attempt.finished_at.isoformat() if attempt.finished_at else None,
        "model_version": (
            f"{attempt.model_version.name} {attempt.model_version.version}"
            if attempt.model_version
            else None
        ),
    }


# --- the therapist's review: what the try and the model recording sounded like ----------------

CONTOUR_CACHE_S = 24 * 3600


def _file_contour(field_file: Any, key: str) -> dict[str, Any] | None:
    """The level and pitch contour of a stored clip (``analysis.engine.prosody.contour``),
    cached by file name: decoding and tracking pitch once per clip, not on every visit."""
    from django.core.cache import cache

    from analysis.engine import prosody
    from analysis.engine.audio import decode as audio
    from analysis.services import local_file_path

    if not field_file:
        return None
    cache_key = f"exercises:contour:{key}:{field_file.name}"
    cached = cache.get(cache_key)
    if cached is not None:
        return dict(cached) if cached else None
    try:
        with local_file_path(field_file) as path:
            samples = audio.decode(path, audio.AudioLimits(max_duration_s=120.0))
        shape: dict[str, Any] | None = prosody.contour(samples).to_dict()
    except (audio.AudioError, FileNotFoundError, OSError):
        shape = None
    cache.set(cache_key, shape or {}, CONTOUR_CACHE_S)
    return shape


def voice_contours(attempt: Attempt) -> dict[str, dict[str, Any] | None]:
    """Contours of an attempt and of its exercise's model recording, for the review page."""
    exercise = attempt.assignment.exercise
    return {
        "attempt": _file_contour(attempt.audio, f"attempt:{attempt.pk}")
        if attempt.has_audio
        else None,
        "model": _file_contour(exercise.model_audio, f"exercise:{exercise.pk}")
        if exercise.model_audio
        else None,
    }
