from __future__ import annotations

from typing import Any

from tests.authz.matrix import API_STAFF_READ, Endpoint, each
from tests.conftest import Cast


def _rec(c: Cast) -> dict[str, Any]:
    return {"recording_id": c.recording.pk}


ENTRIES = [
    # No file attached: the therapist gets the readable 400; nobody else gets that far.
    Endpoint(
        "api-session-recordings",
        each(404, therapist=400, admin=403, anonymous=401),
        method="post",
        fmt="multipart",
        kwargs=lambda c: {"session_id": c.session.pk},
        data=lambda c: {},
    ),
    Endpoint("api-recording-detail", API_STAFF_READ, kwargs=_rec),
    Endpoint("api-recording-timeline", API_STAFF_READ, kwargs=_rec),
    Endpoint(
        "api-recording-reanalyze",
        each(404, therapist=202, admin=403, anonymous=401),
        method="post",
        fmt="json",
        kwargs=_rec,
        data=lambda c: {},
    ),
    # Retrying is only for failed analyses: the therapist is told so (400).
    Endpoint(
        "api-recording-retry",
        each(404, therapist=400, admin=403, anonymous=401),
        method="post",
        fmt="json",
        kwargs=_rec,
        data=lambda c: {},
    ),
]
