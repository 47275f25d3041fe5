"""The emotion of each speaker turn, and a per-second emotion timeline.

Windows. Each turn is cut into 3 s windows at a 1 s hop (the last window is aligned to the
turn's end so nothing is left out); a turn shorter than 3 s is one window. Why these numbers:
utterance-level SER models (wav2vec2/HuBERT/WavLM fine-tuned on IEMOCAP, RAVDESS, CREMA-D,
...) are trained on clips of ~2-4 s, so 3 s windows look like what they learnt from, and
shorter windows carry too little prosody to be read reliably; a 1 s hop gives the timeline one
point per second, which is what a therapist scrubbing a session can use, and with the
classifier's shared encoding (``HFAudioClassifier.predict_windows``) a finer hop costs almost
nothing. Windows never cross turns, so one voice's emotion is never blended with another's.

Turns. A turn's probabilities are the mean of its windows' probabilities weighted by each
window's overlap with the turn (smoothing across the turn); its label is the most probable
canonical emotion and its confidence that probability. A turn is flagged ``uncertain`` when
the confidence is below ``min_confidence`` (0.4: with 8 labels, chance is 0.125 and a 0.4
winner still leaves most mass elsewhere) or when the runner-up is within ``min_margin`` (0.1)
of the winner, i.e. the model cannot tell two emotions apart. The UI greys such turns out
rather than hiding them, so therapists see that the model hesitated.

Unfamiliar voices. A features-head model also says how unlike its training voices each window
is (``atypicality``: RMS z-score of the features); above the model's measured limit
(``extra.reliability.max_atypicality``) the turn is uncertain with the reason "unfamiliar"
rather than a confident label on speech the model has never seen the like of.

Audio quality. Each turn's audio is also measured (``analysis.engine.audio.quality``: level, SNR
against
the recording's own noise floor between turns, clipping, length). A turn that is too short, too
quiet, too noisy or clipped is uncertain whatever the model says, and ``uncertain_reason`` says
which (or "low_confidence" when only the model hesitated). A model whose training measured a
reliable-confidence floor (``extra.reliability.min_confidence`` in its manifest) uses that floor
instead of the generic ``min_confidence``.

Stretches. Windows are sent to the classifier per speech stretch (a VAD segment, cut at
``max_stretch_s``), so a whole stretch is encoded once; Hugging Face classifiers take a block
of stretches at a time (``predict_stretches``) and batch their transformer passes, and encode
stretches longer than their ``chunk_s`` in overlapping chunks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.engine.audio import quality
from analysis.engine.classifiers.base import EmotionClassifier
from analysis.engine.emotion.baseline import VoiceBaseline, shift_for
from analysis.engine.labels import CANONICAL_LABELS, valence_arousal
from analysis.engine.speakers.diarization import SpeakerTurn
from analysis.engine.speech.segmentation import SAMPLE_RATE, Segment, speech_mask


@dataclass(frozen=True)
class EmotionParams:
    window_s: float = 3.0
    hop_s: float = 1.0
    min_confidence: float = 0.4
    min_margin: float = 0.1
    max_stretch_s: float = 60.0


@dataclass(frozen=True)
class WindowEmotion:
    """One timeline point: a window's canonical probabilities."""

    start_s: float
    end_s: float
    speaker: str
    probabilities: np.ndarray
    valence: float
    arousal: float


@dataclass(frozen=True)
class TurnEmotion:
    start_s: float
    end_s: float
    speaker: str
    speaker_confidence: float
    cluster: int
    emotion: str
    confidence: float
    uncertain: bool
    valence: float
    arousal: float
    probabilities: np.ndarray
    uncertain_reason: str = ""
    quality: dict[str, float] | None = None
    # With a voice baseline for the speaker: the label without it, and how far the baseline
    # moved the probabilities (half the L1 distance, 0-1). None when no baseline applied.
    raw_emotion: str = ""
    baseline_delta: float | None = None

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def turn_windows(start_s: float, end_s: float, params: EmotionParams) -> list[tuple[float, float]]:
    """(start, end) seconds of the windows covering one turn."""
    length = end_s - start_s
    if length <= params.window_s:
        return [(start_s, end_s)]
    starts = list(np.arange(start_s, end_s - params.window_s + 1e-9, params.hop_s))
    if starts[-1] + params.window_s < end_s - 1e-6:
        starts.append(end_s - params.window_s)
    return [(float(s), float(s) + params.window_s) for s in starts]


def judge(probabilities: np.ndarray, params: EmotionParams) -> tuple[str, float, bool]:
    """(label, confidence, uncertain) for one row of canonical probabilities."""
    order = np.argsort(probabilities)[::-1]
    top = float(probabilities[order[0]])
    second = float(probabilities[order[1]])
    uncertain = top < params.min_confidence or top - second < params.min_margin
    return CANONICAL_LABELS[int(order[0])], top, uncertain


