"""Resumable chunked uploads: create, chunks with offsets, resume, complete, reject, clean up."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from sessions.models import Recording
from sessions.models.audit import AuditEvent
from sessions.workspace import tasks, uploads, waveforms
from sessions.workspace.models import ChunkedUpload, UploadStatus
from tests.analysis.audio_factory import write_bad_file, write_speechlike_wav
from tests.conftest import Cast, grant_consent
from tests.reliability.servers import free_port, producer_broker


@pytest.fixture(autouse=True)
def _run_on_commit(monkeypatch: Any) -> None:
    """Tests run inside one transaction: run on-commit work (deleting bytes) right away, as a
    real commit would."""
    from django.db import transaction

    monkeypatch.setattr(transaction, "on_commit", lambda func, *a, **kw: func())


@pytest.fixture
def therapist_api(cast: Cast) -> APIClient:
    client = APIClient()
    client.force_login(cast.therapist)
    # Recording consent only: the stored recording then waits for analysis consent, so these
    # tests never need a worker.
    grant_consent(cast.child, "recording")
    return client


def _create(client: APIClient, cast: Cast, name: str, size: int) -> Any:
    return client.post(
        reverse("api-workspace-upload-create", kwargs={"session_id": cast.session.pk}),
        {"filename": name, "size": size, "content_type": "audio/wav"},
        format="json",
    )


def _put(client: APIClient, upload_id: str, offset: int, data: bytes) -> Any:
    return client.put(
        reverse("api-workspace-upload-chunk", kwargs={"upload_id": upload_id}),
        data,
        content_type="application/octet-stream",
        headers={"Upload-Offset": str(offset)},
    )


def _complete(client: APIClient, upload_id: str) -> Any:
    return client.post(reverse("api-workspace-upload-complete", kwargs={"upload_id": upload_id}))


def test_chunked_upload_resumes_and_becomes_a_recording(
    therapist_api: APIClient, cast: Cast, tmp_path: Path
) -> None:
    data = write_speechlike_wav(tmp_path / "session.wav", seconds=6.0).read_bytes()
    created = _create(therapist_api, cast, "session.wav", len(data))
    assert created.status_code == 201, created.json()
    upload_id = created.json()["id"]
    assert created.json()["offset"] == 0
    third = len(data) // 3

    first = _put(therapist_api, upload_id, 0, data[:third])
    assert first.status_code == 200 and first.json()["offset"] == third
    # The client never saw that answer and sends the same chunk again: refused, with the
    # server's offset, and nothing is written twice.
    again = _put(therapist_api, upload_id, 0, data[:third])
    assert again.status_code == 409 and again.json()["offset"] == third
    # After a dropped connection the client asks where to continue.
    status = therapist_api.get(
        reverse("api-workspace-upload-detail", kwargs={"upload_id": upload_id})
    )
    assert status.json()["offset"] == third and status.json()["status"] == "uploading"
    # Completing early is refused with the offset.
    early = _complete(therapist_api, upload_id)
    assert early.status_code == 409 and early.json()["offset"] == third

    assert _put(therapist_api, upload_id, third, data[third : 2 * third]).status_code == 200
    assert _put(therapist_api, upload_id, 2 * third, data[2 * third :]).json()["offset"] == len(
        data
    )
    done = _complete(therapist_api, upload_id)
    assert done.status_code == 201, done.json()
    recording = Recording.objects.get(pk=done.json()["recording"])
    assert recording.session == cast.session
    assert recording.sha256 == hashlib.sha256(data).hexdigest()
    assert recording.original_name == "session.wav"
    assert recording.status == "awaiting_consent"
    assert not uploads.upload_dir(upload_id).exists()
    # Completing again (a retried request) returns the same recording, never a second one.
    repeat = _complete(therapist_api, upload_id)
    assert repeat.status_code == 201 and repeat.json()["recording"] == str(recording.pk)
    assert Recording.objects.filter(session=cast.session, sha256=recording.sha256).count() == 1
    assert AuditEvent.objects.filter(object_type="chunkedupload", action="create").exists()


def test_upload_is_refused_before_any_byte_when_checks_fail(
    therapist_api: APIClient, cast: Cast, settings: Any
) -> None:
    bad_type = _create(therapist_api, cast, "notes.docx", 1000)
    assert bad_type.status_code == 400
    assert "not a recording" in bad_type.json()["detail"]
    too_big = _create(therapist_api, cast, "film.mp4", settings.SER_MAX_UPLOAD_BYTES + 1)
    assert too_big.status_code == 400
    assert "largest file" in too_big.json()["detail"]
    empty = _create(therapist_api, cast, "clip.wav", 0)
    assert empty.status_code == 400 and "empty" in empty.json()["detail"]
    assert not ChunkedUpload.objects.exists()


def test_upload_without_recording_consent_is_refused_with_the_reason(cast: Cast) -> None:
    client = APIClient()
    client.force_login(cast.therapist)
    response = _create(client, cast, "clip.wav", 1000)
    assert response.status_code == 403
    assert "consent" in response.json()["detail"]


def test_a_web_page_is_rejected_at_the_first_chunk(
    therapist_api: APIClient, cast: Cast, tmp_path: Path
) -> None:
    data = write_bad_file("html_as_wav", tmp_path / "page.wav").read_bytes()
    upload_id = _create(therapist_api, cast, "page.wav", len(data) * 10).json()["id"]
    response = _put(therapist_api, upload_id, 0, data)
    assert response.status_code == 400
    assert "does not look like an audio or video recording" in response.json()["detail"]
    assert ChunkedUpload.objects.get(pk=upload_id).status == UploadStatus.FAILED
    assert not uploads.upload_dir(upload_id).exists()


def test_a_file_the_analysis_cannot_read_is_rejected_with_its_reason(
    therapist_api: APIClient, cast: Cast, tmp_path: Path
) -> None:
    data = write_bad_file("too_short_wav", tmp_path / "short.wav").read_bytes()
    upload_id = _create(therapist_api, cast, "short.wav", len(data)).json()["id"]
    assert _put(therapist_api, upload_id, 0, data).status_code == 200
    response = _complete(therapist_api, upload_id)
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail and "Traceback" not in detail
    upload = ChunkedUpload.objects.get(pk=upload_id)
    assert upload.status == UploadStatus.FAILED and upload.error == detail
    assert not Recording.objects.filter(original_name="short.wav").exists()


def test_large_uploads_are_finalized_by_the_task(
    therapist_api: APIClient, cast: Cast, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setattr(uploads, "SYNC_FINALIZE_MAX_BYTES", 1000)
    queued: list[str] = []

    def queue(upload_id: str) -> bool:
        queued.append(upload_id)
        return True

    monkeypatch.setattr(uploads, "queue_finalize", queue)
    data = write_speechlike_wav(tmp_path / "long.wav", seconds=3.0).read_bytes()
    upload_id = _create(therapist_api, cast, "long.wav", len(data)).json()["id"]
    assert _put(therapist_api, upload_id, 0, data).status_code == 200
    response = _complete(therapist_api, upload_id)
    assert response.status_code == 202 and response.json()["status"] == "finalizing"
    assert [str(u) for u in queued] == [upload_id]
    # A second "complete" while it is being checked does not queue it twice.
    assert _complete(therapist_api, upload_id).status_code == 202
    assert len(queued) == 1
    # The task body, as the worker runs it (twice: a redelivered message is harmless).
    assert tasks.finalize_upload(upload_id) == "complete"
    assert tasks.finalize_upload(upload_id) == "complete"
    upload = ChunkedUpload.objects.get(pk=upload_id)
    assert upload.recording is not None
    assert Recording.objects.filter(original_name="long.wav").count() == 1


def test_a_large_upload_completed_while_the_broker_is_down_is_kept_and_can_be_completed_again(
    therapist_api: APIClient, cast: Cast, tmp_path: Path, monkeypatch: Any
) -> None:
    """The broker is a real unreachable address (nothing listens on the port): "complete"
    answers 503 with Retry-After, gives the claim back and keeps every byte; once the broker is
    back the same upload completes."""
    monkeypatch.setattr(uploads, "SYNC_FINALIZE_MAX_BYTES", 1000)
    data = write_speechlike_wav(tmp_path / "long.wav", seconds=3.0).read_bytes()
    upload_id = _create(therapist_api, cast, "long.wav", len(data)).json()["id"]
    assert _put(therapist_api, upload_id, 0, data).status_code == 200
    with producer_broker(f"redis://127.0.0.1:{free_port()}/0"):
        response = _complete(therapist_api, upload_id)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["status"] == "uploading"
    upload = ChunkedUpload.objects.get(pk=upload_id)
    assert (upload.status, upload.received_bytes) == (UploadStatus.UPLOADING, len(data))
    assert upload.finalize_started_at is None
    queued: list[str] = []

    def queue(upload_id: str) -> bool:
        queued.append(upload_id)
        return True

    monkeypatch.setattr(uploads, "queue_finalize", queue)
    assert _complete(therapist_api, upload_id).status_code == 202
    assert tasks.finalize_upload(upload_id) == "complete"
    assert Recording.objects.filter(original_name="long.wav").count() == 1


def test_a_stored_upload_is_not_failed_by_an_unreachable_broker_for_its_waveform(
    cast: Cast,
) -> None:
    recording = cast.session.recordings.create(original_name="x.wav", uploaded_by=cast.therapist)
    with producer_broker(f"redis://127.0.0.1:{free_port()}/0"):
        assert waveforms.queue_waveform(recording.pk) is False


def test_cancel_deletes_the_bytes(therapist_api: APIClient, cast: Cast) -> None:
    upload_id = _create(therapist_api, cast, "clip.wav", 5000).json()["id"]
    _put(therapist_api, upload_id, 0, b"RIFF" + b"\0" * 100)
    assert uploads.upload_data_path(upload_id).exists()
    url = reverse("api-workspace-upload-detail", kwargs={"upload_id": upload_id})
    assert therapist_api.delete(url).status_code == 204
    assert ChunkedUpload.objects.get(pk=upload_id).status == UploadStatus.CANCELLED
    assert not uploads.upload_dir(upload_id).exists()
    assert _put(therapist_api, upload_id, 104, b"x").status_code == 409


def test_cleanup_expires_abandoned_uploads_and_removes_their_folders(
    therapist_api: APIClient, cast: Cast, settings: Any
) -> None:
    fresh = _create(therapist_api, cast, "fresh.wav", 5000).json()["id"]
    stale = _create(therapist_api, cast, "stale.wav", 5000).json()["id"]
    _put(therapist_api, stale, 0, b"RIFF" + b"\0" * 100)
    ChunkedUpload.objects.filter(pk=stale).update(updated_at=timezone.now() - timedelta(days=3))
    orphan = Path(settings.MEDIA_ROOT) / "uploads" / "not-an-upload"
    orphan.mkdir(parents=True)
    import os

    old = (timezone.now() - timedelta(days=1)).timestamp()
    os.utime(orphan, (old, old))
    result = tasks.cleanup_uploads()
    assert result["expired"] == 1 and result["folders_removed"] >= 1
    assert ChunkedUpload.objects.get(pk=stale).status == UploadStatus.EXPIRED
    assert not uploads.upload_dir(stale).exists() and not orphan.exists()
    assert ChunkedUpload.objects.get(pk=fresh).status == UploadStatus.UPLOADING
    assert uploads.upload_dir(fresh).exists()
    # Running it again changes nothing more.
    assert tasks.cleanup_uploads()["expired"] == 0


def test_another_therapist_cannot_touch_an_upload(therapist_api: APIClient, cast: Cast) -> None:
    upload_id = _create(therapist_api, cast, "clip.wav", 5000).json()["id"]
    other = APIClient()
    other.force_login(cast.other_therapist)
    assert _put(other, upload_id, 0, b"RIFF0000").status_code == 404
    assert _complete(other, upload_id).status_code == 404
    assert ChunkedUpload.objects.get(pk=upload_id).received_bytes == 0
