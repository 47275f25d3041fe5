"""One recording, end to end: decode -> speech segments -> speaker roles -> emotion -> summary.

Plain Python on a path or an array, so the Celery task, the ``analyze_file`` management
command, the benchmark and notebooks all run exactly the same code. ``progress(stage,
percent)`` is called with stages "decoding", "segmenting", "speakers", "emotion", "summary",
"done" and a percent that only goes up; each stage's share of the bar reflects its typical
share of the run time (emotion inference dominates).

A recording without speech is a valid result (``no_speech`` true, no segments, zeroed
summary), not an error: a therapist needs to see "nothing was said", not a failure.
Problems with the file itself raise ``AudioError`` from ``analysis.engine.audio.decode``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from analysis.engine.audio.decode import (
    TARGET_SR,
    AudioError,
    AudioLimits,
    DecodeStats,
    iter_decode,
    probe,
    trial_decode,
)
from analysis.engine.classifiers.base import EmotionClassifier
from analysis.engine.emotion.baseline import VoiceBaseline
from analysis.engine.emotion.summary import summarize
from analysis.engine.emotion.turns import EmotionParams, TurnEmotion, WindowEmotion, classify_turns
from analysis.engine.labels import CANONICAL_LABELS
from analysis.engine.speakers.diarization import (
    ClusterInfo,
    KnownVoice,
    SpeakerParams,
    assign_speakers,
)
from analysis.engine.speech.segmentation import VadParams, detect_speech

Progress = Callable[[str, int], None]
STAGES = ("decoding", "segmenting", "speakers", "emotion", "summary", "done")
# Percent at which each stage starts; "done" is 100.
_STAGE_START = {
    "decoding": 0,
    "segmenting": 10,
    "speakers": 15,
    "emotion": 25,
    "summary": 97,
    "done": 100,
}
_STAGE_END = {"decoding": 10, "segmenting": 15, "speakers": 25, "emotion": 97, "summary": 99}


def _probabilities(row: np.ndarray) -> dict[str, float]:
    return {label: round(float(p), 4) for label, p in zip(CANONICAL_LABELS, row, strict=True)}


@dataclass
class AnalysisResult:
    duration_s: float
    segments: list[TurnEmotion]
    frames: list[WindowEmotion]
    summary: dict[str, Any]
    no_speech: bool
    timings: dict[str, float] = field(default_factory=dict)
    # The recording's voices (lanes); ``TurnEmotion.cluster`` indexes them. The document
    # carries them without their centroids: a voice print is biometric data and belongs where
    # prints are kept (and deleted on revocation), not in an exportable result.
    speakers: list[ClusterInfo] = field(default_factory=list)
    # Not part of the stored document: for logs and the upload screen.
    decode_stats: DecodeStats | None = None

    def to_dict(self) -> dict[str, Any]:
        """The stored, JSON-serialisable result document."""
        return {
            "duration_s": round(self.duration_s, 3),
            "segments": [
                {
                    "start_s": round(s.start_s, 3),
                    "end_s": round(s.end_s, 3),
                    "speaker": s.speaker,
                    "speaker_confidence": round(s.speaker_confidence, 4),
                    "cluster": s.cluster,
                    "emotion": s.emotion,
                    "confidence": round(s.confidence, 4),
                    "uncertain": bool(s.uncertain),
                    "uncertain_reason": s.uncertain_reason,
                    "quality": s.quality or {},
                    "valence": round(s.valence, 4),
                    "arousal": round(s.arousal, 4),
                    "probabilities": _probabilities(s.probabilities),
                }
                for s in self.segments
            ],
            "frames": [
                {
                    "start_s": round(f.start_s, 3),
                    "end_s": round(f.end_s, 3),
                    "speaker": f.speaker,
                    "probabilities": _probabilities(f.probabilities),
                    "valence": round(f.valence, 4),
                    "arousal": round(f.arousal, 4),
                }
                for f in self.frames
            ],
            "summary": self.summary,
            "speakers": [
                {
                    "cluster": c.cluster,
                    "label": c.label,
                    "role": c.role,
                    "role_confidence": round(c.role_confidence, 4),
                    "role_source": c.role_source,
                    "voice_key": c.voice_key,
                    "voice_similarity": (
                        None if c.voice_similarity is None else round(c.voice_similarity, 4)
                    ),
                    "median_f0_hz": None if c.median_f0_hz is None else round(c.median_f0_hz, 1),
                    "speech_s": round(c.speech_s, 3),
                }
                for c in self.speakers
            ],
            "no_speech": bool(self.no_speech),
            "timings": {stage: round(seconds, 3) for stage, seconds in self.timings.items()},
        }


class _Reporter:
    """Maps (stage, fraction of stage) onto a monotonic percent and records stage timings."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.timings: dict[str, float] = {}
        self._stage: str | None = None
        self._started = 0.0
        self._last = -1

    def stage(self, name: str) -> None:
        now = time.perf_counter()
        if self._stage is not None:
            self.timings[self._stage] = self.timings.get(self._stage, 0.0) + now - self._started
        self._stage, self._started = name, now
        self.report(0.0)

    def report(self, fraction: float) -> None:
        assert self._stage is not None
        start = _STAGE_START[self._stage]
        end = _STAGE_END.get(self._stage, start)
        percent = int(start + (end - start) * min(max(fraction, 0.0), 1.0))
        if self.progress is not None and percent >= self._last:
            self._last = percent
            self.progress(self._stage, percent)

    def finish(self) -> None:
        self.stage("done")
        self._stage = None


