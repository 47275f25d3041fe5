"""The browser's capture path does not change what the model hears (issue 10, section 4).

A known clip goes through Chromium's fake microphone into a practice attempt, the real worker
analyses it with the clinic's active model (the shipped default), and the stored attempt must
classify as the file itself does through the same decode and classifier code. The clip is a
quiet synthetic sentence. Measured with Chromium 156: with ser-default-v1 the file and the raw
capture both say "disgust" (0.77; 0.52-0.84 over our runs) while echo cancellation, noise
suppression and automatic gain (the browser's defaults; the gain lifts the clip by about 16 dB)
turn it into "angry" (0.72), so the label check fails there. ser-default-v2 keeps "disgust"
either way (file 0.92, raw 0.86, processed 0.72; total variation 0.06 raw, 0.21 processed), so
with it the check on the requested constraints is what fails when processing comes back on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from analysis.engine.audio import decode as audio
from analysis.engine.labels import CANONICAL_LABELS
from analysis.engine.practice.assess import speech_span
from analysis.registry.active import load_version
from analysis.registry.services import register_shipped_default
from analysis.services import local_file_path
from sessions.exercises.clips import attempt_limits
from sessions.exercises.models import Attempt, AttemptStatus
from tests.analysis.audio_factory import espeak_available, espeak_speech, write_wav
from tests.conftest import Cast, grant_consent
from tests.exercises.factories import make_assignment, make_exercise
from tests.exercises.test_browser import PHONE, _logged_in_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SR = 48000  # Chromium's fake capture wants 16-bit PCM; it loops the file
LOOPS = 4.0  # record several passes of the clip, so where the loop starts and ends matters little


def _quiet_voice(path: Path) -> float:
    """The test clip (20 dB below full level, padded with silence); returns its length in s."""
    speech = espeak_speech("I am so sad today.", voice="en+klatt4", pitch=0, speed=80, sr=SR)
    pad = np.zeros(int(0.4 * SR), dtype=np.float32)
    clip = 0.1 * np.concatenate([pad, speech.astype(np.float32), pad])
    write_wav(path, clip, SR)
    return clip.size / SR


@pytest.fixture
def clip(tmp_path: Path) -> tuple[Path, float]:
    if not espeak_available():
        pytest.fail("espeak-ng is needed (make sysdeps installs it)")
    path = tmp_path / "quiet-voice.wav"
    return path, _quiet_voice(path)


@pytest.fixture
def browser_audio(clip: tuple[Path, float]) -> Path:
    """The quiet voice is what the shared ``browser``'s fake microphone plays."""
    return clip[0]


def _probabilities(classifier: Any, path: Path) -> dict[str, float]:
    """What the worker computes for an attempt (sessions.exercises.attempts.attempt_process):
    decode at the attempt limits, keep the span with speech, classify."""
    samples = audio.decode(path, attempt_limits())
    row = classifier.predict_proba([speech_span(samples)])[0]
    return {label: float(p) for label, p in zip(CANONICAL_LABELS, row, strict=True)}


def _top(probabilities: dict[str, float]) -> str:
    return max(probabilities, key=lambda label: probabilities[label])


def test_a_clip_through_the_fake_microphone_classifies_as_the_file_does(
    live_server: Any, cast: Cast, celery_worker: Any, browser: Any, clip: tuple[Path, float]
) -> None:
    wav, seconds = clip
    version = register_shipped_default(clinic=cast.clinic)
    assert version is not None
    grant_consent(cast.child)
    assignment = make_assignment(cast.child, make_exercise(cast.clinic, target_emotion="sad"))
    page = _logged_in_page(browser, live_server, cast.guardian, PHONE)
    page.goto(f"/family/practice/{assignment.pk}/")

    page.get_by_role("button", name="Start recording").click()
    stop = page.get_by_role("button", name="Stop")
    stop.wait_for(timeout=10_000)
    page.wait_for_timeout(int(LOOPS * seconds * 1000))
    shown = json.loads(page.locator("#recorder").get_attribute("data-capture") or "{}")
    stop.click()
    page.locator("#feedback .ex-result[data-final='1']").wait_for(timeout=90_000)

    attempt = Attempt.objects.get(assignment=assignment)
    assert attempt.status == AttemptStatus.DONE, (
        attempt.status,
        attempt.message,
        celery_worker.lines[-20:],
    )
    # The browser was asked for raw audio and says it delivered it; the attempt keeps that.
    raw = {"echoCancellation": False, "noiseSuppression": False, "autoGainControl": False}
    assert {key: shown.get(key) for key in raw} == raw, shown
    assert {key: attempt.capture.get(key) for key in raw} == raw, attempt.capture
    assert attempt.capture["mimeType"].startswith("audio/webm"), attempt.capture
    assert "opus" in attempt.capture["mimeType"], attempt.capture
    # 64 kbit/s per channel (Chromium's fake microphone is stereo with processing off).
    channels = attempt.capture["channelCount"]
    assert attempt.capture["audioBitsPerSecond"] == 64000 * channels, attempt.capture
    assert not {"deviceId", "groupId", "label"} & set(attempt.capture), attempt.capture
    assert attempt.duration_s is not None and attempt.duration_s > 2 * seconds

    classifier = load_version(version)
    direct = _probabilities(classifier, wav)
    with local_file_path(attempt.audio) as stored_path:
        stored = _probabilities(classifier, stored_path)
    assert _top(stored) == _top(direct), (direct, stored)
    assert attempt.top_emotion == _top(direct), (attempt.probabilities, direct)
    # Not only the winner: the whole estimate stays close (total variation distance).
    distance = 0.5 * sum(abs(stored[label] - direct[label]) for label in direct)
    assert distance < 0.35, (direct, stored)  # 0.1-0.25 measured raw; 0.6 with processing


def test_a_browser_that_refuses_the_raw_constraints_still_records(
    live_server: Any, cast: Cast, browser: Any
) -> None:
    grant_consent(cast.child)
    assignment = make_assignment(cast.child, make_exercise(cast.clinic))
    page = _logged_in_page(browser, live_server, cast.guardian, PHONE)
    # A browser that treats every audio constraint as required and cannot meet them.
    page.add_init_script("""
      const open = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
      window.requested = [];
      navigator.mediaDevices.getUserMedia = async (constraints) => {
        window.requested.push(JSON.stringify(constraints));
        if (constraints.audio !== true) {
          throw new DOMException('Cannot satisfy constraints', 'OverconstrainedError');
        }
        return open(constraints);
      };
    """)
    page.goto(f"/family/practice/{assignment.pk}/")
    page.get_by_role("button", name="Start recording").click()
    page.get_by_role("button", name="Stop").wait_for(timeout=10_000)
    requested = [json.loads(item) for item in page.evaluate("window.requested")]
    assert requested[0]["audio"]["echoCancellation"] is False, requested
    assert requested[0]["audio"]["noiseSuppression"] is False, requested
    assert requested[0]["audio"]["autoGainControl"] is False, requested
    assert requested[0]["audio"]["channelCount"] == 1, requested
    assert requested[1:] == [{"audio": True}], requested
    shown = json.loads(page.locator("#recorder").get_attribute("data-capture") or "{}")
    assert shown["audioBitsPerSecond"] == 64000 * shown["channelCount"], shown
    assert not page.locator("#rec-status").evaluate("el => el.classList.contains('is-problem')")
