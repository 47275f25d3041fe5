"""The therapist's review of a practice try: both recordings play with a length and can seek
(a browser WebM gets a seek index when it is analysed), and the waveform and melody of the try
and the model recording are drawn beside the "how the voice sounded" numbers."""

from __future__ import annotations

import contextlib
import hashlib
import re
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from sessions.exercises import attempts, selectors, services
from sessions.exercises.models import Attempt
from tests.analysis.engine.test_contour_remux import _browser_webm
from tests.conftest import Cast, grant_consent
from tests.exercises.factories import done_attempt, make_assignment, make_attempt, make_exercise

# The shared browser fixture: in tests/conftest.py, or (before that) in the workspace tests.
with contextlib.suppress(ImportError):
    from tests.workspace.test_browser import browser  # type: ignore[attr-defined]  # noqa: F401


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()


def test_a_browser_webm_attempt_gets_a_duration_and_seek_index_when_analysed(
    cast: Cast, active_model: Any, tmp_path: Path
) -> None:
    grant_consent(cast.child)
    raw = _browser_webm(tmp_path / "try.webm", seconds=2.0).read_bytes()
    attempt = make_attempt(
        make_assignment(cast.child, make_exercise(cast.clinic)),
        audio=raw,
    )
    old_path = Path(attempt.audio.path)
    attempts.attempt_process(attempt.pk)
    attempt = Attempt.objects.get(pk=attempt.pk)
    with av.open(attempt.audio.path) as container:
        assert container.duration is not None
        assert container.duration / 1e6 == pytest.approx(2.0, abs=0.05)
    stored = Path(attempt.audio.path).read_bytes()
    assert attempt.size_bytes == len(stored)
    assert attempt.sha256 == hashlib.sha256(stored).hexdigest()
    assert attempt.duration_s == pytest.approx(2.0, abs=0.05)
    # The unindexed copy is gone (erasure deletes attempt.audio: nothing may be left behind).
    assert not old_path.exists() or old_path == Path(attempt.audio.path)