def baseline_effect(
    turns: Sequence[TurnEmotion], baselines: Mapping[str, VoiceBaseline] | None
) -> dict[str, Any] | None:
    """How much the voice baselines moved this recording's estimates (None without any):
    per role, the clips behind the baseline, the segments it applied to, the share whose
    label it changed and the mean probability shift (half the L1 distance)."""
    if not baselines:
        return None
    out: dict[str, Any] = {}
    for role, baseline in baselines.items():
        moved = [t for t in turns if t.speaker == role and t.baseline_delta is not None]
        out[role] = {
            **baseline.to_dict(),
            "segments": len(moved),
            "label_changed_share": round(
                float(np.mean([t.emotion != t.raw_emotion for t in moved])) if moved else 0.0, 4
            ),
            "mean_shift": round(
                float(np.mean([t.baseline_delta or 0.0 for t in moved])) if moved else 0.0, 4
            ),
        }
    return out


def _with_deprecated_therapist(
    voices: Sequence[KnownVoice], therapist_embedding: np.ndarray | None
) -> list[KnownVoice]:
    """``therapist_embedding`` (deprecated) as one more known voice."""
    out = list(voices)
    if therapist_embedding is not None:
        out.append(KnownVoice("therapist", "therapist", "Therapist", therapist_embedding))
    return out


def analyze_file(
    path: Path | str,
    classifier: EmotionClassifier,
    *,
    limits: AudioLimits | None = None,
    progress: Progress | None = None,
    voices: Sequence[KnownVoice] = (),
    expected_speakers: int | None = None,
    therapist_embedding: np.ndarray | None = None,
    emotion_params: EmotionParams | None = None,
    baselines: Mapping[str, VoiceBaseline] | None = None,
) -> AnalysisResult:
    """Analyse a recording on disk. Raises AudioError for files that cannot be analysed.

    ``voices`` and ``expected_speakers`` go to ``assign_speakers`` (known prints; how many
    people the session says took part). ``therapist_embedding`` is deprecated (one therapist
    KnownVoice). ``baselines`` maps a speaker role to that voice's baseline
    (``analysis.engine.emotion.baseline``)."""
    limits = limits or AudioLimits()
    reporter = _Reporter(progress)
    reporter.stage("decoding")
    info = probe(path, limits)
    trial_decode(path)
    stats = DecodeStats()
    blocks = []
    expected = info.duration_s or 0.0
    for block in iter_decode(path, limits=limits, stats=stats):
        blocks.append(block)
        if expected:
            reporter.report(stats.duration_s / expected)
    audio = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)
    if audio.size == 0:
        raise AudioError("empty", "The file contains no audio data.")
    if audio.size < limits.min_duration_s * TARGET_SR:
        raise AudioError(
            "too_short",
            f"The recording is too short to analyse ({audio.size / TARGET_SR:.2f} s; at least "
            f"{limits.min_duration_s:g} s is needed).",
        )
    result = _analyze(
        audio,
        classifier,
        reporter=reporter,
        voices=_with_deprecated_therapist(voices, therapist_embedding),
        expected_speakers=expected_speakers,
        emotion_params=emotion_params,
        baselines=baselines,
    )
    result.decode_stats = stats
    return result


def analyze_array(
    audio: np.ndarray,
    classifier: EmotionClassifier,
    *,
    sr: int = TARGET_SR,
    progress: Progress | None = None,
    voices: Sequence[KnownVoice] = (),
    expected_speakers: int | None = None,
    therapist_embedding: np.ndarray | None = None,
    emotion_params: EmotionParams | None = None,
    vad_params: VadParams | None = None,
    speaker_params: SpeakerParams | None = None,
) -> AnalysisResult:
    """Analyse audio already in memory (mono float; resampled here if ``sr`` is not 16 kHz)."""
    audio = np.asarray(audio, dtype=np.float32).reshape(-1)
    if sr != TARGET_SR:
        import soxr

        audio = soxr.resample(audio, sr, TARGET_SR).astype(np.float32)
    audio = np.clip(np.nan_to_num(audio, nan=0.0, posinf=0.0, neginf=0.0), -1.0, 1.0)
    return _analyze(
        audio,
        classifier,
        reporter=_Reporter(progress),
        voices=_with_deprecated_therapist(voices, therapist_embedding),
        expected_speakers=expected_speakers,
        emotion_params=emotion_params,
        vad_params=vad_params,
        speaker_params=speaker_params,
    )


def _analyze(
    audio: np.ndarray,
    classifier: EmotionClassifier,
    *,
    reporter: _Reporter,
    voices: Sequence[KnownVoice],
    expected_speakers: int | None,
    emotion_params: EmotionParams | None,
    vad_params: VadParams | None = None,
    speaker_params: SpeakerParams | None = None,
    baselines: Mapping[str, VoiceBaseline] | None = None,
) -> AnalysisResult:
    duration_s = audio.size / TARGET_SR
    reporter.stage("segmenting")
    segments = detect_speech(audio, TARGET_SR, vad_params)
    reporter.stage("speakers")
    speakers = assign_speakers(
        audio,
        segments,
        voices=voices,
        expected_speakers=expected_speakers,
        params=speaker_params,
    )
    reporter.stage("emotion")
    turns: Sequence[TurnEmotion] = []
    frames: Sequence[WindowEmotion] = []
    if speakers.turns:
        turns, frames = classify_turns(
            audio,
            speakers.turns,
            segments,
            classifier,
            params=emotion_params,
            progress=reporter.report,
            baselines=baselines,
        )
    reporter.stage("summary")
    summary = summarize(turns, duration_s)
    effect = baseline_effect(turns, baselines)
    if effect is not None:
        summary["baseline"] = effect
    reporter.finish()
    return AnalysisResult(
        duration_s=duration_s,
        segments=list(turns),
        frames=list(frames),
        summary=summary,
        no_speech=not turns,
        timings=dict(reporter.timings),
        speakers=list(speakers.clusters) if turns else [],
    )
