"""The portal's inference setting (Django settings) over the engine's automatic precision choice.

Lives outside ``tests/analysis/engine`` because ``analysis.registry.active`` reads Django
settings; the engine tests run without Django.
"""

from __future__ import annotations

from pathlib import Path

from analysis.engine.classifiers.hf import HFAudioClassifier


def test_the_inference_setting_overrides_the_automatic_choice(
    tiny_model_dir: Path, settings: object
) -> None:
    from analysis.registry.active import load_for_inference

    settings.SER_HF_INFERENCE_DTYPE = "fp32"  # type: ignore[attr-defined]
    classifier = load_for_inference(tiny_model_dir, threads=1)
    assert isinstance(classifier, HFAudioClassifier)
    assert classifier.dtype == "fp32" and classifier.precision_choice is None
