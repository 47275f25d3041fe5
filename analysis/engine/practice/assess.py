"""Scoring one practice attempt: prosody, the model's emotion estimate (with the child's voice
baseline), whether the estimate is trustworthy enough to score, the verdict and tips.

Plain Python over decoded samples; the Django service decodes the stored file, gathers the
child's baselines and stores what ``assess`` returns.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analysis.engine.audio.decode import TARGET_SR
from analysis.engine.labels import CANONICAL_LABELS
from analysis.engine.practice import feedback
from analysis.engine.prosody import Comparison, Prosody, compare, measure, tips

# Intra-op threads for classifying one clip. Measured on the 2-core target with a session being
# analysed next to it: a base-size wav2vec2 on a 5 s clip took 8-11 s with 2 threads (the two
# workers' thread pools fight over the cores) and 2.2-3 s with 1 thread.
ATTEMPT_TORCH_THREADS = 1


def speech_span(samples: np.ndarray, pad_s: float = 0.2) -> np.ndarray:
    """The clip from its first to its last loud frame (with ``pad_s`` either side)."""
    hop = 160
    if samples.size < 2 * hop:
        return samples
    frames = samples[: samples.size // hop * hop].reshape(-1, hop)
    level = 20 * np.log10(np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1)) + 1e-10)
    loud = np.flatnonzero(level > max(level.max() - 35.0, -60.0))
    if loud.size == 0:
        return samples
    pad = int(pad_s * TARGET_SR)
    start = max(0, loud[0] * hop - pad)
    end = min(samples.size, (loud[-1] + 1) * hop + pad)
    return samples[start:end]


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the enclosed code with ``n`` torch intra-op threads, then restore the count."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def unclear_reason(
    samples: np.ndarray,
    probabilities: np.ndarray,
    classifier: Any,
    *,
    atypicality: float | None = None,
) -> str:
    """Why an attempt's estimate should not be scored ("" when it may): the speech's audio
    quality against the attempt's own noise floor, the model's measured confidence floor, and
    whether the voice is unlike any the model learnt from (``analysis.engine.audio.quality``)."""
    from analysis.engine.audio import quality

    measured = quality.measure(speech_span(samples), quality.noise_floor_db(samples))
    extra = getattr(getattr(classifier, "manifest", None), "extra", None) or {}
    floor = quality.model_min_confidence(extra)
    reason = quality.problem(measured, float(np.max(probabilities)), floor)
    limit = quality.model_max_atypicality(extra)
    if not reason and atypicality is not None and limit is not None and atypicality > limit:
        return "unfamiliar"
    return reason


def unvalidated_reason(probabilities: np.ndarray, thresholds: Mapping[str, float]) -> str:
    """ "unvalidated" when the top emotion's confidence is below the clinic's threshold for
    that emotion (an emotion the clinic never saw agreed on has a threshold above 1)."""
    top = int(np.argmax(probabilities))
    limit = thresholds.get(CANONICAL_LABELS[top])
    if limit is not None and float(probabilities[top]) < limit:
        return "unvalidated"
    return ""


@dataclass
class Assessment:
    """What one attempt came to. ``outcome`` is "done" (scored), "unclear" (an estimate the
    audio or the model cannot support: no stars) or "no_speech"; ``code`` and ``message`` are
    what the child sees when it is not "done"."""

    outcome: str
    prosody: Prosody
    code: str = ""
    message: str = ""
    probabilities: dict[str, float] = field(default_factory=dict)
    top_emotion: str = ""
    verdict: feedback.Verdict | None = None
    comparisons: list[Comparison] = field(default_factory=list)
    tips: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def assess(
    samples: np.ndarray,
    *,
    target: str,
    load_classifier: Any,
    voice_baseline: Any = None,
    example: Prosody | None = None,
    prosody_baseline: Any = None,
    seed: str = "",
    emotion_thresholds: Mapping[str, float] | None = None,
) -> Assessment:
    """Score one decoded attempt against its ``target`` emotion.

    ``load_classifier`` is called only when the clip has speech (the model load is then timed
    separately); ``voice_baseline`` is a callable taking the loaded classifier and returning the
    child's ``VoiceBaseline`` or None. ``example`` is the exercise's model recording's prosody
    and ``prosody_baseline`` the child's own typical prosody, both optional.
    ``emotion_thresholds``: per emotion, the confidence from which the clinic's evidence
    (therapists' blind labels) shows the model agrees with its therapists on that emotion;
    an estimate whose top emotion is below its threshold earns no stars ("could not tell").
    """
    from analysis.engine.emotion.baseline import predict_clip

    timings: dict[str, float] = {}
    mark = time.monotonic()
    measured = measure(samples)
    timings["prosody_s"] = round(time.monotonic() - mark, 3)
    if not measured.has_speech:
        return Assessment(
            outcome="no_speech",
            prosody=measured,
            code="no_speech",
            message=feedback.NO_SPEECH_MESSAGE,
            timings=timings,
        )
    mark = time.monotonic()
    classifier = load_classifier()
    timings["load_s"] = round(time.monotonic() - mark, 3)
    mark = time.monotonic()
    baseline = voice_baseline(classifier) if voice_baseline is not None else None
    with torch_threads(ATTEMPT_TORCH_THREADS):
        row, atypicality = predict_clip(classifier, speech_span(samples), baseline)
    if baseline is not None:
        timings["baseline_clips"] = float(baseline.clips)
    timings["model_s"] = round(time.monotonic() - mark, 3)
    probabilities = {
        label: round(float(p), 4) for label, p in zip(CANONICAL_LABELS, row, strict=True)
    }
    reason = unclear_reason(samples, row, classifier, atypicality=atypicality)
    if not reason and emotion_thresholds is not None:
        reason = unvalidated_reason(row, emotion_thresholds)
    if reason:
        # Never praise or blame on an estimate the audio or the model cannot support.
        return Assessment(
            outcome="unclear",
            prosody=measured,
            code=feedback.UNCLEAR_CODE_PREFIX + reason,
            message=feedback.unclear_message(reason),
            probabilities=probabilities,
            top_emotion=CANONICAL_LABELS[int(np.argmax(row))],
            timings=timings,
        )
    verdict = feedback.verdict(probabilities, target, seed=seed)
    comparisons = compare(measured, target=target, example=example, baseline=prosody_baseline)
    return Assessment(
        outcome="done",
        prosody=measured,
        message=verdict.message,
        probabilities=probabilities,
        top_emotion=verdict.top[0][0],
        verdict=verdict,
        comparisons=comparisons,
        tips=tips(comparisons) if verdict.stars < 3 else [],
        timings=timings,
    )
