"""ONNX Runtime as a run-time precision (analysis.engine.classifiers.ort_encoder): same answers
as torch through chunks and batches, chosen or not per setting, cached, and a clean fallback to
torch when it cannot run.

Measured on the tiny models (2 layers, 32 wide) over a 56 s two-voice espeak stretch (54
windows, default 20 s chunks), against torch fp32 encoding the stretch whole: ort-fp32 within
1.5e-7 to 2.1e-7 of torch fp32 chunked (the same maths) and 2.0e-4 to 1.3e-3 of whole-stretch
encoding (the chunking's own effect); ort-int8 2.0e-3 to 3.9e-3. The top label is that of
whole-stretch fp32 on every window, except one of 54 for ort-int8 on the model with a layer norm
in each conv layer (torch int8 moves 3 of them there; that model's closest window has its top two
4e-4 apart). The assertions leave about twice those margins.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from analysis.engine.classifiers import hf, ort_encoder, precision
from analysis.engine.classifiers.base import load_classifier as _load_classifier
from analysis.engine.classifiers.hf import HFAudioClassifier
from tests.analysis.conftest import make_conversation
from tests.tiny_models import build_tiny_model


def load_classifier(model_dir: Path, **options: Any) -> HFAudioClassifier:
    options.setdefault("threads", 1)
    classifier = _load_classifier(model_dir, **options)
    assert isinstance(classifier, HFAudioClassifier)
    return classifier


def _windows(n: int, window: int = 48000, hop: int = 16000) -> list[tuple[int, int]]:
    return [(s, min(s + window, n)) for s in range(0, max(n - window, 0) + 1, hop)]


@pytest.fixture(scope="module")
def long_stretch() -> np.ndarray:
    """56 s of two espeak voices: longer than one 20 s chunk and than two conv tiles."""
    return make_conversation(turns=16, pause_s=0.2).audio[: 60 * 16000]


@pytest.fixture(autouse=True)
def _fresh_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test measures its own choice instead of reusing an earlier test's."""
    monkeypatch.setattr(hf, "_chosen", {})


@pytest.mark.parametrize(
    ("arch", "weighted", "norm"),
    [
        ("wav2vec2", False, "group"),
        ("wav2vec2", True, "group"),
        ("wav2vec2", False, "layer"),  # a layer norm in every conv layer: local, in the graph
        ("hubert", False, "group"),
    ],
)
def test_ort_answers_match_torch_through_chunks_and_within_the_label_target_of_whole_fp32(
    arch: str, weighted: bool, norm: str, tmp_path: Path, long_stretch: np.ndarray
) -> None:
    model_dir = build_tiny_model(
        tmp_path / "model",
        arch=arch,
        weighted_layer_sum=weighted,
        extra_config={"feat_extract_norm": norm},
    )
    windows = _windows(long_stretch.size)
    whole = load_classifier(model_dir, chunk_s=None).predict_windows_model_proba(
        long_stretch, windows
    )
    chunked = load_classifier(model_dir).predict_windows_model_proba(long_stretch, windows)
    cache = tmp_path / "cache"
    ort_fp32 = load_classifier(model_dir, dtype="ort-fp32", onnx_cache_dir=cache)
    ort_int8 = load_classifier(model_dir, dtype="ort-int8", onnx_cache_dir=cache)
    assert ort_fp32._ort is not None and ort_int8._ort is not None
    assert ort_fp32.chunk_s is not None
    assert long_stretch.size > 16000 * 2 * ort_fp32.chunk_s  # several chunks, tiled convs
    fp32 = ort_fp32.predict_windows_model_proba(long_stretch, windows)
    int8 = ort_int8.predict_windows_model_proba(long_stretch, windows)
    assert len(windows) >= 50
    assert np.abs(fp32 - chunked).max() < 1e-6
    assert np.abs(fp32 - whole).max() < 0.003
    assert np.abs(int8 - whole).max() < 0.008
    assert (fp32.argmax(axis=1) == whole.argmax(axis=1)).mean() >= 0.99
    # int8 moves probabilities by up to 2e-3 here: the layer-norm model has windows whose top
    # two are 4e-4 apart, and one of its 54 windows flips (torch int8 flips 3).
    int8_agrees = (int8.argmax(axis=1) == whole.argmax(axis=1)).mean()
    assert int8_agrees >= (0.97 if norm == "layer" else 0.99)


