"""Session summary: time-weighted shares per role, always the same shape."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analysis.engine.emotion.summary import summarize
from analysis.engine.emotion.turns import TurnEmotion
from analysis.engine.labels import CANONICAL_LABELS, LABEL_INDEX, valence_arousal


def _turn(start: float, end: float, speaker: str, emotion: str, uncertain: bool = False):
    probs = np.zeros(len(CANONICAL_LABELS))
    probs[LABEL_INDEX[emotion]] = 1.0
    valence, arousal = valence_arousal(probs)[0]
    return TurnEmotion(
        start_s=start,
        end_s=end,
        speaker=speaker,
        speaker_confidence=0.9,
        cluster=0,
        emotion=emotion,
        confidence=1.0,
        uncertain=uncertain,
        valence=float(valence),
        arousal=float(arousal),
        probabilities=probs,
    )


def test_shares_talk_time_and_means_are_weighted_by_duration() -> None:
    turns = [
        _turn(0.0, 6.0, "therapist", "calm"),
        _turn(7.0, 8.0, "child", "angry"),
        _turn(9.0, 12.0, "child", "happy", uncertain=True),
    ]
    summary = summarize(turns, duration_s=20.0)
    json.dumps(summary)  # JSON-serialisable as is
    assert summary["speech_s"] == 10.0 and summary["speech_ratio"] == 0.5
    assert summary["segment_count"] == 3
    child = summary["speakers"]["child"]
    assert child["speech_s"] == 4.0 and child["talk_share"] == 0.4 and child["segment_count"] == 2
    assert child["emotion_share"]["happy"] == 0.75 and child["emotion_share"]["angry"] == 0.25
    assert child["dominant_emotion"] == "happy" and child["uncertain_share"] == 0.75
    happy_v, _happy_a = valence_arousal(np.eye(8)[LABEL_INDEX["happy"]])[0]
    angry_v, _ = valence_arousal(np.eye(8)[LABEL_INDEX["angry"]])[0]
    assert child["mean_valence"] == pytest.approx(0.75 * happy_v + 0.25 * angry_v, abs=1e-4)
    assert summary["speakers"]["therapist"]["talk_share"] == 0.6
    assert summary["overall"]["emotion_share"]["calm"] == 0.6
    assert sum(summary["overall"]["emotion_share"].values()) == pytest.approx(1.0)


def test_silence_gives_zeros_in_the_same_shape() -> None:
    summary = summarize([], duration_s=30.0)
    assert summary["speech_s"] == 0.0 and summary["speech_ratio"] == 0.0
    assert set(summary["speakers"]) == {"child", "therapist", "unknown", "other"}
    for group in [summary["overall"], *summary["speakers"].values()]:
        assert group["talk_share"] == 0.0 and group["segment_count"] == 0
        assert set(group["emotion_share"]) == set(CANONICAL_LABELS)
        assert not any(group["emotion_share"].values())
        assert group["dominant_emotion"] is None
    json.dumps(summary)
