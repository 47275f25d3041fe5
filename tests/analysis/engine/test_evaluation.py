from __future__ import annotations

import json

import numpy as np
import pytest

from analysis.engine.classifiers.base import ModelManifest
from analysis.engine.labels import CANONICAL_LABELS, LABEL_INDEX
from analysis.engine.training.datasets import LabelledClip, clips_from_arrays
from analysis.engine.training.evaluation import (
    classification_metrics,
    cross_validate,
    evaluate,
    metrics_from_probabilities,
)


def test_hand_made_confusion_gives_exact_ua_and_wa() -> None:
    # class a: 4 clips, 3 right; class b: 1 clip, right; class c: 5 clips, 1 right.
    y_true = np.array([0, 0, 0, 0, 1, 2, 2, 2, 2, 2])
    y_pred = np.array([0, 0, 0, 1, 1, 2, 0, 0, 1, 1])
    m = classification_metrics(y_true, y_pred, ["a", "b", "c"])
    assert m["wa"] == pytest.approx(5 / 10)
    assert m["ua"] == pytest.approx((3 / 4 + 1 / 1 + 1 / 5) / 3)
    assert m["recall"] == pytest.approx({"a": 0.75, "b": 1.0, "c": 0.2})
    assert m["precision"] == pytest.approx({"a": 3 / 5, "b": 1 / 4, "c": 1.0})
    assert m["confusion"]["matrix"] == [[3, 1, 0], [0, 1, 0], [2, 2, 1]]


def _one_hot(labels: list[str]) -> np.ndarray:
    probs = np.zeros((len(labels), len(CANONICAL_LABELS)))
    for i, label in enumerate(labels):
        probs[i, LABEL_INDEX[label]] = 1.0
    return probs


def test_four_class_uses_only_its_labels_and_argmax_over_its_columns() -> None:
    truth = ["neutral", "happy", "calm", "angry"]
    probs = _one_hot(["neutral", "surprised", "calm", "angry"])
    probs[1, LABEL_INDEX["happy"]] = 0.2  # second best of the four columns
    result = metrics_from_probabilities(np.array([LABEL_INDEX[t] for t in truth]), probs)
    assert result["eight_class"]["wa"] == pytest.approx(3 / 4)
    assert result["four_class"]["n"] == 3  # the calm clip is left out
    assert result["four_class"]["wa"] == 1.0


def test_valence_sums_probabilities_per_group() -> None:
    probs = np.zeros((1, 8))
    probs[0, LABEL_INDEX["happy"]] = 0.3
    probs[0, LABEL_INDEX["surprised"]] = 0.3
    probs[0, LABEL_INDEX["angry"]] = 0.4  # argmax label is negative, group sum is positive
    result = metrics_from_probabilities(np.array([LABEL_INDEX["happy"]]), probs)
    assert result["eight_class"]["wa"] == 0.0
    assert result["valence"]["wa"] == 1.0


class _LoudnessClassifier:
    """Says 'angry' for loud clips and 'sad' for quiet ones."""

    manifest = ModelManifest(
        kind="features_head", name="rule", version="0", labels=["sad"], label_map={"sad": "sad"}
    )
    sample_rate = 16000

    def predict_proba(self, clips):
        return _one_hot(["angry" if np.abs(c).mean() > 0.3 else "sad" for c in clips])

    def predict_windows(self, audio, windows):
        return self.predict_proba([audio[s:e] for s, e in windows])


def _loud_quiet_clips(n_groups: int) -> list[LabelledClip]:
    audios, labels, groups = [], [], []
    for g in range(n_groups):
        for label, amp in (("angry", 0.8), ("sad", 0.1), ("happy", 0.8)):
            audios.append(np.full(1600, amp, dtype=np.float32))
            labels.append(label)
            groups.append(f"spk{g}")
    return clips_from_arrays(audios, labels, groups)


def test_evaluate_is_json_serialisable_with_expected_figures() -> None:
    result = evaluate(_LoudnessClassifier(), _loud_quiet_clips(2))
    json.dumps(result)
    assert result["eight_class"]["wa"] == pytest.approx(4 / 6)
    assert result["eight_class"]["ua"] == pytest.approx((1 + 1 + 0) / 3)
    assert result["model"]["name"] == "rule"


def test_cross_validate_trains_on_other_actors_only() -> None:
    clips = _loud_quiet_clips(6)
    calls = []

    def train_fn(train: list[LabelledClip], seed: int) -> _LoudnessClassifier:
        calls.append({c.group for c in train})
        return _LoudnessClassifier()

    result = cross_validate(train_fn, clips, folds=3, seed=0)
    assert len(result["folds"]) == 3
    for groups, fold in zip(calls, result["folds"], strict=True):
        assert not groups & set(fold["test_groups"])
    assert result["mean"]["eight_class"]["wa_mean"] == pytest.approx(4 / 6)
    json.dumps(result)
