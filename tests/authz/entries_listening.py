"""Authorization matrix of listening practice (pages and API)."""

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
from tests.listening.factories import make_listening_assignment


def _assignment(cast: Cast) -> Any:
    if "listening_assignment" not in cast.extra:
        cast.extra["listening_assignment"] = make_listening_assignment(cast.child)
    return cast.extra["listening_assignment"]


def _clip(cast: Cast) -> Any:
    return _assignment(cast).listening_set.clips.order_by("created_at").first()


def child(c: Cast) -> dict[str, Any]:
    return {"child_id": c.child.pk}


def assignment(c: Cast) -> dict[str, Any]:
    return {"assignment_id": _assignment(c).pk}


def clip(c: Cast) -> dict[str, Any]:
    return {"clip_id": _clip(c).pk}


THERAPISTS_ONLY = each(403, therapist=200, other_therapist=200, anonymous=LOGIN)

ENTRIES = [
    # Family pages (staff of the child get a read-only preview).
    Endpoint("family_listening", CHILD_READERS, kwargs=child),
    Endpoint("listening_play", CHILD_READERS, kwargs=assignment),
    Endpoint(
        "listening_play",
        each(404, therapist=302, guardian=302, admin=403, anonymous=LOGIN),
        method="post",
        kwargs=assignment,
        label="post",
        data=lambda c: {"clip": "", "chosen": "", "client_id": ""},
    ),
    # A clip: clinic staff, and families given a set that holds it.
    Endpoint(
        "listening_clip_audio",
        each(404, therapist=200, other_therapist=200, guardian=200, admin=200, anonymous=LOGIN),
        kwargs=clip,
    ),
    # Therapist tools.
    Endpoint("listening_library", STAFF_MEMBERS),
    Endpoint("listening_clip_create", THERAPISTS_ONLY),
    Endpoint(
        "listening_clip_create",
        THERAPISTS_ONLY,  # no file: the form comes back with its message
        method="post",
        label="post",
        data=lambda c: {"emotion": "happy", "intensity": "strong"},
    ),
    Endpoint(
        "listening_clip_tag",
        each(404, therapist=302, other_therapist=302, admin=403, anonymous=LOGIN),
        method="post",
        kwargs=clip,
        data=lambda c: {"emotion": _clip(c).emotion},
    ),
    Endpoint(
        "listening_clip_noisy",
        each(404, therapist=302, other_therapist=302, admin=403, anonymous=LOGIN),
        method="post",
        kwargs=clip,
        data=lambda c: {"snr_db": "10"},
    ),
    Endpoint("listening_set_create", THERAPISTS_ONLY),
    Endpoint(
        "listening_set_create",
        THERAPISTS_ONLY,  # no clips chosen: the form comes back with its message
        method="post",
        label="post",
        data=lambda c: {"title": "Mine", "choice_count": "2"},
    ),
    Endpoint("child_listening", STAFF_PAGE, kwargs=child),
    Endpoint("listening_assign", THERAPIST_FORM, kwargs=child),
    Endpoint(
        "listening_assign",
        THERAPIST_WRITES,
        method="post",
        kwargs=child,
        label="post",
        data=lambda c: {
            "listening_set": str(_assignment(c).listening_set_id),
            "weekdays": ["0", "3"],
            "starts_on": "2026-01-01",
            "ends_on": "",
            "note": "",
        },
    ),
    Endpoint("listening_assignment_end", THERAPIST_WRITES, method="post", kwargs=assignment),
    # API.
    Endpoint(
        "api-listening-assignments", API_CHILD_READERS, query=lambda c: {"child": str(c.child.pk)}
    ),
    Endpoint(
        "api-listening-answers",
        each(404, therapist=400, guardian=400, admin=403, anonymous=401),
        method="post",
        kwargs=assignment,
        fmt="json",
        data=lambda c: {},
    ),
    Endpoint("api-listening-results", API_CHILD_READERS, kwargs=child),
]