def test_ort_stretches_sharing_a_padded_batch_get_the_answers_of_torch(
    tiny_model_dir: Path, tmp_path: Path, long_stretch: np.ndarray
) -> None:
    items = [
        (long_stretch[: 16000 * n], _windows(16000 * n)) for n in (3, 5, 9)
    ]  # short stretches: one padded transformer batch with a mask
    reference = load_classifier(tiny_model_dir).predict_stretches_model_proba(items)
    ort = load_classifier(tiny_model_dir, dtype="ort-fp32", onnx_cache_dir=tmp_path)
    got = ort.predict_stretches_model_proba(items)
    for a, b in zip(got, reference, strict=True):
        assert a.shape == b.shape and np.abs(a - b).max() < 1e-6


@pytest.mark.parametrize("fastest", ["ort-fp32", "ort-int8"])
def test_auto_times_ort_with_the_torch_precisions_and_picks_it_when_fastest(
    fastest: str, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every other candidate made slow on the probe: the rule decides, not this machine's load.
    real_runner = HFAudioClassifier._probe_runner

    def runner(self: HFAudioClassifier) -> precision.Runner:
        run = real_runner(self)
        if self.dtype == fastest:
            return run

        def slow(audio: np.ndarray) -> np.ndarray:
            time.sleep(0.05)
            return run(audio)

        return slow

    monkeypatch.setattr(HFAudioClassifier, "_probe_runner", runner)
    auto = load_classifier(tiny_model_dir, dtype="auto", onnx_cache_dir=tmp_path)
    choice = auto.precision_choice
    assert choice is not None
    assert {"fp32", "ort-fp32", "ort-int8"} <= set(choice.timings)
    assert choice.diffs["ort-fp32"] < 1e-5 and choice.diffs["ort-int8"] < 0.01
    assert auto.dtype == choice.dtype == fastest
    assert auto._ort is not None
    assert auto._ort.paths[1].name == f"transformer-{fastest.removeprefix('ort-')}.onnx"


def test_auto_torch_and_a_torch_setting_leave_ort_out(tiny_model_dir: Path, tmp_path: Path) -> None:
    auto = load_classifier(tiny_model_dir, dtype="auto-torch", onnx_cache_dir=tmp_path)
    assert auto.precision_choice is not None
    assert not [d for d in auto.precision_choice.timings if d.startswith("ort")]
    assert auto._ort is None and auto.dtype in hf.DTYPES
    fixed = load_classifier(tiny_model_dir, dtype="int8", onnx_cache_dir=tmp_path)
    assert fixed._ort is None and fixed.precision_choice is None
    assert not list(tmp_path.rglob("*.onnx"))  # nothing was exported


def test_ort_is_no_candidate_under_an_instruction_set_cap() -> None:
    features = precision.CpuFeatures(
        frozenset({"avx2"}), capped_at="AVX2", capped_by=("ONEDNN_MAX_CPU_ISA=AVX2",)
    )
    assert not [d for d in precision.candidate_dtypes(features, onnx=True) if "ort" in d]
    native = precision.CpuFeatures(frozenset({"avx2"}))
    assert precision.candidate_dtypes(native, onnx=True)[-2:] == ["ort-fp32", "ort-int8"]
    assert "ort" not in " ".join(precision.candidate_dtypes(native))
    report = precision.startup_report("auto", features, onnx_version="1.2.3")
    assert "ONNX Runtime 1.2.3 left out: it ignores the instruction-set cap" in report
    assert "ONNX Runtime not installed" in precision.startup_report("auto", native, None)


def test_without_onnxruntime_ort_settings_fall_back_to_torch_and_auto_leaves_it_out(
    tiny_model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # "import onnxruntime" fails
    assert ort_encoder.version() is None
    with caplog.at_level(logging.WARNING, logger="analysis.engine.classifiers.hf"):
        forced = load_classifier(tiny_model_dir, dtype="ort-int8", onnx_cache_dir=tmp_path)
    int8_here = "int8" in precision.candidate_dtypes(precision.read_cpu_features())
    assert forced.dtype == ("int8" if int8_here else "fp32") and forced._ort is None
    assert "ort-int8 cannot run here (onnxruntime (or onnx) is not installed)" in caplog.text
    auto = load_classifier(tiny_model_dir, dtype="auto", onnx_cache_dir=tmp_path)
    assert auto.precision_choice is not None
    assert not [d for d in auto.precision_choice.timings if d.startswith("ort")]


def test_a_failing_export_falls_back_to_torch_and_leaves_no_file(
    tiny_model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    long_stretch: np.ndarray,
) -> None:
    def broken_export(module: Any, args: Any, path: str, **kwargs: Any) -> None:
        Path(path).write_bytes(b"half a graph")  # a partial write, then the failure
        raise RuntimeError("exporter broke")

    monkeypatch.setattr(torch.onnx, "export", broken_export)
    with caplog.at_level(logging.WARNING, logger="analysis.engine.classifiers.hf"):
        forced = load_classifier(tiny_model_dir, dtype="ort-fp32", onnx_cache_dir=tmp_path)
        auto = load_classifier(tiny_model_dir, dtype="auto", onnx_cache_dir=tmp_path)
    assert forced.dtype == "fp32" and forced._ort is None
    assert "ort-fp32 cannot run here (RuntimeError: exporter broke); using torch fp32" in (
        caplog.text
    )
    assert auto.precision_choice is not None and auto._ort is None
    assert "ort-fp32 is no candidate for this model (RuntimeError: exporter broke)" in caplog.text
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]  # no partial graph, no temp file
    windows = _windows(16000 * 5)
    got = forced.predict_windows_model_proba(long_stretch[: 16000 * 5], windows)
    assert np.isfinite(got).all() and np.allclose(got.sum(axis=1), 1.0)


def test_a_model_the_ort_path_cannot_run_falls_back_to_torch(
    tiny_model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # What _ort_plan answers for an encoder it cannot split (no conv stack + transformer, an
    # adapter, a group norm after the first conv layer).
    monkeypatch.setattr(HFAudioClassifier, "_ort_plan", lambda self: None)
    with caplog.at_level(logging.WARNING, logger="analysis.engine.classifiers.hf"):
        classifier = load_classifier(tiny_model_dir, dtype="ort-fp32", onnx_cache_dir=tmp_path)
    assert classifier.dtype == "fp32" and classifier._ort is None
    assert "not a conv stack + transformer that runs in chunks" in caplog.text


def test_the_second_load_reuses_the_exported_graphs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, long_stretch: np.ndarray
) -> None:
    model_dir = build_tiny_model(tmp_path / "model")
    cache = tmp_path / "cache"
    first = load_classifier(model_dir, dtype="ort-int8", onnx_cache_dir=cache)
    assert first._ort is not None and first._ort.exported_s is not None
    graphs = sorted(p.name for p in cache.rglob("*.onnx"))
    assert graphs == [
        "features-fp32.onnx",
        "features-int8.onnx",
        "transformer-fp32.onnx",
        "transformer-int8.onnx",
    ]
    assert not list(model_dir.rglob("*.onnx"))  # never inside the model's own folder
    [folder] = [p for p in cache.iterdir() if p.is_dir()]
    assert folder.name.startswith(ort_encoder.model_digest(model_dir)[:20])
    assert f"ort{ort_encoder.version()}" in folder.name

    def no_export(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("exported again")

    monkeypatch.setattr(torch.onnx, "export", no_export)
    monkeypatch.setattr(ort_encoder, "_quantize", no_export)
    second = load_classifier(model_dir, dtype="ort-int8", onnx_cache_dir=cache)
    assert second._ort is not None and second._ort.exported_s is None
    windows = _windows(16000 * 8)
    audio = long_stretch[: 16000 * 8]
    assert np.array_equal(
        first.predict_windows_model_proba(audio, windows),
        second.predict_windows_model_proba(audio, windows),
    )
    # Other weights, other content: a graph of their own.
    other = build_tiny_model(tmp_path / "other", seed=1)
    monkeypatch.undo()
    load_classifier(other, dtype="ort-fp32", onnx_cache_dir=cache)
    assert len([p for p in cache.iterdir() if p.is_dir()]) == 2


def test_ort_runs_with_the_classifiers_thread_count(tiny_model_dir: Path, tmp_path: Path) -> None:
    classifier = load_classifier(tiny_model_dir, dtype="ort-fp32", onnx_cache_dir=tmp_path)
    assert classifier._ort is not None
    for session in (classifier._ort._features, classifier._ort._transformer):
        assert session.get_session_options().intra_op_num_threads == 1
