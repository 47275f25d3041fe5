"""The starter clips: generated speech shipped in the repository, labelled "generated voice",
small, reproducible, with subtler (normal) and noisy variants that really differ."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from analysis.engine.audio import conditions
from analysis.engine.audio import decode as audio
from sessions.listening import starter


def test_every_starter_clip_is_shipped_small_and_labelled_generated() -> None:
    entries = starter.manifest()
    assert set(entries) == set(starter.CLIPS)
    total = 0
    for key, (emotion, intensity, phrase, noisy) in starter.CLIPS.items():
        entry = entries[key]
        path = starter.path_for(key)
        assert path is not None, key
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], key
        assert entry["voice"] == "generated voice"
        assert (entry["emotion"], entry["intensity"]) == (emotion, intensity)
        assert entry["words"] == starter.PHRASES[phrase]
        assert (entry["noise_snr_db"] is not None) == noisy
        assert 1.0 < entry["duration_s"] < 5.0 and len(data) < 12_000, key
        total += len(data)
    assert total < 150_000


def test_normal_clips_sit_between_the_strong_and_the_plain_voice() -> None:
    plain = starter.VOICES["neutral"]
    for emotion in starter.EMOTIONS:
        strong, normal = starter.voice_for(emotion, "strong"), starter.voice_for(emotion, "normal")
        for field in ("rate", "pitch", "amplitude"):
            low, high = sorted((getattr(strong, field), getattr(plain, field)))
            assert low <= getattr(normal, field) <= high


def test_noisy_clips_carry_noise_at_the_stated_level() -> None:
    for emotion in starter.EMOTIONS:
        clean = audio.decode(starter.path_for(f"{emotion}-park-strong"))  # type: ignore[arg-type]
        noisy = audio.decode(starter.path_for(f"{emotion}-park-noisy"))  # type: ignore[arg-type]
        n = min(clean.size, noisy.size)
        residual = noisy[:n] - clean[:n]
        snr = 10 * np.log10(conditions.speech_power(clean[:n]) / float(np.mean(residual**2)))
        # 10 dB mixed in; Opus coding of both clips blurs the difference by a few dB.
        assert 5.0 < snr < 14.0, (emotion, snr)


@pytest.mark.skipif(not shutil.which("espeak-ng"), reason="needs espeak-ng to rebuild")
def test_rebuilding_gives_the_shipped_bytes(tmp_path: Path) -> None:
    entries = starter.build(tmp_path)
    shipped = {key: entry["sha256"] for key, entry in starter.manifest().items()}
    starter.manifest.cache_clear()
    assert {key: entry["sha256"] for key, entry in entries.items()} == shipped