def test_review_page_shows_durations_and_the_voice_overlaid_on_the_model(
    cast: Cast, tmp_path: Path
) -> None:
    from tests.analysis.audio_factory import speechlike, write_wav

    exercise = make_exercise(cast.clinic, with_audio=True)
    exercise.model_audio_duration_s = 1.0
    exercise.save()
    wav = write_wav(tmp_path / "a.wav", speechlike(2.0, 16000, f0=260.0), 16000)
    attempt = done_attempt(
        make_assignment(cast.child, exercise), audio=wav.read_bytes(), duration_s=2.0
    )
    page = _client(cast.therapist).get(reverse("attempt_review", args=[attempt.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "(2.0 s)" in html and "(1.0 s)" in html
    assert 'preload="metadata"' in html
    figure = page.context["voice_figure"]
    names = [t["name"] for t in figure["data"]]
    assert names == [
        "This try: waveform",
        "This try: melody",
        "Model recording: waveform",
        "Model recording: melody",
    ]
    melody = figure["data"][1]
    assert melody["yaxis"] == "y2" and any(v is not None for v in melody["y"])
    assert 'data-figure="voice-figure"' in html and "How the voice moved" in html
    assert re.search(r'<script id="voice-figure" type="application/json">', html)
    # The contour is measured once per clip, then read from the cache.
    assert (
        selectors.voice_contours(attempt)["attempt"] == selectors.voice_contours(attempt)["attempt"]
    )


def test_review_page_without_audio_has_no_voice_chart(cast: Cast) -> None:
    exercise = make_exercise(cast.clinic)
    attempt = done_attempt(make_assignment(cast.child, exercise))
    Attempt.objects.filter(pk=attempt.pk).update(audio="")
    page = _client(cast.therapist).get(reverse("attempt_review", args=[attempt.pk]))
    assert page.status_code == 200
    assert page.context["voice_figure"] is None
    assert "How the voice moved" not in page.content.decode()


def test_a_model_recording_made_in_the_browser_is_stored_with_its_index(
    cast: Cast, tmp_path: Path
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.analysis.audio_factory import speechlike

    # Speech, so the recording is accepted as a model recording; written as the browser does.
    sr = 48000
    voice = np.repeat(speechlike(2.0, 16000, f0=200.0), 3)
    path = _write_stream_webm(tmp_path / "model.webm", voice, sr)
    exercise = make_exercise(cast.clinic)
    upload = SimpleUploadedFile("model.webm", path.read_bytes(), content_type="audio/webm")
    services._set_model_audio(exercise, upload)
    exercise.save()
    with av.open(exercise.model_audio.path) as container:
        assert container.duration is not None


def _write_stream_webm(path: Path, samples: np.ndarray, sr: int) -> Path:
    from tests.analysis.engine.test_contour_remux import _Stream

    sink = _Stream()
    with av.open(sink, "w", format="webm") as out:
        stream = out.add_stream("libopus", rate=sr)
        stream.layout = "mono"
        x = samples.astype(np.float32)
        for i in range(0, x.size, 960):
            frame = av.AudioFrame.from_ndarray(x[None, i : i + 960], format="flt", layout="mono")
            frame.sample_rate = sr
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    path.write_bytes(bytes(sink.data))
    return path


@pytest.mark.browser
@pytest.mark.slow
def test_the_reviewed_try_plays_with_a_length_and_seeks_in_chromium(
    browser: Any,
    live_server: Any,
    cast: Cast,
    active_model: Any,
    tmp_path: Path,
) -> None:
    from tests.workspace.test_browser import SHOTS, _login

    grant_consent(cast.child)
    exercise = make_exercise(cast.clinic, with_audio=True)
    raw = _browser_webm(tmp_path / "try.webm", seconds=3.0).read_bytes()
    attempt = make_attempt(make_assignment(cast.child, exercise), audio=raw)
    attempts.attempt_process(attempt.pk)
    page = _login(browser, live_server, cast.therapist.email)
    page.goto(live_server.url + reverse("attempt_review", args=[attempt.pk]))
    player = page.locator("audio[aria-labelledby='attempt-audio-label']")
    player.wait_for()
    page.wait_for_function(
        "() => { const a = document.querySelector("
        "\"audio[aria-labelledby='attempt-audio-label']\");"
        " return a && a.readyState >= 1 && Number.isFinite(a.duration); }",
        timeout=20_000,
    )
    duration = player.evaluate("a => a.duration")
    assert duration == pytest.approx(3.0, abs=0.1)
    player.evaluate("a => { a.currentTime = 2.0; }")
    page.wait_for_function(
        "() => Math.abs(document.querySelector(\"audio[aria-labelledby='attempt-audio-label']\")"
        ".currentTime - 2.0) < 0.1"
    )
    page.locator("[data-figure='voice-figure'] .main-svg").first.wait_for()
    page.screenshot(path=str(SHOTS / "practice-review-voice.png"), full_page=True)
    assert page.problems == [], page.problems


def test_indexing_never_brings_back_audio_erased_meanwhile(cast: Cast, tmp_path: Path) -> None:
    from django.utils import timezone

    raw = _browser_webm(tmp_path / "try.webm", seconds=1.0).read_bytes()
    attempt = make_attempt(make_assignment(cast.child, make_exercise(cast.clinic)), audio=raw)
    folder = Path(attempt.audio.path).parent
    # The erasure ran between reading the file and swapping it in.
    Attempt.objects.filter(pk=attempt.pk).update(audio="", audio_deleted_at=timezone.now())
    attempts.attempt_audio_index(attempt)
    stored = Attempt.objects.get(pk=attempt.pk)
    assert not stored.audio and stored.audio_deleted_at is not None
    assert not any(p.name.startswith("indexed") for p in folder.iterdir())


def test_the_backfill_command_indexes_older_tries_once(cast: Cast, tmp_path: Path) -> None:
    import io as _io

    from django.core.management import call_command

    from tests.exercises.factories import wav_bytes

    assignment = make_assignment(cast.child, make_exercise(cast.clinic))
    webm = make_attempt(assignment, audio=_browser_webm(tmp_path / "a.webm").read_bytes())
    make_attempt(assignment, audio=wav_bytes())
    out = _io.StringIO()
    call_command("index_practice_audio", stdout=out)
    assert "2 tries with audio checked, 1 given a seek index." in out.getvalue()
    with av.open(Attempt.objects.get(pk=webm.pk).audio.path) as container:
        assert container.duration is not None
    again = _io.StringIO()
    call_command("index_practice_audio", stdout=again)
    assert "0 given a seek index" in again.getvalue()
