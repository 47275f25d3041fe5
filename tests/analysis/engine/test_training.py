from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from analysis.engine.classifiers import load_classifier
from analysis.engine.classifiers.features import FrozenEncoder
from analysis.engine.training.datasets import clips_from_arrays
from analysis.engine.training.evaluation import evaluate
from analysis.engine.training.train import HeadRecipe, train_default_model, train_head_on_encoder

SR = 16000
# Each fake "emotion" has its own pitch and loudness, the cues real emotions move too.
EMOTIONS = {"01": (110.0, 0.05), "03": (260.0, 0.4), "04": (90.0, 0.02), "05": (180.0, 0.8)}
NAMES = {"01": "neutral", "03": "happy", "04": "sad", "05": "angry"}


def _voice(f0: float, amp: float, rng: np.random.Generator, seconds: float = 0.6) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    f0 = f0 * rng.uniform(0.9, 1.1)
    wave = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 5))
    audio = amp * rng.uniform(0.8, 1.2) * wave * np.hanning(t.size)
    return (audio + rng.normal(0, 0.002, t.size)).astype(np.float32)


def _write_fake_ravdess(root: Path, actors: range, per_emotion: int = 2) -> None:
    rng = np.random.default_rng(7)
    for actor in actors:
        folder = root / f"Actor_{actor:02d}"
        folder.mkdir(parents=True)
        for code, (f0, amp) in EMOTIONS.items():
            for rep in range(1, per_emotion + 1):
                name = f"03-01-{code}-01-01-{rep:02d}-{actor:02d}.flac"
                sf.write(folder / name, _voice(f0, amp, rng), SR)


def _held_out_clips(seed: int, n_actors: int = 2):
    rng = np.random.default_rng(seed)
    audios, labels, groups = [], [], []
    for actor in range(n_actors):
        for code, (f0, amp) in EMOTIONS.items():
            audios.append(_voice(f0, amp, rng))
            labels.append(NAMES[code])
            groups.append(f"new{actor}")
    return clips_from_arrays(audios, labels, groups)


@pytest.mark.slow
def test_default_training_on_synthetic_actors_gives_loadable_model_beating_chance(
    tmp_path: Path,
) -> None:
    _write_fake_ravdess(tmp_path / "data", range(1, 7))
    recipe = HeadRecipe(
        heads=["kernel_logistic", "mlp", "logistic"],
        options={"mlp": {"max_epochs": 30, "hidden": 32}, "kernel_logistic": {"landmarks": 40}},
    )
    out = tmp_path / "model"
    summary = train_default_model(
        tmp_path / "data",
        out,
        seed=3,
        recipe=recipe,
        folds=3,
        augmented_copies=1,
        log=lambda _: None,
    )
    assert summary["cv"]["eight_class"]["ua_mean"] > 0.5
    manifest = json.loads((out / "ser_model.json").read_text())
    assert manifest["kind"] == "features_head"
    assert manifest["label_map"] == {label: label for label in manifest["labels"]}
    assert (out / "MODEL_CARD.md").read_text().count("CC BY-NC-SA 4.0") == 1
    classifier = load_classifier(out)
    result = evaluate(classifier, _held_out_clips(seed=99))
    assert result["eight_class"]["ua"] > 0.5  # chance is 0.25 over the four present labels


@pytest.mark.slow
def test_default_training_is_reproducible_from_seed(tmp_path: Path) -> None:
    _write_fake_ravdess(tmp_path / "data", range(1, 5), per_emotion=1)
    recipe = HeadRecipe(heads=["mlp", "logistic"], options={"mlp": {"max_epochs": 20}})
    for name in ("a", "b"):
        train_default_model(
            tmp_path / "data",
            tmp_path / name,
            seed=5,
            recipe=recipe,
            folds=2,
            augmented_copies=1,
            log=lambda _: None,
        )
    clips = [c.load() for c in _held_out_clips(seed=1, n_actors=1)]
    np.testing.assert_array_equal(
        load_classifier(tmp_path / "a").predict_proba(clips),
        load_classifier(tmp_path / "b").predict_proba(clips),
    )


def test_a_head_on_the_first_layers_stores_how_many_and_runs_only_those(tmp_path: Path) -> None:
    from analysis.engine.classifiers.base import read_manifest
    from analysis.engine.classifiers.features_head import FeaturesHeadClassifier
    from tests.analysis.engine.test_features_head import tiny_encoder

    encoder_dir = tiny_encoder(tmp_path / "encoder", layers=3)
    clips = [c for seed in range(2) for c in _held_out_clips(seed=seed, n_actors=2)]
    classifier = train_head_on_encoder(
        encoder_dir, clips, tmp_path / "head", seed=0, layers="last", keep_layers=1
    )
    features = read_manifest(tmp_path / "head").extra["features"]
    assert features["keep_layers"] == 1 and features["layers"] == "last"
    assert "first 1 transformer layers" in (tmp_path / "head" / "MODEL_CARD.md").read_text()
    reloaded = load_classifier(tmp_path / "head")
    assert isinstance(reloaded, FeaturesHeadClassifier)
    encoder = reloaded.extractor._encoder
    assert encoder is not None and len(encoder.model.encoder.layers) == 1
    audio = [c.load() for c in clips[:4]]
    np.testing.assert_allclose(
        reloaded.predict_proba(audio), classifier.predict_proba(audio), rtol=1e-6, atol=1e-7
    )
    # The head was fitted on layer 1's states: the full encoder's layer 1 gives the same ones.
    full = FrozenEncoder(encoder_dir, layers=[1])
    np.testing.assert_allclose(
        reloaded.features(audio), np.stack([full(a) for a in audio]), atol=1e-5
    )


@pytest.mark.parametrize("head", ["logistic", "mlp"])
def test_train_head_on_encoder_from_array_clips(tmp_path: Path, head: str) -> None:
    from tests.analysis.engine.test_features_head import tiny_encoder

    encoder_dir = tiny_encoder(tmp_path / "encoder")
    clips = [c for seed in range(3) for c in _held_out_clips(seed=seed, n_actors=2)]
    clips = [c for c in clips if c.label != "neutral"]  # a clinic may lack some labels
    classifier = train_head_on_encoder(
        encoder_dir,
        clips,
        tmp_path / "adapted",
        seed=0,
        head=head,
        head_options={"max_epochs": 20} if head == "mlp" else None,
    )
    assert classifier.manifest.labels == ["happy", "sad", "angry"]
    assert (tmp_path / "adapted" / "encoder" / "config.json").exists()
    reloaded = load_classifier(tmp_path / "adapted")
    audio = [c.load() for c in clips[:5]]
    np.testing.assert_allclose(
        reloaded.predict_proba(audio), classifier.predict_proba(audio), rtol=1e-6, atol=1e-7
    )
    probs = reloaded.predict_proba(audio)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    assert probs[:, 0].max() == 0.0  # neutral was never seen, so never predicted
    # Training accuracy, not a generalisation claim: the head must at least fit its data.
    assert evaluate(reloaded, clips)["eight_class"]["ua"] > 0.5
