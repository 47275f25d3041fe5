"""The portal's settings for ONNX Runtime: ``SER_HF_INFERENCE_DTYPE`` may name an ``ort-*``
precision, exported graphs go to ``SER_ONNX_CACHE_DIR``, and a starting worker says whether
ONNX Runtime takes part in the choice."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from django.test import override_settings

from analysis import tasks
from analysis.engine.classifiers import ort_encoder, precision
from analysis.engine.classifiers.hf import HFAudioClassifier


def test_an_ort_setting_loads_through_onnx_runtime_into_the_configured_cache(
    tiny_model_dir: Path, tmp_path: Path, settings: object
) -> None:
    from analysis.registry.active import load_for_inference

    settings.SER_HF_INFERENCE_DTYPE = "ort-fp32"  # type: ignore[attr-defined]
    settings.SER_ONNX_CACHE_DIR = tmp_path / "onnx"  # type: ignore[attr-defined]
    classifier = load_for_inference(tiny_model_dir, threads=1)
    assert isinstance(classifier, HFAudioClassifier)
    assert classifier.dtype == "ort-fp32" and classifier._ort is not None
    assert classifier._ort.paths[1].is_relative_to(tmp_path / "onnx")
    assert not list(tiny_model_dir.rglob("*.onnx"))


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ("auto", f"ONNX Runtime {ort_encoder.version()}"),
        ("auto-torch", "left out (auto-torch)"),
    ],
)
def test_worker_start_says_whether_onnx_runtime_takes_part(
    setting: str, says: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for var in precision.ISA_CAP_VARS:
        monkeypatch.delenv(var, raising=False)
    with (
        override_settings(SER_HF_INFERENCE_DTYPE=setting),
        caplog.at_level(logging.INFO, logger="analysis.tasks"),
    ):
        tasks.worker_process_init.send(sender=None)
    [record] = [r for r in caplog.records if r.name == "analysis.tasks"]
    message = record.getMessage()
    assert message.endswith(says)
    candidates = message.split("precision candidates ")[1].split(";")[0].split(", ")
    assert ("ort-fp32" in candidates) == (setting == "auto")
