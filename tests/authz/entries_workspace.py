"""Authorization matrix entries of the therapist workspace (sessions/workspace/urls.py)."""

from __future__ import annotations

from typing import Any

from tests.authz.matrix import API_STAFF_READ, LOGIN, STAFF_READ, THERAPIST_WRITES, Endpoint, each
from tests.conftest import Cast, grant_consent


def _analysed(c: Cast) -> Any:
    """The cast's recording with a finished (synthetic) analysis, made once per test."""
    if "run" not in c.extra:
        from tests.workspace.factories import done_run

        c.extra["run"] = done_run(c.recording, segments=6)
    return c.extra["run"]


def _voiced(c: Cast) -> Any:
    """The cast's recording analysed into two voices nobody has named yet."""
    if "voiced" not in c.extra:
        from tests.workspace.voices import voiced_run

        c.extra["voiced"] = voiced_run(c.recording, segments=4)
    return c.extra["voiced"]


def _upload(c: Cast) -> Any:
    if "upload" not in c.extra:
        from sessions.workspace.models import ChunkedUpload

        c.extra["upload"] = ChunkedUpload.objects.create(
            session=c.session, created_by=c.therapist, filename="clip.wav", size_bytes=1000
        )
    return c.extra["upload"]


def _marker(c: Cast) -> Any:
    import datetime as dt

    from sessions.workspace.models import TrendMarker

    return TrendMarker.objects.create(
        child=c.child, kind="phase", date=dt.date(2026, 9, 1), label="Phase B"
    )


def _waveform(c: Cast) -> dict[str, Any]:
    from sessions.workspace.models import RecordingWaveform

    RecordingWaveform.objects.get_or_create(
        recording=c.recording,
        defaults={"peaks": [0.1, 0.5], "peaks_per_second": 1.0, "duration_s": 2.0},
    )
    return {"recording_id": c.recording.pk}


def _with_consent(c: Cast) -> dict[str, Any]:
    grant_consent(c.child, "recording")
    return {"filename": "session.wav", "size": 123456, "content_type": "audio/wav"}


def _label(c: Cast) -> dict[str, Any]:
    from tests.workspace.factories import first_segment_key

    return {"action": "label", "segment": first_segment_key(_analysed(c)), "emotion": "happy"}


ENTRIES = [
    # The session page's summary panel alone (refreshed after each correction).
    Endpoint(
        "workspace_session_summary",
        STAFF_READ,
        kwargs=lambda c: {"session_id": _analysed(c).recording.session_id},
    ),
    Endpoint(
        "workspace_export",
        STAFF_READ,
        kwargs=lambda c: {"recording_id": _analysed(c).recording_id, "filename": "segments.csv"},
        label="segments-csv",
    ),
    Endpoint(
        "workspace_export",
        STAFF_READ,
        kwargs=lambda c: {"recording_id": _analysed(c).recording_id, "filename": "timeline.csv"},
        label="timeline-csv",
    ),
    Endpoint(
        "workspace_export",
        STAFF_READ,
        kwargs=lambda c: {"recording_id": _analysed(c).recording_id, "filename": "analysis.json"},
        label="json",
    ),
    Endpoint(
        "workspace_marker_create",
        THERAPIST_WRITES,
        method="post",
        kwargs=lambda c: {"child_id": c.child.pk},
        data=lambda c: {"kind": "phase", "date": "2026-10-01", "label": "Phase B"},
    ),
    Endpoint(
        "workspace_marker_delete",
        THERAPIST_WRITES,
        method="post",
        kwargs=lambda c: {"child_id": c.child.pk, "marker_id": _marker(c).pk},
    ),
    Endpoint(
        "api-workspace-upload-create",
        each(404, therapist=201, admin=403, anonymous=401),
        method="post",
        fmt="json",
        kwargs=lambda c: {"session_id": c.session.pk},
        data=_with_consent,
    ),
    Endpoint(
        "api-workspace-upload-detail",
        each(404, therapist=200, admin=403, anonymous=401),
        kwargs=lambda c: {"upload_id": _upload(c).pk},
    ),
    Endpoint(
        "api-workspace-upload-detail",
        each(404, therapist=204, admin=403, anonymous=401),
        method="delete",
        kwargs=lambda c: {"upload_id": _upload(c).pk},
        label="cancel",
    ),
    # No Upload-Offset header: the therapist is let in and told what is missing.
    Endpoint(
        "api-workspace-upload-chunk",
        each(404, therapist=400, admin=403, anonymous=401),
        method="put",
        kwargs=lambda c: {"upload_id": _upload(c).pk},
    ),
    # Nothing received yet: the therapist is let in and told the upload is unfinished.
    Endpoint(
        "api-workspace-upload-complete",
        each(404, therapist=409, admin=403, anonymous=401),
        method="post",
        kwargs=lambda c: {"upload_id": _upload(c).pk},
    ),
    Endpoint(
        "api-workspace-recording",
        API_STAFF_READ,
        kwargs=lambda c: {"recording_id": _analysed(c).recording_id},
    ),
    Endpoint(
        "api-workspace-corrections",
        each(404, therapist=200, admin=403, anonymous=401),
        method="post",
        fmt="json",
        kwargs=lambda c: {"recording_id": _analysed(c).recording_id},
        data=_label,
    ),
    Endpoint(
        "api-workspace-speaker-name",
        each(404, therapist=200, admin=403, anonymous=401),
        method="post",
        fmt="json",
        kwargs=lambda c: {"recording_id": _voiced(c).recording_id},
        data=lambda c: {"lane": "A", "person": f"child:{c.child.pk}"},
    ),
    Endpoint(
        "workspace_lane_name",
        each(404, therapist=302, admin=403, anonymous=LOGIN),
        method="post",
        kwargs=lambda c: {"recording_id": _voiced(c).recording_id},
        data=lambda c: {"lane": "A", "person": f"child:{c.child.pk}"},
    ),
    Endpoint("api-workspace-waveform", API_STAFF_READ, kwargs=_waveform),
]
