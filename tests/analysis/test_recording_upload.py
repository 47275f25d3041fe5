"""Uploading recordings through the API: validation at the edge, consent gates, queueing."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from kombu import Connection

from analysis.models import AnalysisRun
from sessions.models import Recording
from tests.analysis.audio_factory import (
    BAD_KINDS,
    encode_with_ffmpeg,
    write_bad_file,
    write_silence_wav,
    write_speechlike_wav,
)
from tests.conftest import Cast, grant_consent
from tests.factories import post_recording

pytestmark = pytest.mark.django_db


def _upload(api: Any, cast: Cast, path: Path, user: Any = None) -> Any:
    return post_recording(api, cast.session, path, user=user or cast.therapist)


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_bad_file_is_rejected_with_readable_detail_and_nothing_stored(
    kind: str, api: Any, cast: Cast, tmp_path: Path, active_model: Any
) -> None:
    grant_consent(cast.child)
    before = Recording.objects.count()
    suffix = {"video_no_audio": ".mp4", "truncated_flac": ".flac", "truncated_mp3": ".mp3"}
    path = write_bad_file(kind, tmp_path / f"bad-{kind}{suffix.get(kind, '.wav')}")
    response = _upload(api, cast, path)
    assert response.status_code == 400, response.content
    detail = response.json()["detail"]
    assert isinstance(detail, str) and len(detail) > 10 and "Traceback" not in detail
    assert Recording.objects.count() == before
    assert AnalysisRun.objects.count() == 0


def test_upload_without_file_field_says_what_is_missing(api: Any, cast: Cast) -> None:
    grant_consent(cast.child)
    api.force_authenticate(cast.therapist)
    response = api.post(
        reverse("api-session-recordings", kwargs={"session_id": cast.session.pk}),
        {},
        format="multipart",
    )
    assert response.status_code == 400
    assert "file" in response.json()["detail"]


def test_good_upload_is_stored_untouched_with_checksum_and_queued(
    api: Any, cast: Cast, tmp_path: Path, active_model: Any, django_capture_on_commit_callbacks: Any
) -> None:
    import hashlib

    grant_consent(cast.child)
    path = encode_with_ffmpeg(
        write_speechlike_wav(tmp_path / "s.wav", seconds=4.0), tmp_path / "s.mp3"
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _upload(api, cast, path)
    assert response.status_code == 201, response.content
    body = response.json()
    recording = Recording.objects.get(pk=body["id"])
    original = path.read_bytes()
    assert recording.file.read() == original
    assert body["sha256"] == hashlib.sha256(original).hexdigest()
    assert body["status"] == "queued"
    run = AnalysisRun.objects.get(recording=recording)
    assert run.model_version == active_model
    assert len(callbacks) == 1  # queued only once the transaction commits


def test_short_clip_goes_to_short_queue_and_long_to_long_queue_on_the_real_broker(
    api: Any,
    cast: Cast,
    tmp_path: Path,
    active_model: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    grant_consent(cast.child)
    # Queues of this test's own: the shared test broker's short and long queues may hold
    # messages of other tests (practice attempts), which are not what this test checks.
    suffix = uuid.uuid4().hex[:8]
    settings.SER_QUEUE_SHORT = f"short-{suffix}"
    settings.SER_QUEUE_LONG = f"long-{suffix}"
    short = write_speechlike_wav(tmp_path / "short.wav", seconds=3.0)
    long = write_silence_wav(tmp_path / "long.wav", seconds=settings.SER_SHORT_CLIP_MAX_S + 5)
    with django_capture_on_commit_callbacks(execute=True):
        short_id = _upload(api, cast, short).json()["id"]
        long_id = _upload(api, cast, long).json()["id"]
    runs = {str(r.recording_id): r for r in AnalysisRun.objects.all()}
    assert runs[short_id].queue == settings.SER_QUEUE_SHORT
    assert runs[long_id].queue == settings.SER_QUEUE_LONG
    with Connection(settings.CELERY_BROKER_URL) as conn:
        for queue, run in (
            (settings.SER_QUEUE_SHORT, runs[short_id]),
            (settings.SER_QUEUE_LONG, runs[long_id]),
        ):
            simple = conn.SimpleQueue(queue)
            message = simple.get(timeout=5)
            assert message.headers["task"] == "analysis.tasks.analyze_recording"
            assert message.headers["argsrepr"] == repr([str(run.pk)])
            message.ack()
            simple.close()
            conn.default_channel.queue_delete(queue)


def test_no_upload_without_recording_consent(api: Any, cast: Cast, tmp_path: Path) -> None:
    grant_consent(cast.child, "analysis", "sharing", "training")
    response = _upload(api, cast, write_speechlike_wav(tmp_path / "a.wav", seconds=2.0))
    assert response.status_code == 403
    assert "consent" in response.json()["detail"]
    assert not Recording.objects.filter(session=cast.session).exclude(pk=cast.recording.pk).exists()


def test_without_analysis_consent_recording_waits_and_says_why(
    api: Any, cast: Cast, tmp_path: Path, active_model: Any
) -> None:
    grant_consent(cast.child, "recording")
    response = _upload(api, cast, write_speechlike_wav(tmp_path / "a.wav", seconds=2.0))
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "awaiting_consent"
    assert "consent" in body["error"]
    assert not AnalysisRun.objects.filter(recording_id=body["id"]).exists()


def test_release_after_analysis_consent_queues_waiting_recordings(
    api: Any, cast: Cast, tmp_path: Path, active_model: Any
) -> None:
    from analysis.services import recordings_release_awaiting_consent
    from sessions.models.audit import AuditEvent

    grant_consent(cast.child, "recording")
    rec_id = _upload(api, cast, write_speechlike_wav(tmp_path / "a.wav", seconds=2.0)).json()["id"]
    assert Recording.objects.get(pk=rec_id).status == "awaiting_consent"
    # Recording analysis consent (the consent service, as the clinic does) releases it.
    grant_consent(cast.child, "analysis")
    assert Recording.objects.get(pk=rec_id).status == "queued"
    granted = AuditEvent.objects.get(object_type="consentrecord", detail__purpose="analysis")
    assert granted.detail["recordings_queued"] == 1
    # Queued once: a later release finds nothing waiting.
    assert recordings_release_awaiting_consent(child=cast.child) == 0


def test_without_active_model_the_recording_is_kept_and_says_why(
    api: Any, cast: Cast, tmp_path: Path
) -> None:
    grant_consent(cast.child)
    response = _upload(api, cast, write_speechlike_wav(tmp_path / "a.wav", seconds=2.0))
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "failed"
    assert "No emotion model is active" in body["error"]
    assert Recording.objects.get(pk=body["id"]).file


def test_other_therapist_cannot_upload_to_a_session_they_do_not_know(
    api: Any, cast: Cast, tmp_path: Path
) -> None:
    grant_consent(cast.child)
    response = _upload(
        api, cast, write_speechlike_wav(tmp_path / "a.wav", seconds=2.0), user=cast.other_therapist
    )
    assert response.status_code == 404
