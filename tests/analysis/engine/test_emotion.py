"""Windowing, per-turn smoothing and the uncertain flag, with a scripted classifier."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from analysis.engine.classifiers.base import ModelManifest
from analysis.engine.classifiers.hf import HFAudioClassifier
from analysis.engine.emotion.turns import EmotionParams, classify_turns, judge, turn_windows
from analysis.engine.labels import CANONICAL_LABELS, LABEL_INDEX, valence_arousal
from analysis.engine.speakers.diarization import SpeakerTurn
from analysis.engine.speech.segmentation import Segment
from tests.analysis.conftest import Conversation


class ScriptedClassifier:
    """Happy in the first second of each stretch, sad afterwards; records its calls."""

    manifest = ModelManifest(
        kind="hf_audio_classification",
        name="scripted",
        version="1",
        labels=list(CANONICAL_LABELS),
        label_map={label: label for label in CANONICAL_LABELS},
    )

    def __init__(self) -> None:
        self.calls: list[tuple[int, list[tuple[int, int]]]] = []

    @property
    def sample_rate(self) -> int:
        return 16000

    def predict_proba(self, clips: Sequence[np.ndarray]) -> np.ndarray:
        raise AssertionError("the pipeline must use predict_windows")

    def predict_windows(self, audio: np.ndarray, windows: Sequence[tuple[int, int]]) -> np.ndarray:
        self.calls.append((audio.size, list(windows)))
        out = np.zeros((len(windows), len(CANONICAL_LABELS)))
        for i, (start, _end) in enumerate(windows):
            out[i, LABEL_INDEX["happy" if start < 16000 else "sad"]] = 1.0
        return out


def test_short_turn_is_one_window() -> None:
    assert turn_windows(2.0, 4.5, EmotionParams()) == [(2.0, 4.5)]


def test_long_turn_gets_3s_windows_at_1s_hop_ending_at_the_turn_end() -> None:
    windows = turn_windows(10.0, 15.5, EmotionParams())
    assert windows[0] == (10.0, 13.0)
    assert [s for s, _ in windows[:3]] == [10.0, 11.0, 12.0]
    assert windows[-1] == pytest.approx((12.5, 15.5))
    assert all(e - s == pytest.approx(3.0) for s, e in windows)


@pytest.mark.parametrize(
    ("row", "uncertain"),
    [
        ({"happy": 0.9, "sad": 0.1}, False),
        ({"happy": 0.35, "sad": 0.2, "neutral": 0.45}, False),  # 0.45 > 0.4, margin 0.1
        ({"happy": 0.3, "sad": 0.3, "neutral": 0.4}, False),
        ({"happy": 0.39, "sad": 0.31, "neutral": 0.3}, True),  # below 0.4
        ({"happy": 0.5, "sad": 0.45, "neutral": 0.05}, True),  # margin 0.05 < 0.1
    ],
)
def test_judge_flags_low_confidence_and_near_ties(row: dict[str, float], uncertain: bool) -> None:
    probs = np.zeros(len(CANONICAL_LABELS))
    for label, p in row.items():
        probs[LABEL_INDEX[label]] = p
    label, confidence, flagged = judge(probs, EmotionParams())
    assert label == max(row, key=lambda k: row[k])
    assert confidence == pytest.approx(max(row.values()))
    assert flagged is uncertain


def _voiced_in(stretches: list[Segment], seconds: float = 20.0) -> np.ndarray:
    """A faint room with a clear 200 Hz voice inside the given stretches."""
    rng = np.random.default_rng(0)
    audio = (1e-4 * rng.standard_normal(int(seconds * 16000))).astype(np.float32)
    for s in stretches:
        lo, hi = int(s.start_s * 16000), int(s.end_s * 16000)
        t = np.arange(hi - lo) / 16000
        audio[lo:hi] += (0.1 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    return audio


def test_turns_are_smoothed_over_their_windows_and_stretches_encoded_once() -> None:
    stretches = [Segment(1.0, 8.0), Segment(10.0, 12.0)]
    audio = _voiced_in(stretches)
    turns = [
        SpeakerTurn(1.0, 3.0, "therapist", 0.9, 0),  # one window starting at the stretch start
        SpeakerTurn(3.0, 8.0, "child", 0.8, 1),  # windows at 3, 4, 5 s: all "sad"
        SpeakerTurn(10.0, 12.0, "child", 0.7, 1),
    ]
    classifier = ScriptedClassifier()
    results, frames = classify_turns(audio, turns, stretches, classifier)
    assert len(classifier.calls) == 2  # one call per speech stretch
    first_size, first_windows = classifier.calls[0]
    assert first_size == 7 * 16000 and len(first_windows) == 1 + 3
    assert [r.emotion for r in results] == ["happy", "sad", "happy"]
    assert [r.speaker for r in results] == ["therapist", "child", "child"]
    assert results[0].speaker_confidence == 0.9 and results[1].cluster == 1
    assert all(not r.uncertain for r in results)
    va = valence_arousal(results[1].probabilities)[0]
    assert (results[1].valence, results[1].arousal) == pytest.approx(tuple(va))
    assert len(frames) == 5 and {f.speaker for f in frames} == {"therapist", "child"}
    assert all(f.end_s - f.start_s <= 3.0 + 1e-9 for f in frames)


def test_mixed_windows_are_weighted_by_their_overlap() -> None:
    class Alternating(ScriptedClassifier):
        def predict_windows(
            self, audio: np.ndarray, windows: Sequence[tuple[int, int]]
        ) -> np.ndarray:
            out = np.zeros((len(windows), len(CANONICAL_LABELS)))
            for i in range(len(windows)):
                out[i, LABEL_INDEX["happy" if i % 2 == 0 else "sad"]] = 1.0
            return out

    audio = np.zeros(10 * 16000, dtype=np.float32)
    turns = [SpeakerTurn(0.0, 4.0, "child", 1.0, 0)]  # windows 0-3 (happy), 1-4 (sad)
    results, _ = classify_turns(audio, turns, [Segment(0.0, 4.0)], Alternating())
    probs = results[0].probabilities
    assert probs[LABEL_INDEX["happy"]] == pytest.approx(0.5)
    assert results[0].uncertain  # a tie is never a confident answer


def test_long_stretches_are_split_into_bounded_calls() -> None:
    audio = np.zeros(200 * 16000, dtype=np.float32)
    turns = [SpeakerTurn(float(s), float(s) + 10.0, "child", 1.0, 0) for s in range(0, 200, 10)]
    classifier = ScriptedClassifier()
    classify_turns(
        audio, turns, [Segment(0.0, 200.0)], classifier, params=EmotionParams(max_stretch_s=60.0)
    )
    assert len(classifier.calls) >= 4
    assert all(size <= 60 * 16000 for size, _ in classifier.calls)


def test_progress_reaches_one() -> None:
    seen: list[float] = []
    turns = [SpeakerTurn(0.0, 2.0, "child", 1.0, 0), SpeakerTurn(3.0, 5.0, "child", 1.0, 0)]
    classify_turns(
        np.zeros(6 * 16000, dtype=np.float32),
        turns,
        [Segment(0.0, 2.0), Segment(3.0, 5.0)],
        ScriptedClassifier(),
        progress=seen.append,
    )
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)


def test_turns_in_silence_or_noise_are_uncertain_with_the_reason() -> None:
    stretches = [Segment(1.0, 4.0), Segment(6.0, 6.5)]
    turns = [SpeakerTurn(1.0, 4.0, "child", 0.9, 0), SpeakerTurn(6.0, 6.5, "child", 0.9, 0)]
    silent = np.zeros(10 * 16000, dtype=np.float32)
    results, _ = classify_turns(silent, turns, stretches, ScriptedClassifier())
    # The scripted model is 100% sure, but there is nothing to hear: never a confident label.
    assert [(r.uncertain, r.uncertain_reason) for r in results] == [
        (True, "too_quiet"),
        (True, "too_short"),
    ]
    noisy = (0.1 * np.random.default_rng(1).standard_normal(10 * 16000)).astype(np.float32)
    results, _ = classify_turns(noisy, turns[:1], stretches[:1], ScriptedClassifier())
    assert results[0].uncertain_reason == "too_noisy"
    assert results[0].quality is not None and results[0].quality["snr_db"] < 5.0
    clear = _voiced_in(stretches[:1], 10.0)
    results, _ = classify_turns(clear, turns[:1], stretches[:1], ScriptedClassifier())
    assert (results[0].uncertain, results[0].uncertain_reason) == (False, "")


class OneStretchAtATime:
    """A real classifier seen without its ``predict_stretches``: one call per stretch."""

    def __init__(self, classifier: HFAudioClassifier) -> None:
        self._classifier = classifier
        self.manifest = classifier.manifest
        self.sample_rate = classifier.sample_rate

    def predict_proba(self, clips: Sequence[np.ndarray]) -> np.ndarray:
        return self._classifier.predict_proba(clips)

    def predict_windows(self, audio: np.ndarray, windows: Sequence[tuple[int, int]]) -> np.ndarray:
        return self._classifier.predict_windows(audio, windows)


def test_hf_stretches_classified_in_blocks_match_one_stretch_at_a_time(
    tiny_classifier: HFAudioClassifier, conversation: Conversation
) -> None:
    stretches = [Segment(start, end) for start, end, _ in conversation.turns]
    turns = [
        SpeakerTurn(start, end, "child" if voice == "high" else "therapist", 0.9, i % 2)
        for i, (start, end, voice) in enumerate(conversation.turns)
    ]
    seen: list[float] = []
    audio = conversation.audio
    blocks, block_frames = classify_turns(
        audio, turns, stretches, tiny_classifier, progress=seen.append
    )
    single, single_frames = classify_turns(
        audio, turns, stretches, OneStretchAtATime(tiny_classifier)
    )
    assert len(blocks) == len(single) == len(turns) and len(seen) == len(turns)
    assert [r.emotion for r in blocks] == [r.emotion for r in single]
    got = np.stack([f.probabilities for f in block_frames])
    expected = np.stack([f.probabilities for f in single_frames])
    assert got.shape == expected.shape and np.abs(got - expected).max() < 1e-5
