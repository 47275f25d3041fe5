"""Resumable uploads under concurrency and faults: parallel "complete" calls, a finalization
that fails unexpectedly, and cancelling what can no longer be cancelled."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from sessions.models import Recording
from sessions.workspace.models import ChunkedUpload, UploadStatus
from tests.analysis.audio_factory import write_speechlike_wav
from tests.conftest import Cast, grant_consent

pytestmark = pytest.mark.django_db(transaction=True)


def _client(cast: Cast) -> APIClient:
    client = APIClient()
    client.force_login(cast.therapist)
    return client


def _uploaded(cast: Cast, tmp_path: Path) -> str:
    """A fully received upload, ready for "complete"."""
    grant_consent(cast.child, "recording")
    client = _client(cast)
    data = write_speechlike_wav(tmp_path / "session.wav", seconds=3.0).read_bytes()
    created = client.post(
        reverse("api-workspace-upload-create", kwargs={"session_id": cast.session.pk}),
        {"filename": "session.wav", "size": len(data), "content_type": "audio/wav"},
        format="json",
    )
    upload_id = str(created.json()["id"])
    sent = client.put(
        reverse("api-workspace-upload-chunk", kwargs={"upload_id": upload_id}),
        data,
        content_type="application/octet-stream",
        headers={"Upload-Offset": "0"},
    )
    assert sent.status_code == 200, sent.json()
    return upload_id


def _complete(client: APIClient, upload_id: str) -> Any:
    return client.post(reverse("api-workspace-upload-complete", kwargs={"upload_id": upload_id}))


def test_parallel_completes_make_one_recording_and_no_error(cast: Cast, tmp_path: Path) -> None:
    upload_id = _uploaded(cast, tmp_path)
    barrier = threading.Barrier(4)
    codes: list[int] = []
    lock = threading.Lock()

    def complete() -> None:
        client = _client(cast)
        try:
            barrier.wait()
            response = _complete(client, upload_id)
            with lock:
                codes.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=complete) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(codes) == 4 and all(code in (201, 202) for code in codes), codes
    upload = ChunkedUpload.objects.get(pk=upload_id)
    assert upload.status == UploadStatus.COMPLETE
    assert Recording.objects.filter(session=cast.session).exclude(pk=cast.recording.pk).count() == 1


def _fail_once(monkeypatch: Any, exc: Exception) -> list[int]:
    """The first recording_create of the test raises ``exc`` (a fault, not a rejection)."""
    import analysis.services

    real = analysis.services.recording_create
    calls: list[int] = []

    def flaky(**kwargs: Any) -> Recording:
        calls.append(1)
        if len(calls) == 1:
            raise exc
        return real(**kwargs)

    monkeypatch.setattr(analysis.services, "recording_create", flaky)
    return calls


def test_a_transient_error_while_checking_releases_the_claim(
    cast: Cast, tmp_path: Path, monkeypatch: Any
) -> None:
    from django.db import OperationalError

    upload_id = _uploaded(cast, tmp_path)
    _fail_once(monkeypatch, OperationalError("database is locked"))
    client = _client(cast)
    first = _complete(client, upload_id)
    assert first.status_code == 503, first.content
    assert first.json()["status"] == "uploading" and "Try again" in first.json()["detail"]
    assert ChunkedUpload.objects.get(pk=upload_id).status == UploadStatus.UPLOADING
    again = _complete(client, upload_id)
    assert again.status_code == 201, again.json()
    assert Recording.objects.filter(pk=again.json()["recording"]).exists()


def test_an_unexpected_error_while_checking_leaves_the_upload_retryable(
    cast: Cast, tmp_path: Path, monkeypatch: Any
) -> None:
    upload_id = _uploaded(cast, tmp_path)
    _fail_once(monkeypatch, RuntimeError("a bug"))
    client = _client(cast)
    client.raise_request_exception = False
    assert _complete(client, upload_id).status_code == 500
    assert ChunkedUpload.objects.get(pk=upload_id).status == UploadStatus.UPLOADING
    # It can be cancelled now (before the fix DELETE answered 204 and changed nothing).
    url = reverse("api-workspace-upload-detail", kwargs={"upload_id": upload_id})
    assert client.delete(url).status_code == 204
    assert ChunkedUpload.objects.get(pk=upload_id).status == UploadStatus.CANCELLED


def test_the_finalize_task_claims_again_after_a_transient_error(
    cast: Cast, tmp_path: Path, monkeypatch: Any
) -> None:
    from django.db import OperationalError

    from sessions.workspace import tasks, uploads

    upload_id = _uploaded(cast, tmp_path)
    upload = ChunkedUpload.objects.get(pk=upload_id)
    assert uploads.upload_claim_finalize(upload=upload)
    calls = _fail_once(monkeypatch, OperationalError("server closed the connection"))
    # Called directly, Celery's autoretry re-raises instead of scheduling the retry.
    with pytest.raises(OperationalError):
        tasks.finalize_upload(upload_id)
    assert ChunkedUpload.objects.get(pk=upload_id).status == UploadStatus.UPLOADING
    assert tasks.finalize_upload(upload_id) == "complete"
    assert len(calls) == 2
    assert ChunkedUpload.objects.get(pk=upload_id).recording is not None


def test_delete_answers_409_when_nothing_is_cancelled(cast: Cast, tmp_path: Path) -> None:
    from sessions.workspace import uploads

    upload_id = _uploaded(cast, tmp_path)
    client = _client(cast)
    url = reverse("api-workspace-upload-detail", kwargs={"upload_id": upload_id})
    assert uploads.upload_claim_finalize(upload=ChunkedUpload.objects.get(pk=upload_id))
    busy = client.delete(url)
    assert busy.status_code == 409 and "being checked" in busy.json()["detail"]
    assert ChunkedUpload.objects.get(pk=upload_id).status == UploadStatus.FINALIZING
    assert uploads.upload_dir(upload_id).exists()
    uploads.upload_finalize(upload_id=upload_id)
    done = client.delete(url)
    assert done.status_code == 409 and done.json()["status"] == "complete"
    assert Recording.objects.filter(pk=done.json()["recording"]).exists()


def test_cancelling_twice_answers_409_the_second_time(cast: Cast, tmp_path: Path) -> None:
    upload_id = _uploaded(cast, tmp_path)
    client = _client(cast)
    url = reverse("api-workspace-upload-detail", kwargs={"upload_id": upload_id})
    assert client.delete(url).status_code == 204
    again = client.delete(url)
    assert again.status_code == 409 and again.json()["status"] == "cancelled"


def test_a_finalization_that_crashed_long_ago_can_be_cancelled(cast: Cast, tmp_path: Path) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from sessions.workspace import uploads

    upload_id = _uploaded(cast, tmp_path)
    assert uploads.upload_claim_finalize(upload=ChunkedUpload.objects.get(pk=upload_id))
    long_ago = timezone.now() - timedelta(seconds=uploads.FINALIZE_STALE_S + 60)
    ChunkedUpload.objects.filter(pk=upload_id).update(finalize_started_at=long_ago)
    url = reverse("api-workspace-upload-detail", kwargs={"upload_id": upload_id})
    assert _client(cast).delete(url).status_code == 204
    assert ChunkedUpload.objects.get(pk=upload_id).status == UploadStatus.CANCELLED
    assert not uploads.upload_dir(upload_id).exists()
