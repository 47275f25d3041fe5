"""Voice baselines: a speaker's own neutral voice moves their estimates onto the model's neutral."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.engine.classifiers import load_classifier
from analysis.engine.classifiers.features import robust_acoustic_features
from analysis.engine.classifiers.features_head import HeadEnsemble, write_model
from analysis.engine.emotion.baseline import (
    VoiceBaseline,
    build_baseline,
    neutral_reference,
    predict_with_baseline,
)
from analysis.engine.emotion.turns import classify_turns
from analysis.engine.labels import CANONICAL_LABELS, LABEL_INDEX
from analysis.engine.pipeline import baseline_effect
from analysis.engine.speakers.diarization import SpeakerTurn
from analysis.engine.speech.segmentation import Segment
from analysis.engine.training.robustness import _baseline_shifted
from analysis.engine.training.train import fit_logistic
from tests.analysis.audio_factory import speechlike

SR = 16000


def _voice(f0: float, seed: int, seconds: float = 2.0) -> np.ndarray:
    return speechlike(seconds, seed=seed, f0=f0).astype(np.float32)


@pytest.fixture(scope="module")
def pitch_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model that learnt "low voice = neutral, high voice = happy" from adult-like voices."""
    clips = [(_voice(120 + 5 * k, k), "neutral") for k in range(6)]
    clips += [(_voice(230 + 5 * k, 10 + k), "happy") for k in range(6)]
    x = np.stack([robust_acoustic_features(a) for a, _ in clips])
    y = np.array([LABEL_INDEX[label] for _, label in clips])
    head = fit_logistic(x, y, len(CANONICAL_LABELS), c=1.0)
    ensemble = HeadEnsemble(
        labels=list(CANONICAL_LABELS), heads=[head], reference=neutral_reference(x, y)
    )
    out = tmp_path_factory.mktemp("pitch-model")
    write_model(out, ensemble, features="acoustic2", name="pitch", version="1", architecture="t")
    return out


def test_the_reference_is_the_mean_of_neutral_and_calm_rows():
    x = np.array([[1.0, 0.0], [3.0, 0.0], [10.0, 10.0]])
    y = np.array([LABEL_INDEX["neutral"], LABEL_INDEX["calm"], LABEL_INDEX["angry"]])
    np.testing.assert_allclose(neutral_reference(x, y), [2.0, 0.0])
    with pytest.raises(ValueError, match="no neutral or calm"):
        neutral_reference(x[2:], y[2:])


def test_the_shift_grows_with_the_clips_behind_it():
    reference = np.zeros(2)
    few = VoiceBaseline(mean=np.array([4.0, 0.0]), clips=1)
    many = VoiceBaseline(mean=np.array([4.0, 0.0]), clips=30)
    np.testing.assert_allclose(few.shift(reference), [1.0, 0.0])  # 1 / (1 + 3) of the gap
    assert many.shift(reference)[0] == pytest.approx(4.0 * 30 / 33)


def test_a_high_voiced_childs_neutral_speech_is_no_longer_read_as_happy(pitch_model: Path):
    classifier = load_classifier(pitch_model)
    child_neutral = [_voice(260 + 3 * k, 40 + k) for k in range(8)]
    baseline = build_baseline(classifier, child_neutral)
    assert baseline is not None and baseline.clips == 8
    later = [_voice(262, 99)]
    shifted, raw = predict_with_baseline(classifier, later, baseline)
    assert CANONICAL_LABELS[int(raw[0].argmax())] == "happy"  # the voice, not the feeling
    assert CANONICAL_LABELS[int(shifted[0].argmax())] == "neutral"


def test_no_baseline_from_one_clip_or_for_a_model_without_reference(
    pitch_model: Path, tmp_path: Path
):
    classifier = load_classifier(pitch_model)
    assert build_baseline(classifier, [_voice(250, 1)]) is None
    plain = HeadEnsemble(labels=list(CANONICAL_LABELS), heads=classifier.ensemble.heads)  # type: ignore[attr-defined]
    write_model(tmp_path, plain, features="acoustic2", name="p", version="1", architecture="t")
    no_reference = load_classifier(tmp_path)
    assert build_baseline(no_reference, [_voice(250, k) for k in range(4)]) is None


