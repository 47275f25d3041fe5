"""How good the audio of one stretch of speech is, and whether an emotion estimate on it counts.

Numbers measured per segment (all cheap: 10 ms frame energies and a sample count):

* ``level_dbfs``: the level of the loud part of the speech (95th-percentile 10 ms frame);
* ``snr_db``: that level against the noise floor. In a recording the floor is taken from the
  frames the VAD called non-speech (the room between turns); for a lone clip (a practice try)
  from the quietest tenth of its frames. Both are estimates, good to a few dB, which is all a
  "too noisy" decision needs;
* ``clipped_share``: share of samples at full scale (an overloaded input);
* ``duration_s`` and ``speech_ratio`` (share of frames that stand out of the floor).

``problem`` turns them, with the classifier's confidence, into one reason or none. The
thresholds are where the robustness benchmark (``analysis.engine.training.robustness``) shows
accuracy falling
apart, not guesses: below 5 dB SNR every condition we measured was near chance, under 0.8 s
there is too little prosody, and the confidence floor is the model's own "reliable confidence"
(stored in its manifest by training: the confidence above which held-out actors were right at
least 60% of the time).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

SAMPLE_RATE = 16000
_FRAME = 160  # 10 ms

MIN_DURATION_S = 0.8
MIN_SNR_DB = 5.0
MIN_LEVEL_DBFS = -55.0
MAX_CLIPPED_SHARE = 0.02
CLIP_LEVEL = 0.999
DEFAULT_MIN_CONFIDENCE = 0.4

# Reason codes (stable: stored with segments and used by the UI and practice feedback) and the
# words a therapist or a family reads.
REASONS: dict[str, str] = {
    "too_short": "too short to judge",
    "too_quiet": "too quiet",
    "too_noisy": "too noisy",
    "clipped": "distorted (the microphone was overloaded)",
    "low_confidence": "the model could not tell",
    "unfamiliar": "unlike the voices the model learnt from",
}


@dataclass(frozen=True)
class Quality:
    duration_s: float
    level_dbfs: float
    snr_db: float
    clipped_share: float
    speech_ratio: float

    def to_dict(self) -> dict[str, float]:
        return {k: round(float(v), 3) for k, v in asdict(self).items()}


def frame_db(audio: np.ndarray) -> np.ndarray:
    """Energy (dBFS) of each 10 ms frame."""
    audio = np.asarray(audio, dtype=np.float64).reshape(-1)
    n = audio.size // _FRAME
    if n < 1:
        return (
            np.array([10 * np.log10(float(np.mean(audio**2)) + 1e-12)])
            if audio.size
            else (np.array([-120.0]))
        )
    power = (audio[: n * _FRAME].reshape(n, _FRAME) ** 2).mean(axis=1)
    return np.asarray(10 * np.log10(power + 1e-12))


def noise_floor_db(audio: np.ndarray, speech_mask: np.ndarray | None = None) -> float:
    """The recording's noise floor: median energy of non-speech frames when a VAD mask (one
    bool per 10 ms frame) is given and leaves at least half a second, else the 10th
    percentile of all frames."""
    db = frame_db(audio)
    if speech_mask is not None:
        mask = np.asarray(speech_mask, dtype=bool)[: db.size]
        quiet = db[: mask.size][~mask]
        if quiet.size >= 50:
            return float(np.median(quiet))
    return float(np.percentile(db, 10))


def measure(audio: np.ndarray, floor_db: float | None = None) -> Quality:
    """Quality of one stretch of 16 kHz speech; ``floor_db`` from ``noise_floor_db`` of the
    whole recording when known."""
    audio = np.asarray(audio, dtype=np.float32).reshape(-1)
    db = frame_db(audio)
    level = float(np.percentile(db, 95))
    floor = float(np.percentile(db, 10)) if floor_db is None else float(floor_db)
    # Speech power = the loudest 30% of frames minus the noise under them, against the floor:
    # close to how the benchmark sets SNR (speech power of the loud part / noise power).
    loud = 10 ** (db[db >= np.percentile(db, 70)] / 10)
    noise = 10 ** (floor / 10)
    snr = float(10 * np.log10(max(float(loud.mean()) - noise, 1e-12) / noise))
    clipped = float(np.mean(np.abs(audio) >= CLIP_LEVEL)) if audio.size else 0.0
    speech_ratio = float(np.mean(db > floor + 6.0))
    return Quality(
        duration_s=audio.size / SAMPLE_RATE,
        level_dbfs=level,
        snr_db=snr,
        clipped_share=clipped,
        speech_ratio=speech_ratio,
    )


def problem(quality: Quality, confidence: float, min_confidence: float) -> str:
    """The first reason (a key of ``REASONS``) an estimate should not be trusted, or ""."""
    if quality.duration_s < MIN_DURATION_S:
        return "too_short"
    if quality.level_dbfs < MIN_LEVEL_DBFS:
        return "too_quiet"
    if quality.clipped_share > MAX_CLIPPED_SHARE:
        return "clipped"
    if quality.snr_db < MIN_SNR_DB:
        return "too_noisy"
    if confidence < min_confidence:
        return "low_confidence"
    return ""


def model_max_atypicality(manifest_extra: dict[str, Any]) -> float | None:
    """The atypicality above which a model's training found its inputs unlike anything it
    learnt from (``extra.reliability.max_atypicality``), or None when it measured none."""
    value = manifest_extra.get("reliability", {}).get("max_atypicality")
    return float(value) if value is not None else None


def model_min_confidence(manifest_extra: dict[str, Any]) -> float:
    """The reliable-confidence floor a model's training stored, or the generic default."""
    value = manifest_extra.get("reliability", {}).get("min_confidence")
    return float(value) if value is not None else DEFAULT_MIN_CONFIDENCE