def min_confidence_for(classifier: EmotionClassifier, params: EmotionParams) -> float:
    """The model's measured reliable-confidence floor, else ``params.min_confidence``."""
    manifest = getattr(classifier, "manifest", None)
    extra = getattr(manifest, "extra", None) or {}
    if extra.get("reliability", {}).get("min_confidence") is not None:
        return quality.model_min_confidence(extra)
    return params.min_confidence


def judge_turn(
    probabilities: np.ndarray, audio_quality: quality.Quality, params: EmotionParams, floor: float
) -> tuple[str, float, bool, str]:
    """(label, confidence, uncertain, reason) from probabilities and the turn's audio."""
    order = np.argsort(probabilities)[::-1]
    confidence = float(probabilities[order[0]])
    reason = quality.problem(audio_quality, confidence, floor)
    if not reason and confidence - float(probabilities[order[1]]) < params.min_margin:
        reason = "low_confidence"  # two emotions within the margin: the model cannot tell
    return CANONICAL_LABELS[int(order[0])], confidence, bool(reason), reason


def _groups(
    turns: Sequence[SpeakerTurn], stretches: Sequence[Segment], max_stretch_s: float
) -> list[list[int]]:
    """Turn indices grouped by the speech stretch they lie in, cut at ``max_stretch_s``."""
    bounds = np.array([s.start_s for s in stretches])
    groups: list[list[int]] = []
    current: list[int] = []
    current_stretch = -1
    for i, turn in enumerate(turns):
        middle = (turn.start_s + turn.end_s) / 2
        stretch = int(np.searchsorted(bounds, middle, side="right")) - 1 if bounds.size else -1
        too_long = current and turn.end_s - turns[current[0]].start_s > max_stretch_s
        if current and (stretch != current_stretch or too_long):
            groups.append(current)
            current = []
        current.append(i)
        current_stretch = stretch
    if current:
        groups.append(current)
    return groups


def _group_windows(
    audio: np.ndarray,
    turns: Sequence[SpeakerTurn],
    group: list[int],
    params: EmotionParams,
    rate: int,
) -> tuple[np.ndarray, list[list[tuple[float, float]]], list[tuple[int, int]]]:
    """(stretch audio, each turn's windows in seconds, all windows in stretch samples)."""
    lo = round(turns[group[0]].start_s * rate)
    stretch = audio[lo : round(turns[group[-1]].end_s * rate)]
    per_turn = [turn_windows(turns[i].start_s, turns[i].end_s, params) for i in group]
    sample_windows = [
        (max(round(s * rate) - lo, 0), min(round(e * rate) - lo, stretch.size))
        for windows in per_turn
        for s, e in windows
    ]
    return stretch, per_turn, sample_windows


class _BatchedStretches:
    """Window probabilities of stretch groups, computed a block of groups at a time.

    Classifiers with ``predict_stretches`` (Hugging Face models) encode several stretches in
    shared transformer batches, which makes short speech turns much cheaper; a block of up to
    ``BLOCK_S`` of audio keeps progress reports coming. Others get one call per stretch.
    """

    BLOCK_S = 30.0
    BLOCK_GROUPS = 32

    def __init__(
        self,
        classifier: EmotionClassifier,
        inputs: Sequence[tuple[np.ndarray, Any, list[tuple[int, int]]]],
        wanted: Sequence[bool],
    ) -> None:
        self.classifier = classifier
        self.inputs = inputs
        self.wanted = wanted
        self.rate = classifier.sample_rate
        self.done: dict[int, np.ndarray] = {}

    def probabilities(self, index: int) -> np.ndarray:
        if index not in self.done:
            self._compute_from(index)
        return self.done.pop(index)

    def _compute_from(self, index: int) -> None:
        many = getattr(self.classifier, "predict_stretches", None)
        if many is None:
            stretch, _, windows = self.inputs[index]
            self.done[index] = np.asarray(
                self.classifier.predict_windows(stretch, windows), dtype=np.float64
            )
            return
        block: list[int] = []
        audio_s = 0.0
        for i in range(index, len(self.inputs)):
            if not self.wanted[i]:
                continue
            if block and (audio_s >= self.BLOCK_S or len(block) >= self.BLOCK_GROUPS):
                break
            block.append(i)
            audio_s += self.inputs[i][0].size / self.rate
        results = many([(self.inputs[i][0], self.inputs[i][2]) for i in block])
        for i, probs in zip(block, results, strict=True):
            self.done[i] = np.asarray(probs, dtype=np.float64)


