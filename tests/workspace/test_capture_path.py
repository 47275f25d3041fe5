"""A session recorded in the browser asks for raw audio and records Opus in WebM at the bit
rate the robustness benchmark reproduces, 64 kbit/s per channel (issue 10, section 4)."""

from __future__ import annotations

import json
import re
from typing import Any

import av
import pytest

from analysis.services import local_file_path
from sessions.models import Recording
from sessions.workspace.models import ChunkedUpload
from tests.conftest import Cast, grant_consent
from tests.workspace.test_browser import _login

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_session_recording_asks_for_raw_audio_and_records_opus_at_64_kbit_per_channel(
    browser: Any, live_server: Any, cast: Cast
) -> None:
    grant_consent(cast.child, "recording")
    page = _login(browser, live_server, cast.therapist.email)
    page.goto(f"{live_server.url}/sessions/{cast.session.pk}/")
    page.click("#rec-start")
    page.locator("#rec-stop").wait_for(state="visible")
    page.wait_for_timeout(3000)
    applied = json.loads(page.locator("#workspace").get_attribute("data-capture") or "{}")
    page.click("#rec-stop")
    page.locator("#rec-review").wait_for(state="visible")
    page.click("#rec-save")
    page.wait_for_url(re.compile(r"recording="), timeout=60_000)

    assert applied.get("echoCancellation") is False, applied
    assert applied.get("noiseSuppression") is False, applied
    assert applied.get("autoGainControl") is False, applied
    assert applied.get("mimeType", "").startswith("audio/webm"), applied
    # 64 kbit/s per channel (Chromium's fake microphone is stereo with processing off).
    assert applied.get("audioBitsPerSecond") == 64000 * applied["channelCount"], applied
    assert not {"deviceId", "groupId"} & set(applied), applied

    recording = Recording.objects.get(session=cast.session, original_name__startswith="browser-")
    # The upload keeps what the browser reported, cleaned (no device ids).
    upload = ChunkedUpload.objects.get(recording=recording)
    expected = {key: applied[key] for key in applied if key not in {"deviceId", "groupId"}}
    assert upload.capture == expected, (upload.capture, applied)
    with local_file_path(recording.file) as path, av.open(str(path)) as container:
        assert "webm" in container.format.name
        assert container.streams.audio[0].codec_context.name == "opus"
    assert page.problems == [], page.problems
