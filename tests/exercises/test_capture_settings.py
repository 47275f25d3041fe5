"""What the practice page reports about a recording (the browser's processing and the recorder's
format) is stored with the attempt, cleaned; a malformed report never costs the recording."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.urls import reverse
from rest_framework.test import APIClient

from sessions.exercises.models import Attempt
from sessions.exercises.services import capture_settings
from tests.analysis.audio_factory import write_speechlike_wav
from tests.conftest import Cast, grant_consent
from tests.exercises.factories import make_assignment, make_exercise

# What Chromium's track.getSettings() gives for a raw capture, plus the recorder's format.
CHROMIUM_RAW = {
    "deviceId": "default",
    "groupId": "5ad3f0c1d1e9",
    "echoCancellation": False,
    "noiseSuppression": False,
    "autoGainControl": False,
    "channelCount": 2,
    "sampleRate": 44100,
    "sampleSize": 16,
    "latency": 0.01,
    "mimeType": "audio/webm;codecs=opus",
    "audioBitsPerSecond": 64000,
}


def _upload(cast: Cast, tmp_path: Path, **extra: Any) -> Attempt:
    grant_consent(cast.child)
    assignment = make_assignment(cast.child, make_exercise(cast.clinic))
    client = APIClient()
    client.force_authenticate(cast.guardian)
    with write_speechlike_wav(tmp_path / "try.wav", seconds=2.0).open("rb") as handle:
        response = client.post(
            reverse("api-exercise-attempts", args=[assignment.pk]),
            {"file": handle, **extra},
            format="multipart",
        )
    assert response.status_code == 201, response.content
    return Attempt.objects.get(pk=response.json()["id"])


def test_attempt_keeps_the_processing_the_browser_applied(cast: Cast, tmp_path: Path) -> None:
    attempt = _upload(cast, tmp_path, capture=json.dumps(CHROMIUM_RAW))
    assert attempt.capture == {
        "echoCancellation": False,
        "noiseSuppression": False,
        "autoGainControl": False,
        "channelCount": 2,
        "sampleRate": 44100,
        "sampleSize": 16,
        "mimeType": "audio/webm;codecs=opus",
        "audioBitsPerSecond": 64000,
    }


def test_malformed_capture_report_still_stores_the_recording(cast: Cast, tmp_path: Path) -> None:
    attempt = _upload(cast, tmp_path, capture="{not json")
    assert attempt.capture == {}
    assert attempt.has_audio


def test_upload_without_a_capture_report_stores_none(cast: Cast, tmp_path: Path) -> None:
    assert _upload(cast, tmp_path).capture == {}


def test_capture_settings_drop_device_ids_and_wrong_types() -> None:
    cleaned = capture_settings(
        {
            "deviceId": "abc",
            "groupId": "def",
            "label": "USB headset",
            "echoCancellation": "remote-only",
            "noiseSuppression": "no",
            "sampleRate": True,
            "channelCount": 1,
            "mimeType": "audio/webm" + "x" * 500,
        }
    )
    assert cleaned == {
        "echoCancellation": "remote-only",
        "channelCount": 1,
        "mimeType": ("audio/webm" + "x" * 500)[:100],
    }
    assert capture_settings(["not", "a", "dict"]) == {}
    assert capture_settings(None) == {}
