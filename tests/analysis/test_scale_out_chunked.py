"""Resumable (chunked) uploads without a shared disk: media on S3-compatible storage.

Each chunk is its own object under ``uploads/<id>/`` in the bucket, so the web machine that
takes the next chunk and the worker that finalizes need none of the disk of the machine that
took the previous one. The test process plays the web machines: every request runs with a
different, empty MEDIA_ROOT, which must still be empty afterwards. The end-to-end test hands an
upload over ``SYNC_FINALIZE_MAX_BYTES`` to a real worker with its own empty media folder (the
fixtures of test_scale_out: moto's S3 server on 127.0.0.1). The others check resume, a
retried chunk, cancel, rejection, cleanup and an unreachable endpoint on the bucket; the same
behaviour on local disk is tests/workspace/test_uploads.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from sessions.models import Recording
from sessions.workspace import tasks, uploads
from sessions.workspace.models import ChunkedUpload, UploadStatus
from tests.analysis import test_scale_out as scale_out
from tests.analysis.audio_factory import write_bad_file, write_speechlike_wav
from tests.analysis.test_scale_out import BUCKET, _body, _client, _free_port, _status
from tests.celery_worker import WorkerProcess, wait_for
from tests.conftest import Cast, grant_consent

# The moto S3 server, this process's storage on it, and the worker without shared disk.
s3_endpoint = scale_out.s3_endpoint
s3_storage = scale_out.s3_storage
remote_worker = scale_out.remote_worker


class WebMachines:
    """Alternates this process's MEDIA_ROOT between empty folders, one per "web machine"."""

    def __init__(self, settings: Any, root: Path, count: int = 2) -> None:
        self.settings = settings
        self.folders = [root / f"web-{n}-media" for n in range(count)]
        for folder in self.folders:
            folder.mkdir()
        self.turn = 0

    def next(self) -> Path:
        folder = self.folders[self.turn % len(self.folders)]
        self.turn += 1
        self.settings.MEDIA_ROOT = str(folder)
        return folder

    def all_empty(self) -> bool:
        return all(not any(folder.rglob("*")) for folder in self.folders)


@pytest.fixture
def machines(settings: Any, tmp_path: Path) -> WebMachines:
    return WebMachines(settings, tmp_path)


def _api(cast: Cast) -> APIClient:
    client = APIClient()
    client.force_login(cast.therapist)
    return client


def _create(api: APIClient, cast: Cast, name: str, size: int) -> Any:
    return api.post(
        reverse("api-workspace-upload-create", kwargs={"session_id": cast.session.pk}),
        {"filename": name, "size": size, "content_type": "audio/wav"},
        format="json",
    )


def _put(api: APIClient, upload_id: str, offset: int, data: bytes) -> Any:
    return api.put(
        reverse("api-workspace-upload-chunk", kwargs={"upload_id": upload_id}),
        data,
        content_type="application/octet-stream",
        headers={"Upload-Offset": str(offset)},
    )


def _complete(api: APIClient, upload_id: str) -> Any:
    return api.post(reverse("api-workspace-upload-complete", kwargs={"upload_id": upload_id}))


def _detail(api: APIClient, upload_id: str) -> Any:
    return api.get(reverse("api-workspace-upload-detail", kwargs={"upload_id": upload_id}))


def _keys(endpoint: str, prefix: str) -> list[str]:
    listed = _client(endpoint).list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(entry["Key"] for entry in listed.get("Contents", []))


def _point_storage_at(settings: Any, endpoint: str) -> None:
    default = settings.STORAGES["default"]
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {**default, "OPTIONS": {**default["OPTIONS"], "endpoint_url": endpoint}},
    }


# --- end to end: web machines without shared disk, a worker with its own empty folder ------