def classify_turns(
    audio: np.ndarray,
    turns: Sequence[SpeakerTurn],
    stretches: Sequence[Segment],
    classifier: EmotionClassifier,
    *,
    params: EmotionParams | None = None,
    progress: Callable[[float], None] | None = None,
    baselines: Mapping[str, VoiceBaseline] | None = None,
) -> tuple[list[TurnEmotion], list[WindowEmotion]]:
    """Emotion per turn and per window. ``audio`` is 16 kHz mono; ``progress`` gets 0..1.

    ``baselines`` maps a speaker role (e.g. "child") to that voice's baseline
    (``analysis.engine.emotion.baseline``); its turns are classified with it when the model
    supports it.
    """
    params = params or EmotionParams()
    rate = classifier.sample_rate
    audio16 = np.asarray(audio, dtype=np.float32)
    if rate != SAMPLE_RATE:
        import soxr

        audio = soxr.resample(audio, SAMPLE_RATE, rate).astype(np.float32)
    results: list[TurnEmotion] = []
    frames: list[WindowEmotion] = []
    floor_conf = min_confidence_for(classifier, params)
    extra = getattr(getattr(classifier, "manifest", None), "extra", None) or {}
    max_atypicality = quality.model_max_atypicality(extra)
    floor_db = quality.noise_floor_db(
        audio16, speech_mask(stretches, audio16.size / SAMPLE_RATE, frame_s=0.01)
    )
    shifts = {
        role: shift
        for role, shift in ((r, shift_for(classifier, b)) for r, b in (baselines or {}).items())
        if shift is not None
    }
    groups = _groups(turns, stretches, params.max_stretch_s)
    inputs = [_group_windows(audio, turns, group, params, rate) for group in groups]
    # Features-head models take the features path when a baseline or the unfamiliar-voice check
    # applies: features once, heads once (twice under a baseline), atypicality per window.
    by_features = max_atypicality is not None and hasattr(classifier, "window_features")
    plain = [
        not by_features and not any(turns[i].role in shifts for i in group) for group in groups
    ]
    batched = _BatchedStretches(classifier, inputs, plain)
    total_s = sum(t.duration_s for t in turns) or 1.0
    done_s = 0.0
    for index, group in enumerate(groups):
        stretch, per_turn, sample_windows = inputs[index]
        atypical: np.ndarray | None = None
        if not plain[index]:
            heads: Any = classifier
            features = heads.window_features(stretch, sample_windows)
            raw = np.asarray(heads.predict_features(features), dtype=np.float64)
            atypical = np.asarray(heads.atypicality(features), dtype=np.float64)
            probs = raw.copy()
            k = 0
            for i, windows in zip(group, per_turn, strict=True):
                shift = shifts.get(turns[i].role)
                if shift is not None:
                    rows_of = slice(k, k + len(windows))
                    probs[rows_of] = heads.predict_features(features[rows_of], shift)
                k += len(windows)
        else:
            probs = batched.probabilities(index)
            raw = probs
        va = valence_arousal(probs)
        k = 0
        for i, windows in zip(group, per_turn, strict=True):
            turn = turns[i]
            rows = probs[k : k + len(windows)]
            weights = np.array(
                [max(min(e, turn.end_s) - max(s, turn.start_s), 1e-6) for s, e in windows]
            )
            for (s, e), row, (v, a) in zip(windows, rows, va[k : k + len(windows)], strict=True):
                frames.append(WindowEmotion(s, e, turn.role, row, float(v), float(a)))
            k += len(windows)
            mean = (rows * weights[:, None]).sum(axis=0) / weights.sum()
            raw_mean = (raw[k - len(windows) : k] * weights[:, None]).sum(axis=0) / weights.sum()
            with_baseline = turn.role in shifts
            turn_audio = audio16[
                round(turn.start_s * SAMPLE_RATE) : round(turn.end_s * SAMPLE_RATE)
            ]
            measured = quality.measure(turn_audio, floor_db)
            label, confidence, uncertain, reason = judge_turn(mean, measured, params, floor_conf)
            measured_dict = measured.to_dict()
            if atypical is not None:
                turn_atypicality = float(
                    (atypical[k - len(windows) : k] * weights).sum() / weights.sum()
                )
                measured_dict["atypicality"] = round(turn_atypicality, 3)
                if (
                    not reason
                    and max_atypicality is not None
                    and (turn_atypicality > max_atypicality)
                ):
                    uncertain, reason = True, "unfamiliar"
            valence, arousal = valence_arousal(mean)[0]
            results.append(
                TurnEmotion(
                    start_s=turn.start_s,
                    end_s=turn.end_s,
                    speaker=turn.role,
                    speaker_confidence=turn.confidence,
                    cluster=turn.cluster,
                    emotion=label,
                    confidence=confidence,
                    uncertain=uncertain,
                    valence=float(valence),
                    arousal=float(arousal),
                    probabilities=mean,
                    uncertain_reason=reason,
                    quality=measured_dict,
                    raw_emotion=CANONICAL_LABELS[int(np.argmax(raw_mean))] if with_baseline else "",
                    baseline_delta=(
                        round(float(0.5 * np.abs(mean - raw_mean).sum()), 4)
                        if with_baseline
                        else None
                    ),
                )
            )
            done_s += turn.duration_s
        if progress is not None:
            progress(min(done_s / total_s, 1.0))
    return results, frames
