"""Prosody of a short practice clip: pitch level and range, loudness, speaking rate.

Plain Python on a 16 kHz mono float array (no Django), so the exercise worker, tests and a
notebook all measure the same way.

What is measured, and how:

* **Pitch** (F0) with Praat's autocorrelation tracker (parselmouth), 75-700 Hz so a child's
  excited voice fits. ``pitch_median_hz`` is the level; ``pitch_range_st`` is the spread between
  the 10th and 90th percentile in semitones, which does not depend on how high a voice is, so a
  child can be compared with an adult's model recording.
* **Loudness**: the level (dB relative to full scale) of 25 ms frames that carry speech, i.e.
  within 35 dB of the loudest frame and above a -60 dBFS floor; ``loudness_db`` is their energy
  mean. Microphones and browsers' automatic gain control change this number, so it is only
  compared with the same child's own earlier attempts, never with another recording.
* **Speaking rate**: syllable nuclei per second of speaking time, the approach of de Jong &
  Wempe (2009): peaks of the smoothed level contour at least 2 dB above the dips around them,
  in voiced frames, at most 10 per second; speaking time excludes pauses longer than 0.25 s.

``compare`` places an attempt against the typical pattern of the target emotion (and the model
recording, when there is one), ``tips`` turns that into short, encouraging suggestions.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

SAMPLE_RATE = 16000
PITCH_FLOOR_HZ = 75.0
PITCH_CEILING_HZ = 700.0
_FRAME = 400  # 25 ms
_HOP = 160  # 10 ms
_HOP_S = _HOP / SAMPLE_RATE
_SILENCE_FLOOR_DB = -60.0
_ACTIVE_WITHIN_DB = 35.0
_PAUSE_S = 0.25
# Less voiced time than this, or nothing louder than this level, is "we could not hear you".
MIN_VOICED_S = 0.25
MIN_PEAK_DB = -50.0


@dataclass(frozen=True)
class Prosody:
    """Prosodic measures of one clip; ``None`` where the clip has no voiced speech."""

    duration_s: float
    speech_s: float
    voiced_s: float
    peak_db: float
    pitch_median_hz: float | None
    pitch_low_hz: float | None
    pitch_high_hz: float | None
    pitch_range_st: float | None
    loudness_db: float | None
    loudness_range_db: float | None
    syllables: int
    speaking_rate: float | None

    @property
    def has_speech(self) -> bool:
        return self.voiced_s >= MIN_VOICED_S and self.peak_db >= MIN_PEAK_DB

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Prosody:
        values: dict[str, Any] = {name: data.get(name) for name in cls.__dataclass_fields__}
        return cls(**values)


def _frame_levels(audio: np.ndarray) -> np.ndarray:
    """RMS level of each 25 ms frame (10 ms hop) in dBFS."""
    if audio.size < _FRAME:
        audio = np.pad(audio, (0, _FRAME - audio.size))
    frames = np.lib.stride_tricks.sliding_window_view(audio, _FRAME)[::_HOP]
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    return np.asarray(20.0 * np.log10(rms + 1e-10))


def _pitch_track(audio: np.ndarray) -> np.ndarray:
    """F0 in Hz every 10 ms (0 where unvoiced)."""
    import parselmouth

    if audio.size < int(0.1 * SAMPLE_RATE):
        return np.zeros(0)
    sound = parselmouth.Sound(audio.astype(np.float64), sampling_frequency=SAMPLE_RATE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pitch = sound.to_pitch_ac(
            time_step=_HOP_S, pitch_floor=PITCH_FLOOR_HZ, pitch_ceiling=PITCH_CEILING_HZ
        )
    f0 = np.asarray(pitch.selected_array["frequency"], dtype=np.float64)
    # Praat's first frame is centred half a window in; align to our frame grid by time.
    times = np.asarray(pitch.xs())
    grid = np.zeros(math.ceil(audio.size / _HOP))
    idx = np.clip(np.round(times / _HOP_S).astype(int), 0, grid.size - 1)
    grid[idx] = f0
    return grid


@dataclass(frozen=True)
class Contour:
    """What a clip sounded like over time, for drawing: the level envelope (0-1, the loudest
    step is 1) and the pitch in semitones from the clip's own median pitch (``None`` where
    unvoiced), every ``step_s``. Semitones from the speaker's own median let a child's
    melody be laid over an adult's model recording: the shapes compare, the voice heights
    do not."""

    step_s: float
    times: list[float]
    level: list[float]
    pitch_st: list[float | None]
    median_hz: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def contour(audio: np.ndarray, sample_rate: int = SAMPLE_RATE, *, step_s: float = 0.02) -> Contour:
    """The level and pitch contour of a 16 kHz mono clip (see ``Contour``)."""
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"contour() expects {SAMPLE_RATE} Hz audio, got {sample_rate}")
    audio = np.asarray(audio, dtype=np.float32)
    every = max(1, round(step_s / _HOP_S))
    levels = _frame_levels(audio)
    f0 = _pitch_track(audio)
    n = levels.size if f0.size == 0 else min(levels.size, f0.size)
    if n == 0 or audio.size == 0:
        return Contour(step_s=every * _HOP_S, times=[], level=[], pitch_st=[], median_hz=None)
    amplitude = 10.0 ** (levels[:n] / 20.0)
    steps = n // every or 1
    env = amplitude[: steps * every].reshape(steps, -1).max(axis=1) if n >= every else amplitude
    top = float(env.max()) or 1.0
    voiced = f0[:n][f0[:n] > 0] if f0.size else np.zeros(0)
    median = float(np.median(voiced)) if voiced.size >= 3 else None
    pitch: list[float | None] = []
    for i in range(env.size):
        chunk = f0[i * every : (i + 1) * every] if f0.size else np.zeros(0)
        hz = chunk[chunk > 0]
        if median is None or hz.size == 0:
            pitch.append(None)
        else:
            pitch.append(round(semitones(float(np.median(hz)), median), 2))
    return Contour(
        step_s=round(every * _HOP_S, 4),
        times=[round((i + 0.5) * every * _HOP_S, 3) for i in range(env.size)],
        level=[round(float(v) / top, 3) for v in env],
        pitch_st=pitch,
        median_hz=round(median, 1) if median is not None else None,
    )


def _bridge_pauses(active: np.ndarray, max_gap: int) -> np.ndarray:
    """Treat inactive stretches shorter than ``max_gap`` frames between speech as speech."""
    out = active.copy()
    idx = np.flatnonzero(active)
    if idx.size < 2:
        return out
    gaps = np.diff(idx)
    for start, gap in zip(idx[:-1], gaps, strict=True):
        if 1 < gap <= max_gap:
            out[start : start + gap] = True
    return out


def _syllable_nuclei(levels: np.ndarray, active: np.ndarray, voiced: np.ndarray) -> int:
    from scipy.signal import find_peaks

    if levels.size < 5:
        return 0
    smooth = np.convolve(levels, np.ones(5) / 5, mode="same")
    threshold = max(float(smooth.max()) - 25.0, _SILENCE_FLOOR_DB)
    peaks, _ = find_peaks(smooth, height=threshold, prominence=2.0, distance=10)
    if peaks.size == 0:
        return 0
    n = min(active.size, voiced.size)
    keep = [p for p in peaks if p < n and active[p] and voiced[max(0, p - 3) : p + 4].any()]
    return len(keep)


def measure(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Prosody:
    """Measure the prosody of one clip (any length; meant for clips up to a minute)."""
    audio = np.nan_to_num(np.asarray(audio, dtype=np.float32).reshape(-1))
    if sample_rate != SAMPLE_RATE:
        import soxr

        audio = soxr.resample(audio, sample_rate, SAMPLE_RATE).astype(np.float32)
    duration_s = audio.size / SAMPLE_RATE
    levels = _frame_levels(audio)
    peak_db = float(levels.max()) if levels.size else -200.0
    active = (levels > peak_db - _ACTIVE_WITHIN_DB) & (levels > _SILENCE_FLOOR_DB)

    f0 = _pitch_track(audio)
    n = min(levels.size, f0.size)
    voiced = np.zeros(levels.size, dtype=bool)
    voiced[:n] = (f0[:n] > 0) & active[:n]
    voiced_f0 = f0[:n][voiced[:n]]
    speaking = _bridge_pauses(active, int(_PAUSE_S / _HOP_S))
    speech_s = float(speaking.sum() * _HOP_S)

    pitch_median = pitch_low = pitch_high = pitch_range = None
    if voiced_f0.size >= 3:
        low, median, high = np.percentile(voiced_f0, [10, 50, 90])
        pitch_median, pitch_low, pitch_high = float(median), float(low), float(high)
        pitch_range = float(12.0 * np.log2(high / low))

    loudness = loudness_range = None
    if active.any():
        act = levels[active]
        loudness = float(10.0 * np.log10(np.mean(10.0 ** (act / 10.0))))
        low_db, high_db = np.percentile(act, [10, 90])
        loudness_range = float(high_db - low_db)

    syllables = _syllable_nuclei(levels, active, voiced)
    rate = syllables / speech_s if speech_s >= 0.3 and syllables else None
    return Prosody(
        duration_s=duration_s,
        speech_s=speech_s,
        voiced_s=float(voiced.sum() * _HOP_S),
        peak_db=peak_db,
        pitch_median_hz=pitch_median,
        pitch_low_hz=pitch_low,
        pitch_high_hz=pitch_high,
        pitch_range_st=pitch_range,
        loudness_db=loudness,
        loudness_range_db=loudness_range,
        syllables=syllables,
        speaking_rate=rate,
    )


# --- comparison with the target emotion ------------------------------------------------------


@dataclass(frozen=True)
class Band:
    low: float
    high: float

    def position(self, value: float) -> str:
        if value < self.low:
            return "below"
        return "above" if value > self.high else "within"


# Typical patterns per emotion, as starting points for a parent's curiosity, not norms. The
# directions follow the vocal-expression literature (Banse & Scherer 1996; Juslin & Laukka 2003:
# happiness, anger, fear and surprise raise pitch, widen its range and speed speech up; sadness
# and calm lower, narrow and slow it); the numbers are our rounded convention for conversational
# speech. Pitch level and loudness are relative to the child's own usual voice (the median of
# their earlier attempts) in semitones and dB, because absolute values depend on age, sex and
# microphone; range is in semitones and rate in syllables per second.
TYPICAL: dict[str, dict[str, Band]] = {
    "neutral": {
        "pitch_level": Band(-1.5, 1.5),
        "pitch_range": Band(2.0, 6.0),
        "loudness": Band(-3.0, 3.0),
        "speaking_rate": Band(3.0, 5.0),
    },
    "calm": {
        "pitch_level": Band(-3.0, 0.5),
        "pitch_range": Band(1.5, 5.0),
        "loudness": Band(-6.0, 0.0),
        "speaking_rate": Band(2.5, 4.0),
    },
    "happy": {
        "pitch_level": Band(1.0, 5.0),
        "pitch_range": Band(5.0, 12.0),
        "loudness": Band(0.0, 6.0),
        "speaking_rate": Band(3.5, 6.0),
    },
    "sad": {
        "pitch_level": Band(-4.0, 0.0),
        "pitch_range": Band(1.0, 4.0),
        "loudness": Band(-8.0, -1.0),
        "speaking_rate": Band(2.0, 3.5),
    },
    "angry": {
        "pitch_level": Band(1.0, 6.0),
        "pitch_range": Band(4.0, 11.0),
        "loudness": Band(3.0, 10.0),
        "speaking_rate": Band(3.5, 6.0),
    },
    "fearful": {
        "pitch_level": Band(2.0, 7.0),
        "pitch_range": Band(3.0, 9.0),
        "loudness": Band(-3.0, 3.0),
        "speaking_rate": Band(4.0, 6.5),
    },
    "disgust": {
        "pitch_level": Band(-3.0, 1.0),
        "pitch_range": Band(3.0, 8.0),
        "loudness": Band(-3.0, 3.0),
        "speaking_rate": Band(2.5, 4.0),
    },
    "surprised": {
        "pitch_level": Band(2.0, 8.0),
        "pitch_range": Band(7.0, 14.0),
        "loudness": Band(0.0, 6.0),
        "speaking_rate": Band(3.0, 5.5),
    },
}

MEASURES: dict[str, tuple[str, str]] = {
    # key: (label, unit)
    "pitch_level": ("Pitch level", "semitones vs usual"),
    "pitch_range": ("Pitch range", "semitones"),
    "loudness": ("Loudness", "dB vs usual"),
    "speaking_rate": ("Speaking rate", "syllables/s"),
}

# How far from the model recording still counts as "like the example".
_TOLERANCE = {"pitch_range": 1.5, "speaking_rate": 0.6}


@dataclass(frozen=True)
class Baseline:
    """The child's usual voice: medians over earlier attempts."""

    pitch_hz: float | None
    loudness_db: float | None
    attempts: int


