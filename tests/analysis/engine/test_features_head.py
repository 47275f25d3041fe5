from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from analysis.engine.classifiers import ModelFormatError, load_classifier
from analysis.engine.classifiers.features import (
    FrozenEncoder,
    acoustic_dimension,
    acoustic_features,
    pooled_encoder_features,
)
from analysis.engine.classifiers.features_head import (
    FeaturesHeadClassifier,
    Head,
    HeadEnsemble,
    write_model,
)
from analysis.engine.labels import CANONICAL_LABELS
from analysis.engine.training.train import fit_kernel_logistic, fit_logistic, fit_mlp

SR = 16000


def _tone(freq: float, seconds: float = 0.5, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize(
    "audio",
    [
        _tone(150.0),
        _tone(300.0, seconds=2.0, amp=0.9),
        np.random.default_rng(0).normal(0, 0.1, SR).astype(np.float32),
        np.zeros(SR, dtype=np.float32),
        _tone(200.0)[:399],
        _tone(200.0)[:10],
        np.zeros(0, dtype=np.float32),
    ],
    ids=["tone", "loud-long-tone", "noise", "silence", "399-samples", "10-samples", "empty"],
)
def test_acoustic_features_have_fixed_size_and_are_finite(audio: np.ndarray) -> None:
    features = acoustic_features(audio)
    assert features.shape == (acoustic_dimension(),)
    assert features.dtype == np.float32
    assert np.isfinite(features).all()


def test_acoustic_features_separate_pitch() -> None:
    low, high = acoustic_features(_tone(120.0)), acoustic_features(_tone(240.0))
    assert not np.allclose(low, high)


def test_acoustic_features_resample_other_rates() -> None:
    at_8k = _tone(200.0, seconds=1.0)[::2]
    assert acoustic_features(at_8k, sample_rate=8000).shape == (acoustic_dimension(),)


def _toy_data(dim: int = 6, n: int = 80) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = np.arange(n) % 3 * 2  # labels 0, 2, 4 (neutral, happy, sad): others never seen
    x = rng.normal(0, 1, (n, dim)) + y[:, None] * 1.5
    return x, y, np.array([f"g{i % 5}" for i in range(n)])


def _acoustic_model(tmp_path: Path, heads: list[Head]) -> Path:
    model_dir = tmp_path / "model"
    ensemble = HeadEnsemble(labels=list(CANONICAL_LABELS), heads=heads)
    write_model(
        model_dir, ensemble, features="acoustic", name="toy", version="0", architecture="test"
    )
    return model_dir


def test_heads_round_trip_through_load_classifier(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    clips = [_tone(f, amp=a) for f, a in ((120, 0.1), (250, 0.5), (180, 0.3))]
    x = np.stack([acoustic_features(c) for c in clips] * 4) + rng.normal(0, 0.1, (12, 1))
    y = np.array([0, 2, 4] * 4)
    groups = np.array([f"g{i % 4}" for i in range(12)])
    heads = [
        fit_logistic(x, y, 8),
        fit_kernel_logistic(x, y, 8, landmarks=8),
        fit_mlp(x, y, 8, groups=groups, max_epochs=20, hidden=16),
    ]
    model_dir = _acoustic_model(tmp_path, heads)
    in_memory = HeadEnsemble(labels=list(CANONICAL_LABELS), heads=heads)
    loaded = load_classifier(model_dir)
    assert isinstance(loaded, FeaturesHeadClassifier)
    assert loaded.manifest.kind == "features_head"
    probs = loaded.predict_proba(clips)
    expected = in_memory.predict_proba(np.stack([acoustic_features(c) for c in clips]))
    np.testing.assert_allclose(probs, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert (probs[:, [1, 3, 5, 6, 7]] < 1e-6).all()  # unseen classes get no mass
    again = load_classifier(model_dir).predict_proba(clips)
    np.testing.assert_array_equal(probs, again)
    assert not list(model_dir.glob("*.pkl"))


def test_predict_windows_equals_predict_proba_on_slices(tmp_path: Path) -> None:
    x, y, _ = _toy_data(dim=acoustic_dimension())
    model_dir = _acoustic_model(tmp_path, [fit_logistic(x, y, 8)])
    classifier = load_classifier(model_dir)
    audio = np.concatenate([_tone(150.0), _tone(300.0, amp=0.8)])
    windows = [(0, 8000), (4000, 12000), (8000, 16000), (15900, 16000)]
    np.testing.assert_array_equal(
        classifier.predict_windows(audio, windows),
        classifier.predict_proba([audio[s:e] for s, e in windows]),
    )
    assert classifier.predict_proba([]).shape == (0, 8)


def test_corrupt_head_fails_clearly(tmp_path: Path) -> None:
    x, y, _ = _toy_data(dim=acoustic_dimension())
    model_dir = _acoustic_model(tmp_path, [fit_logistic(x, y, 8)])
    spec = json.loads((model_dir / "head.json").read_text())
    spec["heads"][0]["ops"].append({"op": "eval"})
    (model_dir / "head.json").write_text(json.dumps(spec))
    with pytest.raises(ModelFormatError):
        load_classifier(model_dir)
    (model_dir / "head.safetensors").unlink()
    with pytest.raises(ModelFormatError):
        load_classifier(model_dir)


def tiny_encoder(path: Path, layers: int = 2) -> Path:
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    config = Wav2Vec2Config(
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(16, 16, 16, 16, 16, 16, 16),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4,
    )
    import torch

    torch.manual_seed(0)
    Wav2Vec2Model(config).save_pretrained(path)
    return path


def test_keeping_the_first_layers_gives_the_full_models_states_without_the_rest(
    tmp_path: Path,
) -> None:
    encoder_dir = tiny_encoder(tmp_path / "enc", layers=4)
    audio = _tone(220.0, seconds=1.0)
    full = FrozenEncoder(encoder_dir, layers=[2])
    kept = FrozenEncoder(encoder_dir, layers="last", keep_layers=2)
    assert len(kept.model.encoder.layers) == 2 and len(full.model.encoder.layers) == 4
    np.testing.assert_allclose(kept.frame_states(audio), full.frame_states(audio), atol=1e-5)
    # "all" averages the kept stack's states 0..2, not the full model's 0..4.
    np.testing.assert_allclose(
        FrozenEncoder(encoder_dir, keep_layers=2).frame_states(audio),
        FrozenEncoder(encoder_dir, layers=[0, 1, 2]).frame_states(audio),
        atol=1e-5,
    )
    assert kept.describe() == {"layers": "last", "pooling": "mean", "keep_layers": 2}
    assert "keep_layers" not in full.describe()  # existing manifests read as before


@pytest.mark.parametrize("n", [0, 5])
def test_keeping_more_layers_than_the_encoder_has_or_none_is_refused(
    tmp_path: Path, n: int
) -> None:
    with pytest.raises(ValueError, match="keep_layers must be between 1 and 4"):
        FrozenEncoder(tiny_encoder(tmp_path / "enc", layers=4), keep_layers=n)


def test_pooled_encoder_features_shapes(tmp_path: Path) -> None:
    encoder_dir = tiny_encoder(tmp_path / "enc")
    clips = [_tone(200.0), _tone(200.0)[:100], np.zeros(0, dtype=np.float32)]
    mean = pooled_encoder_features(encoder_dir, clips)
    assert mean.shape == (3, 32)
    both = pooled_encoder_features(encoder_dir, clips, layers=[-1], pooling="mean+std")
    assert both.shape == (3, 64)
    assert np.isfinite(both).all()
    assert FrozenEncoder(encoder_dir, layers="last").describe() == {
        "layers": "last",
        "pooling": "mean",
    }
