"""The practice pages record a child's voice: the shared ``browser``'s microphone says a line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.analysis.audio_factory import espeak_available, write_espeak_wav, write_speechlike_wav


@pytest.fixture
def browser_audio(tmp_path: Path) -> Path:
    path = tmp_path / "voice.wav"
    if espeak_available():
        # Chromium's fake capture wants 16-bit PCM; it loops the file.
        return write_espeak_wav(path, "Hi! I'm so happy to see you!", pitch=80, sr=48000)
    return write_speechlike_wav(path, seconds=4.0, sr=48000, f0=260.0)