@dataclass(frozen=True)
class Comparison:
    measure: str
    label: str
    unit: str
    value: float | None
    typical_low: float | None
    typical_high: float | None
    typical: str | None  # below / within / above the typical band
    example_value: float | None
    example: str | None  # below / like / above the model recording
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def semitones(hz: float, reference_hz: float) -> float:
    return float(12.0 * math.log2(hz / reference_hz))


def _values(p: Prosody, baseline: Baseline | None) -> dict[str, float | None]:
    level = loud = None
    if baseline is not None and p.pitch_median_hz and baseline.pitch_hz:
        level = semitones(p.pitch_median_hz, baseline.pitch_hz)
    if baseline is not None and p.loudness_db is not None and baseline.loudness_db is not None:
        loud = p.loudness_db - baseline.loudness_db
    return {
        "pitch_level": level,
        "pitch_range": p.pitch_range_st,
        "loudness": loud,
        "speaking_rate": p.speaking_rate,
    }


_WORDS = {
    "pitch_level": ("lower", "higher"),
    "pitch_range": ("flatter", "more up-and-down"),
    "loudness": ("softer", "louder"),
    "speaking_rate": ("slower", "faster"),
}


def compare(
    attempt: Prosody,
    *,
    target: str,
    example: Prosody | None = None,
    baseline: Baseline | None = None,
) -> list[Comparison]:
    """Each measure of ``attempt`` against the target emotion's typical band and the example.

    Pitch level and loudness are only compared when a baseline of the child's usual voice
    exists; the example (a different speaker on a different microphone) is compared on the
    speaker-independent measures only (pitch range and speaking rate).
    """
    bands = TYPICAL.get(target, {})
    values = _values(attempt, baseline)
    example_values = _values(example, None) if example is not None else {}
    out = []
    for key, (label, unit) in MEASURES.items():
        value = values[key]
        band = bands.get(key)
        typical = band.position(value) if band is not None and value is not None else None
        example_value = example_values.get(key) if key in _TOLERANCE else None
        versus_example = None
        if example_value is not None and value is not None:
            diff = value - example_value
            tolerance = _TOLERANCE[key]
            versus_example = (
                "like" if abs(diff) <= tolerance else ("below" if diff < 0 else "above")
            )
        out.append(Comparison(
            measure=key, label=label, unit=unit, value=value,
            typical_low=band.low if band else None, typical_high=band.high if band else None,
            typical=typical, example_value=example_value, example=versus_example,
            text=_describe(key, value, target, typical, versus_example),
        ))  # fmt: skip
    return out