def test_child_turns_use_the_baseline_and_the_summary_says_how_much(pitch_model: Path):
    classifier = load_classifier(pitch_model)
    baseline = build_baseline(classifier, [_voice(260 + 3 * k, 40 + k) for k in range(8)])
    assert baseline is not None
    rng = np.random.default_rng(0)
    audio = (1e-4 * rng.standard_normal(8 * SR)).astype(np.float32)
    audio[SR : 3 * SR] += _voice(262, 7)
    audio[5 * SR : 7 * SR] += _voice(262, 8)
    stretches = [Segment(1.0, 3.0), Segment(5.0, 7.0)]
    turns = [SpeakerTurn(1.0, 3.0, "child", 0.9, 0), SpeakerTurn(5.0, 7.0, "therapist", 0.9, 1)]
    results, _ = classify_turns(audio, turns, stretches, classifier, baselines={"child": baseline})
    child, therapist = results
    assert (child.raw_emotion, child.emotion) == ("happy", "neutral")
    assert child.baseline_delta is not None and child.baseline_delta > 0.2
    assert therapist.baseline_delta is None and therapist.emotion == "happy"
    effect = baseline_effect(results, {"child": baseline})
    assert effect == {
        "child": {
            "clips": 8,
            "weight": round(8 / 11, 3),
            "segments": 1,
            "label_changed_share": 1.0,
            "mean_shift": child.baseline_delta,
        }
    }


def test_the_benchmark_baseline_never_uses_the_clip_itself():
    features = np.array([[1.0], [3.0], [5.0], [100.0]])
    y = np.array([LABEL_INDEX[x] for x in ("neutral", "calm", "neutral", "angry")])
    groups = np.array(["a", "a", "a", "a"])
    out = _baseline_shifted(features, np.arange(4), y, groups, reference=np.zeros(1))
    # Clip 0's baseline is the mean of clips 1 and 2 (4.0), weighted 2 / (2 + 3).
    assert out[0, 0] == pytest.approx(1.0 - 0.4 * 4.0)
    # The angry clip's baseline uses all three neutral/calm clips (mean 3.0, weight 0.5).
    assert out[3, 0] == pytest.approx(100.0 - 0.5 * 3.0)


def test_a_voice_unlike_any_the_model_learnt_from_is_uncertain_unfamiliar(
    pitch_model: Path, tmp_path: Path
):
    import json
    import shutil

    strict = tmp_path / "strict"
    shutil.copytree(pitch_model, strict)
    manifest = json.loads((strict / "ser_model.json").read_text())
    manifest["extra"]["reliability"] = {"min_confidence": 0.0, "max_atypicality": 3.0}
    (strict / "ser_model.json").write_text(json.dumps(manifest))
    classifier = load_classifier(strict)
    familiar = _voice(125, 3)
    t = np.arange(2 * SR) / SR
    square = (0.3 * np.sign(np.sin(2 * np.pi * 900 * t))).astype(np.float32)  # a buzzer
    typical, odd = classifier.atypicality(classifier.features([familiar, square]))  # type: ignore[attr-defined]
    assert typical < 3.0 < odd
    rng = np.random.default_rng(0)
    audio = (1e-4 * rng.standard_normal(8 * SR)).astype(np.float32)
    audio[SR : 3 * SR] += familiar
    audio[5 * SR : 7 * SR] += square
    stretches = [Segment(1.0, 3.0), Segment(5.0, 7.0)]
    turns = [SpeakerTurn(1.0, 3.0, "child", 0.9, 0), SpeakerTurn(5.0, 7.0, "child", 0.9, 0)]
    results, _ = classify_turns(audio, turns, stretches, classifier)
    assert [r.uncertain_reason for r in results] == ["", "unfamiliar"]
    assert results[1].quality is not None and results[1].quality["atypicality"] > 3.0
