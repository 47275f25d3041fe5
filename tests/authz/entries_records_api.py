"""Authorization matrix of the API for every record: reports, consents, the family archive,
exercises and assignments, a session's recordings, a recording's segments and exports.

The same people get the same answers as on the pages; where a page redirects (a guardian on a
staff page) the API answers 403 (the object may be known, not read this way) and where a page
sends a visitor to the login page the API answers 401.
"""

from __future__ import annotations

from typing import Any

from tests.authz.entries_exercises import _assignment, _exercise
from tests.authz.entries_families import _draft, _live_training, _released, _texts
from tests.authz.matrix import API_CHILD_READERS, API_STAFF_READ, Endpoint, each
from tests.conftest import Cast


def _child(cast: Cast) -> dict[str, Any]:
    return {"child_id": cast.child.pk}


def _text_version(cast: Cast) -> dict[str, Any]:
    from sessions.families import selectors

    text = selectors.consent_text_current(clinic=cast.clinic, purpose="analysis")
    assert text is not None
    return {"given_by": "Carol Guardian", "text_version": text.version}


def _analysed(cast: Cast) -> dict[str, Any]:
    from sessions.workspace.synthetic import done_run

    if "run" not in cast.extra:
        cast.extra["run"] = done_run(cast.recording, segments=6)
    return {"recording_id": cast.recording.pk, "filename": "segments.csv"}


ENTRIES = [
    # Reports
    Endpoint("api-child-reports", API_CHILD_READERS, kwargs=_child),
    Endpoint("api-report", API_CHILD_READERS, kwargs=_released, label="released"),
    Endpoint("api-report", API_STAFF_READ, kwargs=_draft, label="draft"),
    Endpoint("api-report-pdf", API_CHILD_READERS, kwargs=_released, label="released"),
    Endpoint("api-report-pdf", API_STAFF_READ, kwargs=_draft, label="draft"),
    Endpoint(
        "api-report-release",
        each(404, therapist=200, admin=403, anonymous=401),
        method="post",
        fmt="json",
        kwargs=_draft,
        data=lambda c: {},
    ),
    # Consent records
    Endpoint(
        "api-child-consents",
        each(404, therapist=200, admin=200, guardian=403, anonymous=401),
        kwargs=_child,
    ),
    Endpoint(
        "api-consent-grant",
        each(404, therapist=403, admin=201, guardian=403, anonymous=401),
        method="post",
        fmt="json",
        kwargs=_texts,
        data=_text_version,
    ),
    Endpoint(
        "api-consent-revoke",
        each(404, therapist=403, admin=200, guardian=403, anonymous=401),
        method="post",
        fmt="json",
        kwargs=_live_training,
        data=lambda c: {"understood": True},
    ),
    # The family archive (right of access): the guardian, or an admin on their behalf.
    Endpoint(
        "api-child-archive",
        each(404, therapist=403, admin=200, guardian=200, anonymous=401),
        kwargs=_child,
    ),
    # Exercises (the clinic's library) and assignments
    Endpoint("api-exercises", each(200, guardian=403, other_guardian=403, anonymous=401)),
    Endpoint(
        "api-exercises",
        each(403, therapist=201, other_therapist=201, anonymous=401),
        method="post",
        fmt="json",
        data=lambda c: {"title": "Calm no", "phrase": "No, thank you.", "target_emotion": "calm"},
        label="create",
    ),
    Endpoint(
        "api-exercise",
        each(404, therapist=200, other_therapist=200, admin=200, anonymous=401),
        kwargs=lambda c: {"exercise_id": _exercise(c).pk},
    ),
    Endpoint(
        "api-exercise",
        each(404, therapist=200, other_therapist=200, admin=403, anonymous=401),
        method="patch",
        fmt="json",
        kwargs=lambda c: {"exercise_id": _exercise(c).pk},
        data=lambda c: {"instructions": "Say it slowly."},
        label="update",
    ),
    Endpoint(
        "api-child-assignments",
        each(404, therapist=201, admin=403, guardian=403, anonymous=401),
        method="post",
        fmt="json",
        kwargs=_child,
        data=lambda c: {"exercise": str(_exercise(c).pk), "weekdays": [0, 2, 4]},
    ),
    Endpoint(
        "api-exercise-assignment",
        API_CHILD_READERS,
        kwargs=lambda c: {"assignment_id": _assignment(c).pk},
    ),
    Endpoint(
        "api-exercise-assignment",
        each(404, therapist=200, admin=403, guardian=403, anonymous=401),
        method="patch",
        fmt="json",
        kwargs=lambda c: {"assignment_id": _assignment(c).pk},
        data=lambda c: {"note": "Mornings are best."},
        label="update",
    ),
    # A session's recordings, a recording's segments and its exports
    Endpoint(
        "api-session-recordings",
        API_STAFF_READ,
        kwargs=lambda c: {"session_id": c.session.pk},
        label="list",
    ),
    Endpoint(
        "api-recording-segments", API_STAFF_READ, kwargs=lambda c: {"recording_id": c.recording.pk}
    ),
    Endpoint("api-recording-export", API_STAFF_READ, kwargs=_analysed),
]