def _describe(
    key: str, value: float | None, target: str, typical: str | None, example: str | None
) -> str:
    if value is None:
        if key in ("pitch_level", "loudness"):
            return "Compared once there are a few earlier attempts to learn the usual voice."
        return "Not enough voiced speech to measure."
    lower, higher = _WORDS[key]
    parts = []
    if typical == "within":
        parts.append(f"typical for a {target} voice")
    elif typical is not None:
        parts.append(f"{lower if typical == 'below' else higher} than a typical {target} voice")
    if example == "like":
        parts.append("like the example")
    elif example is not None:
        parts.append(f"{lower if example == 'below' else higher} than the example")
    return (", ".join(parts) or "measured").capitalize() + "."


_TIPS = {
    ("pitch_level", "below"): "Try starting your voice a little higher.",
    ("pitch_level", "above"): "Try a lower, deeper voice.",
    ("pitch_range", "below"): "Let your voice go up and down, like a little roller coaster!",
    ("pitch_range", "above"): "Keep your voice smooth and steady, like a gentle wave.",
    ("loudness", "below"): "Say it with a bit more power.",
    ("loudness", "above"): "Try a softer, quieter voice.",
    ("speaking_rate", "below"): "Try saying it a little bit faster.",
    ("speaking_rate", "above"): "Take your time and say it slowly.",
}


def tips(comparisons: list[Comparison], limit: int = 2) -> list[str]:
    """Up to ``limit`` child-friendly suggestions, from the measures furthest off target."""
    out = []
    for c in comparisons:
        position = c.typical if c.typical in ("below", "above") else c.example
        if position in ("below", "above"):
            out.append(_TIPS[(c.measure, position)])
    return out[:limit]


def baseline_from(profiles: list[Prosody]) -> Baseline | None:
    """The usual voice from earlier attempts with speech; None with fewer than two."""
    pitches = [p.pitch_median_hz for p in profiles if p.has_speech and p.pitch_median_hz]
    levels = [p.loudness_db for p in profiles if p.has_speech and p.loudness_db is not None]
    if len(pitches) < 2:
        return None
    return Baseline(
        pitch_hz=float(np.median(pitches)),
        loudness_db=float(np.median(levels)) if len(levels) >= 2 else None,
        attempts=len(pitches),
    )