@pytest.mark.slow
def test_large_chunked_upload_is_received_by_alternating_web_machines_and_finalized_by_a_worker(
    cast: Cast,
    tmp_path: Path,
    active_model: Any,
    s3_storage: str,
    remote_worker: tuple[WorkerProcess, Path],
    machines: WebMachines,
    monkeypatch: Any,
) -> None:
    worker, worker_media = remote_worker
    # Over the limit: "complete" hands the check to the worker (as for a file over 64 MB).
    monkeypatch.setattr(uploads, "SYNC_FINALIZE_MAX_BYTES", 1000)
    grant_consent(cast.child)
    api = _api(cast)
    data = write_speechlike_wav(tmp_path / "long.wav", seconds=9.0, seed=5).read_bytes()
    assert len(data) > uploads.SYNC_FINALIZE_MAX_BYTES

    machines.next()
    created = _create(api, cast, "long.wav", len(data))
    assert created.status_code == 201, created.json()
    upload_id = created.json()["id"]
    third = len(data) // 3
    chunks = [(0, data[:third]), (third, data[third : 2 * third]), (2 * third, data[2 * third :])]
    for index, (offset, chunk) in enumerate(chunks):
        machines.next()
        sent = _put(api, upload_id, offset, chunk)
        assert sent.status_code == 200, sent.json()
        assert sent.json()["offset"] == offset + len(chunk)
        if index == 0:
            # The answer was lost: the client sends the same chunk again, to the other machine.
            machines.next()
            again = _put(api, upload_id, offset, chunk)
            assert again.status_code == 409 and again.json()["offset"] == third
            # ... and asks a third request where to continue.
            machines.next()
            assert _detail(api, upload_id).json()["offset"] == third
    # Three chunks, three objects: the retried one was not stored twice.
    assert len(_keys(s3_storage, f"uploads/{upload_id}/")) == 3
    assert machines.all_empty()

    machines.next()
    done = _complete(api, upload_id)
    assert done.status_code == 202, done.json()
    assert done.json()["status"] == "finalizing"

    def finalized() -> dict[str, Any] | None:
        body = dict(_detail(api, upload_id).json())
        return body if body["status"] != "finalizing" else None

    body = wait_for(finalized, timeout=180, interval=1.0)
    assert body is not None and body["status"] == "complete", (body, worker.lines[-30:])
    recording_id = body["recording"]
    recording = Recording.objects.get(pk=recording_id)
    assert recording.sha256 == hashlib.sha256(data).hexdigest()
    assert recording.original_name == "long.wav"
    s3 = _client(s3_storage)
    assert s3.get_object(Bucket=BUCKET, Key=str(recording.file.name))["Body"].read() == data

    # Analysed by the worker, from the object it stored.
    wait_for(lambda: _status(api, recording_id)["status"] in {"done", "failed"}, timeout=240)
    status = _status(api, recording_id)
    assert status["status"] == "done", (status, worker.lines[-30:])
    timeline = api.get(reverse("api-recording-timeline", kwargs={"recording_id": recording_id}))
    assert timeline.json()["segments"]

    # Playable through the access-checked view, from another web machine.
    from django.test import Client

    machines.next()
    web = Client()
    web.force_login(cast.therapist)
    url = reverse("recording_audio", kwargs={"recording_id": recording_id})
    assert _body(web.get(url)) == data
    part = web.get(url, headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206 and _body(part) == data[100:1100]

    # The parts are gone from the bucket; no machine's media folder was ever written to.
    assert _keys(s3_storage, f"uploads/{upload_id}/") == []
    assert machines.all_empty()
    assert sorted(worker_media.rglob("*")) == []


# --- resume, retry, cancel, reject, clean up: the same semantics on the bucket -----------------


@pytest.fixture
def on_bucket(s3_storage: str, cast: Cast, monkeypatch: Any) -> Iterator[str]:
    """Chunks go to the bucket; on-commit work (deleting parts) runs at once, as a commit would
    (these tests run inside one transaction); recording consent only, so no worker is needed."""
    from django.db import transaction

    monkeypatch.setattr(transaction, "on_commit", lambda func, *a, **kw: func())
    grant_consent(cast.child, "recording")
    assert uploads.parts_go_to_storage()
    yield s3_storage


def test_chunks_on_the_bucket_resume_and_a_retried_chunk_is_stored_once(
    on_bucket: str, cast: Cast, tmp_path: Path, machines: WebMachines
) -> None:
    api = _api(cast)
    data = write_speechlike_wav(tmp_path / "session.wav", seconds=4.0).read_bytes()
    machines.next()
    upload_id = _create(api, cast, "session.wav", len(data)).json()["id"]
    upload = ChunkedUpload.objects.get(pk=upload_id)
    assert upload.parts_in_storage and upload.parts == []
    half = len(data) // 2

    machines.next()
    assert _put(api, upload_id, 0, data[:half]).json()["offset"] == half
    machines.next()
    again = _put(api, upload_id, 0, data[:half])
    assert again.status_code == 409 and again.json()["offset"] == half
    assert again["Upload-Offset"] == str(half)
    # A chunk past the current offset is refused too, and stores nothing.
    machines.next()
    ahead = _put(api, upload_id, half + 10, data[half + 10 :])
    assert ahead.status_code == 409 and ahead.json()["offset"] == half
    [key] = _keys(on_bucket, f"uploads/{upload_id}/")
    assert key.startswith(f"uploads/{upload_id}/0-{half}-")
    assert ChunkedUpload.objects.get(pk=upload_id).parts == [[0, half, key]]
    early = _complete(api, upload_id)
    assert early.status_code == 409 and early.json()["offset"] == half

    machines.next()
    assert _put(api, upload_id, half, data[half:]).json()["offset"] == len(data)
    machines.next()
    done = _complete(api, upload_id)
    assert done.status_code == 201, done.json()
    recording = Recording.objects.get(pk=done.json()["recording"])
    assert recording.sha256 == hashlib.sha256(data).hexdigest()
    assert _keys(on_bucket, f"uploads/{upload_id}/") == []
    assert machines.all_empty()
    # Completing again returns the same recording.
    repeat = _complete(api, upload_id)
    assert repeat.status_code == 201 and repeat.json()["recording"] == str(recording.pk)


def test_cancel_deletes_the_parts_from_the_bucket(
    on_bucket: str, cast: Cast, machines: WebMachines
) -> None:
    api = _api(cast)
    machines.next()
    upload_id = _create(api, cast, "clip.wav", 5000).json()["id"]
    assert _put(api, upload_id, 0, b"RIFF" + b"\0" * 100).status_code == 200
    machines.next()
    assert _put(api, upload_id, 104, b"\1" * 200).status_code == 200
    assert len(_keys(on_bucket, f"uploads/{upload_id}/")) == 2
    machines.next()
    url = reverse("api-workspace-upload-detail", kwargs={"upload_id": upload_id})
    assert api.delete(url).status_code == 204
    assert ChunkedUpload.objects.get(pk=upload_id).status == UploadStatus.CANCELLED
    assert _keys(on_bucket, f"uploads/{upload_id}/") == []
    assert _put(api, upload_id, 304, b"x").status_code == 409
    assert _keys(on_bucket, f"uploads/{upload_id}/") == []
    assert api.delete(url).status_code == 409
    assert machines.all_empty()


def test_a_web_page_is_rejected_at_the_first_chunk_and_nothing_is_stored(
    on_bucket: str, cast: Cast, tmp_path: Path
) -> None:
    api = _api(cast)
    data = write_bad_file("html_as_wav", tmp_path / "page.wav").read_bytes()
    upload_id = _create(api, cast, "page.wav", len(data) * 10).json()["id"]
    response = _put(api, upload_id, 0, data)
    assert response.status_code == 400
    assert "does not look like an audio or video recording" in response.json()["detail"]
    assert ChunkedUpload.objects.get(pk=upload_id).status == UploadStatus.FAILED
    assert _keys(on_bucket, "uploads/") == []


def test_a_part_missing_from_the_bucket_fails_the_upload_with_a_readable_reason(
    on_bucket: str, cast: Cast, tmp_path: Path
) -> None:
    api = _api(cast)
    data = write_speechlike_wav(tmp_path / "session.wav", seconds=2.0).read_bytes()
    upload_id = _create(api, cast, "session.wav", len(data)).json()["id"]
    assert _put(api, upload_id, 0, data).status_code == 200
    [key] = _keys(on_bucket, f"uploads/{upload_id}/")
    _client(on_bucket).delete_object(Bucket=BUCKET, Key=key)
    response = _complete(api, upload_id)
    assert response.status_code == 400
    assert "went missing" in response.json()["detail"]
    assert ChunkedUpload.objects.get(pk=upload_id).status == UploadStatus.FAILED


def test_an_unreachable_bucket_answers_503_and_loses_nothing(
    on_bucket: str, cast: Cast, tmp_path: Path, settings: Any
) -> None:
    api = _api(cast)
    data = write_speechlike_wav(tmp_path / "session.wav", seconds=2.0).read_bytes()
    upload_id = _create(api, cast, "session.wav", len(data)).json()["id"]
    half = len(data) // 2
    assert _put(api, upload_id, 0, data[:half]).status_code == 200

    # Nothing listens on this port: the chunk cannot be stored.
    _point_storage_at(settings, f"http://127.0.0.1:{_free_port()}")
    refused = _put(api, upload_id, half, data[half:])
    assert refused.status_code == 503 and refused.json()["offset"] == half
    assert "send it again" in refused.json()["detail"]
    _point_storage_at(settings, on_bucket)
    assert _put(api, upload_id, half, data[half:]).json()["offset"] == len(data)

    # Nor can the parts be read to check the file: the claim is given back.
    _point_storage_at(settings, f"http://127.0.0.1:{_free_port()}")
    busy = _complete(api, upload_id)
    assert busy.status_code == 503 and busy["Retry-After"] == "5"
    upload = ChunkedUpload.objects.get(pk=upload_id)
    assert (upload.status, upload.received_bytes) == (UploadStatus.UPLOADING, len(data))
    _point_storage_at(settings, on_bucket)
    done = _complete(api, upload_id)
    assert done.status_code == 201, done.json()
    recording = Recording.objects.get(pk=done.json()["recording"])
    assert recording.sha256 == hashlib.sha256(data).hexdigest()


def test_cleanup_expires_abandoned_uploads_and_removes_leftover_parts_from_the_bucket(
    on_bucket: str, cast: Cast, monkeypatch: Any, machines: WebMachines
) -> None:
    # An empty MEDIA_ROOT of its own: only the bucket holds upload folders to count.
    machines.next()
    api = _api(cast)
    fresh = _create(api, cast, "fresh.wav", 5000).json()["id"]
    stale = _create(api, cast, "stale.wav", 5000).json()["id"]
    for upload_id in (fresh, stale):
        assert _put(api, upload_id, 0, b"RIFF" + b"\0" * 100).status_code == 200
    ChunkedUpload.objects.filter(pk=stale).update(updated_at=timezone.now() - timedelta(days=3))
    s3 = _client(on_bucket)
    s3.put_object(Bucket=BUCKET, Key="uploads/not-an-upload/0-4-abc", Body=b"RIFF")

    first = tasks.cleanup_uploads()
    assert first["expired"] == 1
    assert ChunkedUpload.objects.get(pk=stale).status == UploadStatus.EXPIRED
    assert _keys(on_bucket, f"uploads/{stale}/") == []
    # A young leftover may belong to an upload whose row is not committed yet: kept.
    assert _keys(on_bucket, "uploads/not-an-upload/") == ["uploads/not-an-upload/0-4-abc"]

    later = timezone.now() + timedelta(hours=2)
    monkeypatch.setattr(uploads.timezone, "now", lambda: later)
    second = tasks.cleanup_uploads()
    assert second["expired"] == 0 and second["folders_removed"] == 1
    assert _keys(on_bucket, "uploads/not-an-upload/") == []
    # The live upload keeps its part and can continue.
    assert len(_keys(on_bucket, f"uploads/{fresh}/")) == 1
    assert ChunkedUpload.objects.get(pk=fresh).status == UploadStatus.UPLOADING


# --- concurrency on the bucket: racing requests for one upload ----------------------------------


def _race(count: int, request: Any) -> list[Any]:
    """``request()`` from ``count`` threads at once, each with its own database connection."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(count)
    answers: list[Any] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            barrier.wait()
            answer = request()
            with lock:
                answers.append(answer)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


@pytest.mark.django_db(transaction=True)
def test_the_same_chunk_sent_four_times_at_once_is_stored_once_and_completes_once(
    s3_storage: str, cast: Cast, tmp_path: Path
) -> None:
    grant_consent(cast.child, "recording")
    data = write_speechlike_wav(tmp_path / "session.wav", seconds=2.0).read_bytes()
    upload_id = _create(_api(cast), cast, "session.wav", len(data)).json()["id"]

    sent = _race(4, lambda: _put(_api(cast), upload_id, 0, data))
    codes = sorted(answer.status_code for answer in sent)
    assert codes == [200, 409, 409, 409], codes
    # The refused copies deleted their own objects; the accepted one is the part listed.
    [key] = _keys(s3_storage, f"uploads/{upload_id}/")
    assert ChunkedUpload.objects.get(pk=upload_id).parts == [[0, len(data), key]]

    completed = _race(4, lambda: _complete(_api(cast), upload_id))
    assert all(answer.status_code in (201, 202) for answer in completed)
    upload = ChunkedUpload.objects.get(pk=upload_id)
    assert upload.status == UploadStatus.COMPLETE
    assert Recording.objects.filter(original_name="session.wav").count() == 1
    assert upload.recording is not None
    assert upload.recording.sha256 == hashlib.sha256(data).hexdigest()
    assert _keys(s3_storage, f"uploads/{upload_id}/") == []
