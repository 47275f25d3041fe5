"""The scale-out path: recordings on S3-compatible storage, a worker that shares no disk.

moto's server mode is a real S3 API on 127.0.0.1. The portal (this test process) stores
uploads there through django-storages; the worker is another process configured only by
environment variables (as a worker machine would be), with its own, empty MEDIA_ROOT. Upload
(plain and resumable), analysis, waveform and playback must all work, and the worker's media
folder must still be empty at the end. Emotion models stay on each machine's local model volume
(SER_MODELS_DIR): the worker gets its own copy, as a deployment installs them.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import boto3
import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from sessions.models import Recording
from tests.analysis.audio_factory import write_speechlike_wav
from tests.celery_worker import WorkerProcess, wait_for
from tests.conftest import Cast, grant_consent

pytestmark = [pytest.mark.slow]

BUCKET = "ser-recordings"
REGION = "us-east-1"
KEYS = {"S3_ACCESS_KEY_ID": "testing", "S3_SECRET_ACCESS_KEY": "testing"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    _client(url).create_bucket(Bucket=BUCKET)
    yield url
    server.stop()


def _client(url: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=KEYS["S3_ACCESS_KEY_ID"],
        aws_secret_access_key=KEYS["S3_SECRET_ACCESS_KEY"],
    )


@pytest.fixture
def s3_storage(settings: Any, s3_endpoint: str) -> str:
    """This process stores media on the S3 endpoint, configured as base.py does from the env."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_endpoint,
                "region_name": REGION,
                "access_key": KEYS["S3_ACCESS_KEY_ID"],
                "secret_key": KEYS["S3_SECRET_ACCESS_KEY"],
                "default_acl": "private",
                "querystring_auth": True,
                "file_overwrite": False,
            },
        },
    }
    return s3_endpoint


@pytest.fixture
def remote_worker(
    transactional_db: Any,
    queue_prefix: str,
    s3_storage: str,
    tmp_path: Path,
    active_model: Any,
    settings: Any,
) -> Iterator[tuple[WorkerProcess, Path]]:
    """A worker "on another machine": object storage from its environment, an empty media
    folder of its own."""
    media = tmp_path / "worker-media"
    media.mkdir()
    # Its model volume is its own too: a copy of the models, as a deployment installs them.
    models = tmp_path / "worker-models"
    shutil.copytree(settings.SER_MODELS_DIR, models)
    worker = WorkerProcess(
        queue_prefix,
        name="remote",
        extra_env={
            "MEDIA_ROOT": str(media),
            "SER_TEST_MODELS_DIR": str(models),
            "DEFAULT_FILE_STORAGE_BACKEND": "storages.backends.s3.S3Storage",
            "S3_BUCKET_NAME": BUCKET,
            "S3_ENDPOINT_URL": s3_storage,
            "S3_REGION_NAME": REGION,
            **KEYS,
        },
    )
    worker.start()
    yield worker, media
    worker.stop()


def _status(api: APIClient, recording_id: str) -> dict[str, Any]:
    url = reverse("api-recording-detail", kwargs={"recording_id": recording_id})
    return dict(api.get(url).json())


def _waveform(api: APIClient, url: str) -> dict[str, Any] | None:
    """The waveform once drawn (202 while it is being computed)."""
    response = api.get(url)
    return dict(response.json()) if response.status_code == 200 else None


def _body(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


def _resumable_upload(api: APIClient, cast: Cast, data: bytes) -> str:
    created = api.post(
        reverse("api-workspace-upload-create", kwargs={"session_id": cast.session.pk}),
        {"filename": "resumed.wav", "size": len(data), "content_type": "audio/wav"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    upload_id = created.json()["id"]
    half = len(data) // 2
    for offset, chunk in ((0, data[:half]), (half, data[half:])):
        put = api.put(
            reverse("api-workspace-upload-chunk", kwargs={"upload_id": upload_id}),
            chunk,
            content_type="application/octet-stream",
            headers={"Upload-Offset": str(offset)},
        )
        assert put.status_code == 200, put.json()
    done = api.post(reverse("api-workspace-upload-complete", kwargs={"upload_id": upload_id}))
    assert done.status_code == 201, done.json()
    return str(done.json()["recording"])


def test_upload_analysis_and_playback_with_recordings_on_s3_and_a_worker_without_shared_disk(
    cast: Cast,
    tmp_path: Path,
    active_model: Any,
    s3_storage: str,
    remote_worker: tuple[WorkerProcess, Path],
    settings: Any,
) -> None:
    worker, worker_media = remote_worker
    grant_consent(cast.child)
    api = APIClient()
    api.force_login(cast.therapist)
    plain = write_speechlike_wav(tmp_path / "talk.wav", seconds=10.0).read_bytes()
    resumed = write_speechlike_wav(tmp_path / "more.wav", seconds=8.0, seed=3).read_bytes()

    response = api.post(
        reverse("api-session-recordings", kwargs={"session_id": cast.session.pk}),
        {"file": (tmp_path / "talk.wav").open("rb")},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    recordings = {response.json()["id"]: plain, _resumable_upload(api, cast, resumed): resumed}

    # Stored as private objects in the bucket, not on this machine's disk.
    s3 = _client(s3_storage)
    for recording_id, data in recordings.items():
        key = str(Recording.objects.get(pk=recording_id).file.name)
        assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == data
        assert not (Path(settings.MEDIA_ROOT) / key).exists()
        acl = s3.get_object_acl(Bucket=BUCKET, Key=key)["Grants"]
        assert all("AllUsers" not in str(grant["Grantee"]) for grant in acl)

    # The worker reads each recording from S3 and analyses it.
    def all_finished() -> bool:
        return all(_status(api, r)["status"] in {"done", "failed"} for r in recordings)

    wait_for(all_finished, timeout=240, interval=1.0)
    for recording_id in recordings:
        body = _status(api, recording_id)
        assert body["status"] == "done", (body, worker.lines[-30:])
        timeline = api.get(
            reverse("api-recording-timeline", kwargs={"recording_id": recording_id})
        ).json()
        assert timeline["segments"], "speech-like audio must yield segments"
        # The waveform is drawn by the worker too, from the same object.
        waveform_url = reverse("api-workspace-waveform", kwargs={"recording_id": recording_id})
        drawn = wait_for(partial(_waveform, api, waveform_url), timeout=120)
        assert drawn is not None and drawn["peaks"]

    # Playback streams the object through the portal's access-checked view, ranges included.
    web = Client()
    web.force_login(cast.therapist)
    for recording_id, data in recordings.items():
        url = reverse("recording_audio", kwargs={"recording_id": recording_id})
        whole = web.get(url)
        assert whole.status_code == 200
        assert _body(whole) == data
        part = web.get(url, headers={"Range": "bytes=100-1099"})
        assert part.status_code == 206
        assert _body(part) == data[100:1100]

    # Nothing was ever written to the worker's own media folder.
    assert sorted(worker_media.rglob("*")) == []
