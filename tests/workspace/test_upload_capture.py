"""A session recording made in the page keeps what the browser applied while recording, cleaned;
a missing or malformed report never refuses the upload."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from sessions.workspace.models import ChunkedUpload
from tests.conftest import Cast, grant_consent


@pytest.fixture
def therapist_api(cast: Cast) -> APIClient:
    client = APIClient()
    client.force_login(cast.therapist)
    grant_consent(cast.child, "recording")
    return client


def _create(client: APIClient, cast: Cast, **extra: Any) -> ChunkedUpload:
    response = client.post(
        reverse("api-workspace-upload-create", kwargs={"session_id": cast.session.pk}),
        {"filename": "browser-recording.webm", "size": 1000, "content_type": "audio/webm", **extra},
        format="json",
    )
    assert response.status_code == 201, response.content
    return ChunkedUpload.objects.get(pk=response.json()["id"])


def test_upload_keeps_the_browsers_capture_settings_without_device_ids(
    therapist_api: APIClient, cast: Cast
) -> None:
    upload = _create(
        therapist_api,
        cast,
        capture={
            "deviceId": "default",
            "groupId": "5ad3f0c1",
            "echoCancellation": False,
            "noiseSuppression": False,
            "autoGainControl": False,
            "channelCount": 2,
            "sampleRate": 44100,
            "mimeType": "audio/webm;codecs=opus",
            "audioBitsPerSecond": 128000,
        },
    )
    assert upload.capture == {
        "echoCancellation": False,
        "noiseSuppression": False,
        "autoGainControl": False,
        "channelCount": 2,
        "sampleRate": 44100,
        "mimeType": "audio/webm;codecs=opus",
        "audioBitsPerSecond": 128000,
    }


@pytest.mark.parametrize("capture", ["{not json", ["a", "list"], 42])
def test_a_malformed_capture_report_is_dropped_not_refused(
    therapist_api: APIClient, cast: Cast, capture: Any
) -> None:
    assert _create(therapist_api, cast, capture=capture).capture == {}


def test_a_file_from_disk_has_no_capture_report(therapist_api: APIClient, cast: Cast) -> None:
    assert _create(therapist_api, cast).capture == {}
