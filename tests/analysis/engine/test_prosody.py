"""The prosody core measures what it claims on generated audio with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.engine.prosody import (
    TYPICAL,
    Baseline,
    Prosody,
    baseline_from,
    compare,
    measure,
    semitones,
    tips,
)
from tests.analysis.audio_factory import espeak_available, espeak_speech, speechlike, tone

SR = 16000


def test_pitch_of_a_steady_tone_is_its_frequency_with_no_range() -> None:
    p = measure(tone(2.0, SR, freq=220.0))
    assert p.pitch_median_hz == pytest.approx(220.0, abs=1.0)
    assert p.pitch_range_st is not None and p.pitch_range_st < 0.2


def test_pitch_level_and_range_of_speechlike_audio_follow_its_f0_contour() -> None:
    low = measure(speechlike(5.0, SR, f0=140.0))
    high = measure(speechlike(5.0, SR, f0=400.0, seed=3))
    assert low.pitch_median_hz == pytest.approx(140.0, rel=0.1)
    assert high.pitch_median_hz == pytest.approx(400.0, rel=0.1)
    # The generator's contour wanders +/-12 % around f0: about 4 semitones from 10th to 90th.
    assert low.pitch_range_st == pytest.approx(4.0, abs=1.0)


def test_speaking_rate_counts_the_syllables_of_speechlike_audio() -> None:
    p = measure(speechlike(6.0, SR, f0=160.0))
    # The generator makes 4 syllables per second inside phrases.
    assert p.speaking_rate == pytest.approx(4.0, abs=0.8)
    assert p.syllables >= 12


def test_halving_the_amplitude_lowers_loudness_by_six_db() -> None:
    audio = speechlike(4.0, SR)
    full, half = measure(audio), measure(0.5 * audio)
    assert full.loudness_db is not None and half.loudness_db is not None
    assert full.loudness_db - half.loudness_db == pytest.approx(6.02, abs=0.3)


def test_silence_and_noise_are_not_speech() -> None:
    silent = measure(np.zeros(3 * SR, dtype=np.float32))
    assert not silent.has_speech
    assert silent.pitch_median_hz is None and silent.speaking_rate is None
    hiss = measure((0.01 * np.random.default_rng(0).standard_normal(3 * SR)).astype(np.float32))
    assert not hiss.has_speech


def test_speech_is_speech() -> None:
    assert measure(speechlike(3.0, SR)).has_speech


@pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed")
def test_faster_synthesised_speech_has_a_higher_speaking_rate() -> None:
    text = "I am so happy to see you today, my friend"
    slow = measure(espeak_speech(text, speed=90))
    fast = measure(espeak_speech(text, speed=260))
    assert slow.speaking_rate is not None and fast.speaking_rate is not None
    assert fast.speaking_rate > 1.5 * slow.speaking_rate


def test_measures_resample_other_sample_rates() -> None:
    p = measure(tone(1.5, 44100, freq=300.0), sample_rate=44100)
    assert p.pitch_median_hz == pytest.approx(300.0, abs=2.0)
    assert p.duration_s == pytest.approx(1.5, abs=0.01)


def test_round_trips_through_a_dict() -> None:
    p = measure(speechlike(2.0, SR))
    again = Prosody.from_dict(p.to_dict())
    assert again.pitch_median_hz == pytest.approx(p.pitch_median_hz, abs=1e-3)
    assert again.has_speech == p.has_speech


def _profile(**overrides: float | None) -> Prosody:
    values: dict[str, object] = {
        "duration_s": 3.0,
        "speech_s": 2.5,
        "voiced_s": 2.0,
        "peak_db": -12.0,
        "pitch_median_hz": 250.0,
        "pitch_low_hz": 220.0,
        "pitch_high_hz": 290.0,
        "pitch_range_st": 4.8,
        "loudness_db": -20.0,
        "loudness_range_db": 15.0,
        "syllables": 10,
        "speaking_rate": 4.0,
    }
    values.update(overrides)
    return Prosody(**values)  # type: ignore[arg-type]


def test_a_flat_slow_voice_is_below_the_typical_happy_range_and_gets_tips() -> None:
    flat = _profile(pitch_range_st=1.5, speaking_rate=2.0)
    comparisons = {c.measure: c for c in compare(flat, target="happy")}
    assert comparisons["pitch_range"].typical == "below"
    assert comparisons["speaking_rate"].typical == "below"
    assert "flatter" in comparisons["pitch_range"].text.lower()
    # Without a baseline, level and loudness are not judged.
    assert comparisons["pitch_level"].value is None and comparisons["pitch_level"].typical is None
    suggestions = tips(list(comparisons.values()))
    assert any("up and down" in s for s in suggestions)
    assert any("faster" in s for s in suggestions)


def test_pitch_level_and_loudness_are_relative_to_the_childs_usual_voice() -> None:
    usual = Baseline(pitch_hz=250.0, loudness_db=-20.0, attempts=3)
    higher = _profile(pitch_median_hz=250.0 * 2 ** (3 / 12), loudness_db=-17.0)
    comparisons = {c.measure: c for c in compare(higher, target="happy", baseline=usual)}
    assert comparisons["pitch_level"].value == pytest.approx(3.0, abs=0.01)
    assert comparisons["pitch_level"].typical == "within"
    assert comparisons["loudness"].value == pytest.approx(3.0)


def test_comparison_with_the_example_uses_speaker_independent_measures_only() -> None:
    child = _profile(pitch_median_hz=300.0, pitch_range_st=8.0, speaking_rate=4.1)
    therapist = _profile(pitch_median_hz=120.0, pitch_range_st=4.0, speaking_rate=4.0)
    comparisons = {c.measure: c for c in compare(child, target="happy", example=therapist)}
    assert comparisons["pitch_range"].example == "above"
    assert comparisons["speaking_rate"].example == "like"
    assert comparisons["pitch_level"].example is None  # an adult's pitch is no target for a child


def test_every_canonical_emotion_has_a_typical_pattern() -> None:
    from analysis.engine.labels import CANONICAL_LABELS

    assert set(TYPICAL) == set(CANONICAL_LABELS)
    for bands in TYPICAL.values():
        assert all(band.low < band.high for band in bands.values())


def test_baseline_needs_two_earlier_tries_with_speech() -> None:
    one = [_profile(pitch_median_hz=200.0)]
    assert baseline_from(one) is None
    silent = _profile(voiced_s=0.0)
    assert baseline_from([silent, silent]) is None
    base = baseline_from([_profile(pitch_median_hz=200.0), _profile(pitch_median_hz=300.0)])
    assert base is not None and base.pitch_hz == pytest.approx(250.0)
    assert semitones(500.0, 250.0) == pytest.approx(12.0)
