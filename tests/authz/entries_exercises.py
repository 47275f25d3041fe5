"""Authorization matrix of practice exercises (pages and API)."""

from __future__ import annotations

from typing import Any

from tests.authz.matrix import (
    API_CHILD_READERS,
    CHILD_READERS,
    LOGIN,
    STAFF_MEMBERS,
    STAFF_PAGE,
    THERAPIST_FORM,
    THERAPIST_WRITES,
    Endpoint,
    each,
)
from tests.conftest import Cast
from tests.exercises.factories import done_attempt, make_assignment, make_exercise


def _exercise(cast: Cast) -> Any:
    if "exercise" not in cast.extra:
        cast.extra["exercise"] = make_exercise(cast.clinic, with_audio=True)
    return cast.extra["exercise"]


def _assignment(cast: Cast) -> Any:
    if "assignment" not in cast.extra:
        cast.extra["assignment"] = make_assignment(cast.child, _exercise(cast))
    return cast.extra["assignment"]


def _attempt(cast: Cast) -> Any:
    if "attempt" not in cast.extra:
        cast.extra["attempt"] = done_attempt(_assignment(cast))
    return cast.extra["attempt"]


def child(c: Cast) -> dict[str, Any]:
    return {"child_id": c.child.pk}


def assignment(c: Cast) -> dict[str, Any]:
    return {"assignment_id": _assignment(c).pk}


def attempt(c: Cast) -> dict[str, Any]:
    return {"attempt_id": _attempt(c).pk}


def exercise(c: Cast) -> dict[str, Any]:
    return {"exercise_id": _exercise(c).pk}


NEW_EXERCISE = {
    "title": "Calm no",
    "phrase": "No, thank you.",
    "target_emotion": "calm",
    "difficulty": "1",
    "goal": "",
    "instructions": "",
}

ENTRIES = [
    # Family pages (staff of the child get a read-only preview).
    Endpoint("family_exercises", CHILD_READERS, kwargs=child),
    Endpoint("family_progress", CHILD_READERS, kwargs=child),
    Endpoint("exercise_practice", CHILD_READERS, kwargs=assignment),
    Endpoint(
        "attempt_upload",
        each(404, therapist=302, guardian=302, admin=403, anonymous=LOGIN),
        method="post",
        kwargs=assignment,
        data=lambda c: {"client_token": ""},
    ),
    Endpoint("attempt_result", CHILD_READERS, kwargs=attempt),
    Endpoint("attempt_audio", CHILD_READERS, kwargs=attempt),
    # The model recording: clinic staff, and families the exercise was assigned to.
    Endpoint(
        "exercise_audio",
        each(404, therapist=200, other_therapist=200, guardian=200, admin=200, anonymous=LOGIN),
        kwargs=lambda c: {"exercise_id": _assignment(c).exercise.pk},
    ),
    # Therapist tools.
    Endpoint("exercise_list", STAFF_MEMBERS),
    Endpoint("exercise_create", each(403, therapist=200, other_therapist=200, anonymous=LOGIN)),
    Endpoint(
        "exercise_create",
        each(403, therapist=302, other_therapist=302, anonymous=LOGIN),
        method="post",
        data=lambda c: NEW_EXERCISE,
        label="post",
    ),
    Endpoint(
        "exercise_edit",
        each(404, therapist=200, other_therapist=200, admin=403, anonymous=LOGIN),
        kwargs=exercise,
    ),
    Endpoint(
        "exercise_edit",
        each(404, therapist=302, other_therapist=302, admin=403, anonymous=LOGIN),
        method="post",
        kwargs=exercise,
        data=lambda c: NEW_EXERCISE,
        label="post",
    ),
    Endpoint("child_exercises", STAFF_PAGE, kwargs=child),
    Endpoint("exercise_assign", THERAPIST_FORM, kwargs=child),
    Endpoint(
        "exercise_assign",
        THERAPIST_WRITES,
        method="post",
        kwargs=child,
        label="post",
        data=lambda c: {
            "exercise": str(_exercise(c).pk),
            "weekdays": ["0", "2"],
            "starts_on": "2026-01-01",
            "ends_on": "",
            "note": "",
        },
    ),
    Endpoint("assignment_end", THERAPIST_WRITES, method="post", kwargs=assignment),
    Endpoint("attempt_review", STAFF_PAGE, kwargs=attempt),
    Endpoint(
        "attempt_review",
        THERAPIST_WRITES,
        method="post",
        kwargs=attempt,
        label="post",
        data=lambda c: {"stars": "3", "conveyed": "yes", "encouragement": "Lovely!"},
    ),
    # API.
    Endpoint(
        "api-exercise-assignments", API_CHILD_READERS, query=lambda c: {"child": str(c.child.pk)}
    ),
    Endpoint(
        "api-exercise-attempts",
        each(404, therapist=400, guardian=400, admin=403, anonymous=401),
        method="post",
        kwargs=assignment,
        fmt="multipart",
        data=lambda c: {},
    ),
    Endpoint(
        "api-exercise-attempt-detail",
        each(200, other_therapist=404, other_guardian=404, other_admin=404, anonymous=401),
        kwargs=attempt,
    ),
]
