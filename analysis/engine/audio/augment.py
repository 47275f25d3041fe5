"""Seeded waveform augmentation for training emotion heads.

Every function takes a ``numpy.random.Generator`` so a training run is reproducible from its
seed. Perturbations are kept mild: emotion lives in pitch, tempo and loudness, so large speed or
pitch changes would change the very cue being labelled.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

SAMPLE_RATE = 16000


def add_noise(
    audio: np.ndarray, rng: np.random.Generator, snr_db: tuple[float, float]
) -> np.ndarray:
    """White noise at a signal-to-noise ratio drawn uniformly from ``snr_db``."""
    power = float(np.mean(audio.astype(np.float64) ** 2)) + 1e-12
    snr = rng.uniform(*snr_db)
    noise = rng.normal(0.0, np.sqrt(power / 10 ** (snr / 10)), audio.shape)
    return (audio + noise).astype(np.float32)


def random_gain(audio: np.ndarray, rng: np.random.Generator, db: tuple[float, float]) -> np.ndarray:
    """Scale by a gain drawn uniformly (in dB) from ``db``; clipped to [-1, 1]."""
    return np.clip(audio * 10 ** (rng.uniform(*db) / 20), -1.0, 1.0).astype(np.float32)


def time_shift(audio: np.ndarray, rng: np.random.Generator, max_seconds: float) -> np.ndarray:
    """Circularly shift by up to ``max_seconds`` either way (clips are padded with silence)."""
    limit = int(max_seconds * SAMPLE_RATE)
    if limit <= 0 or audio.size == 0:
        return audio.astype(np.float32)
    return np.roll(audio, int(rng.integers(-limit, limit + 1))).astype(np.float32)


def speed_perturb(
    audio: np.ndarray, rng: np.random.Generator, factors: tuple[float, float]
) -> np.ndarray:
    """Resample-style speed change (tempo and pitch move together, as in Kaldi's 0.9/1.1)."""
    import soxr

    factor = rng.uniform(*factors)
    if audio.size < 2 or abs(factor - 1.0) < 1e-3:
        return audio.astype(np.float32)
    # Playing a clip `factor` times faster = treating it as recorded at SAMPLE_RATE * factor.
    return soxr.resample(audio, SAMPLE_RATE * factor, SAMPLE_RATE).astype(np.float32)


def pitch_shift(
    audio: np.ndarray, rng: np.random.Generator, semitones: tuple[float, float]
) -> np.ndarray:
    """Pitch shift without tempo change (librosa phase vocoder; slower than speed_perturb)."""
    import librosa

    steps = rng.uniform(*semitones)
    if audio.size < 2048:
        return audio.astype(np.float32)
    return librosa.effects.pitch_shift(audio, sr=SAMPLE_RATE, n_steps=steps).astype(np.float32)


def default_augmenter(
    *,
    noise_snr_db: tuple[float, float] = (15.0, 35.0),
    gain_db: tuple[float, float] = (-6.0, 6.0),
    shift_seconds: float = 0.2,
    speed: tuple[float, float] = (0.92, 1.08),
    pitch_semitones: tuple[float, float] | None = None,
) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    """A function (audio, rng) -> augmented copy applying each perturbation in turn."""

    def augment(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = np.asarray(audio, dtype=np.float32)
        out = speed_perturb(out, rng, speed)
        if pitch_semitones is not None:
            out = pitch_shift(out, rng, pitch_semitones)
        out = time_shift(out, rng, shift_seconds)
        out = random_gain(out, rng, gain_db)
        return add_noise(out, rng, noise_snr_db)

    return augment
