"""HFAudioClassifier on tiny checkpoints built from a config and loaded like real ones.

Measured tolerances (tiny 2-layer models with sharpened heads, 3.3 s of espeak speech, 3 s
windows at a 1 s hop; max abs difference of model-label probabilities):

- one window spanning the stretch vs the model's own forward: <= 1e-7 (the head is exact)
- shared stretch encoding vs each window on its own: 0.004-0.008 (attention context)
- chunked (1.5 s chunks, 0.25 s context) vs one chunk: 0.015 (wav2vec2) to 0.09 (WavLM)
- the default chunking (20 s passes keeping their centre 15 s, 2.5 s of context each side)
  vs each 56 s stretch encoded whole, 54 windows: 2e-4 (wav2vec2, also with the weighted
  layer sum) to 1.3e-3 (HuBERT), top label the same on every window. Before the conv
  features were computed over the whole stretch (the first conv layer's group norm then saw
  each chunk's statistics) the same comparison gave 0.04-0.11 and 91-98 % agreement.
- bf16 vs fp32: <= 0.004; int8 (dynamic int8 Linear layers, bf16 conv encoder) vs fp32:
  <= 0.009

On the random base-size wav2vec2 of ``analysis.engine.benchmarks.throughput`` (near-uniform
outputs, so smaller
numbers): bf16 1.6e-4, int8 8.4e-4, shared vs per-window 1.0e-2 with the same top label; two
60 s RAVDESS stretches chunked vs whole 4.2e-3 (fp32), same top label on all 116 windows.

The assertions use about twice the measured values.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from analysis.engine.classifiers.base import EmotionClassifier, ModelFormatError
from analysis.engine.classifiers.base import load_classifier as _load_classifier
from analysis.engine.classifiers.hf import HFAudioClassifier
from analysis.engine.labels import CANONICAL_LABELS, LABEL_INDEX
from tests.analysis.conftest import Conversation, make_conversation
from tests.tiny_models import build_tiny_model


@pytest.fixture(scope="module")
def stretch(conversation: Conversation) -> np.ndarray:
    start, end, _ = conversation.turns[0]
    return conversation.audio[int(start * 16000) : int(end * 16000)]


def load_classifier(model_dir: Path, **options: object) -> HFAudioClassifier:
    """One thread: tiny models on a shared 2-core machine are slower with more."""
    options.setdefault("threads", 1)
    classifier = _load_classifier(model_dir, **options)
    assert isinstance(classifier, HFAudioClassifier)
    return classifier


def _windows(n: int, window: int = 48000, hop: int = 16000) -> list[tuple[int, int]]:
    starts = list(range(0, max(n - window, 0) + 1, hop))
    return [(s, min(s + window, n)) for s in starts]


def test_load_classifier_reads_the_manifest_and_returns_the_hf_implementation(
    tiny_classifier: HFAudioClassifier,
) -> None:
    assert isinstance(tiny_classifier, HFAudioClassifier)
    assert isinstance(tiny_classifier, EmotionClassifier)
    assert tiny_classifier.sample_rate == 16000
    assert tiny_classifier.frame_step == 320


def test_probabilities_are_folded_onto_canonical_labels(
    tiny_classifier: HFAudioClassifier, stretch: np.ndarray
) -> None:
    probs = tiny_classifier.predict_proba([stretch, stretch[:16000], stretch[:200]])
    assert probs.shape == (3, len(CANONICAL_LABELS))
    assert np.allclose(probs.sum(axis=1), 1.0)
    # The tiny model only knows neutral/happy/angry/sad (and one ignored label).
    unknown = [LABEL_INDEX[label] for label in ("calm", "fearful", "disgust", "surprised")]
    assert np.all(probs[:, unknown] == 0)


def test_predict_proba_batches_without_changing_answers(
    tiny_classifier: HFAudioClassifier, stretch: np.ndarray
) -> None:
    clips = [stretch[i * 8000 : i * 8000 + 16000] for i in range(4)] + [stretch[:12345]]
    batched = tiny_classifier.predict_model_proba(clips)
    one_by_one = np.concatenate([tiny_classifier.predict_model_proba([c]) for c in clips])
    assert np.abs(batched - one_by_one).max() < 1e-5


def test_one_window_over_the_whole_stretch_reproduces_the_models_own_head(
    tiny_model_dir: Path, stretch: np.ndarray
) -> None:
    from transformers import AutoModelForAudioClassification

    classifier = load_classifier(tiny_model_dir)
    n = stretch.size // 320 * 320  # frame-aligned
    pooled = classifier.predict_windows_model_proba(stretch[:n], [(0, n)])
    model = AutoModelForAudioClassification.from_pretrained(tiny_model_dir).eval()
    audio = stretch[:n]
    normalized = (audio - audio.mean()) / np.sqrt(audio.var() + 1e-7)
    with torch.inference_mode():
        logits = model(torch.from_numpy(normalized.astype(np.float32))[None]).logits
    reference = torch.softmax(logits, dim=-1).numpy()
    assert np.abs(pooled - reference).max() < 1e-5


@pytest.mark.parametrize(
    ("arch", "weighted"),
    [("wav2vec2", False), ("wav2vec2", True), ("hubert", False), ("wavlm", False)],
)
def test_shared_encoding_matches_per_window_inference_within_tolerance(
    arch: str, weighted: bool, tmp_path: Path, stretch: np.ndarray
) -> None:
    classifier = load_classifier(build_tiny_model(tmp_path, arch=arch, weighted_layer_sum=weighted))
    windows = _windows(stretch.size)
    whole = classifier.predict_windows_model_proba(stretch, [(0, stretch.size)])
    exact = classifier.predict_model_proba([stretch])
    assert np.abs(whole - exact).max() < 1e-5

    shared = classifier.predict_windows_model_proba(stretch, windows)
    separate = classifier.predict_windows_model_proba(stretch, windows, context="window")
    assert (
        np.abs(separate - classifier.predict_model_proba([stretch[s:e] for s, e in windows])).max()
        < 1e-6
    )
    assert np.abs(shared - separate).max() < 0.02
    assert (shared.argmax(axis=1) == separate.argmax(axis=1)).all()


def test_long_stretches_are_encoded_in_overlapping_chunks(
    tiny_model_dir: Path, stretch: np.ndarray
) -> None:
    classifier = load_classifier(tiny_model_dir)
    windows = _windows(stretch.size)
    one_chunk = classifier.predict_windows_model_proba(stretch, windows)
    chunked = load_classifier(tiny_model_dir, chunk_s=1.5, context_s=0.25)
    assert np.abs(chunked.predict_windows_model_proba(stretch, windows) - one_chunk).max() < 0.04


@pytest.fixture(scope="module")
def long_stretch() -> np.ndarray:
    """56 s of two espeak voices with short pauses: longer than one chunk, as a VAD stretch
    cut at ``EmotionParams.max_stretch_s`` (60 s) can be."""
    return make_conversation(turns=16, pause_s=0.2).audio[: 60 * 16000]


@pytest.mark.parametrize(
    ("arch", "weighted"), [("wav2vec2", False), ("wav2vec2", True), ("wavlm", False)]
)
def test_chunked_encoding_of_a_long_stretch_matches_encoding_it_whole(
    arch: str, weighted: bool, tmp_path: Path, long_stretch: np.ndarray
) -> None:
    model_dir = build_tiny_model(tmp_path, arch=arch, weighted_layer_sum=weighted)
    windows = _windows(long_stretch.size)
    chunked = load_classifier(model_dir)  # default chunking
    assert chunked.chunk_s is not None and long_stretch.size > 16000 * chunked.chunk_s
    whole = load_classifier(model_dir, chunk_s=None)
    got = chunked.predict_windows_model_proba(long_stretch, windows)
    reference = whole.predict_windows_model_proba(long_stretch, windows)
    assert len(windows) >= 50
    assert np.abs(got - reference).max() < 0.003
    assert (got.argmax(axis=1) == reference.argmax(axis=1)).mean() >= 0.99


@pytest.mark.parametrize(
    ("arch", "weighted"),
    [("wav2vec2", False), ("wav2vec2", True), ("hubert", False), ("wavlm", False)],
)
def test_stretches_sharing_transformer_batches_get_the_answers_of_one_at_a_time(
    arch: str, weighted: bool, tmp_path: Path, conversation: Conversation, long_stretch: np.ndarray
) -> None:
    classifier = load_classifier(build_tiny_model(tmp_path, arch=arch, weighted_layer_sum=weighted))
    stretches = [
        conversation.audio[int(start * 16000) : int(end * 16000)]
        for start, end, _ in conversation.turns
    ]
    stretches += [stretches[0][:8000], stretches[1][:300], long_stretch[: 35 * 16000]]
    items = [(audio, _windows(audio.size)) for audio in stretches]
    together = classifier.predict_stretches_model_proba(items)
    assert len(together) == len(items)
    for (audio, windows), got in zip(items, together, strict=True):
        alone = classifier.predict_windows_model_proba(audio, windows)
        assert got.shape == alone.shape == (len(windows), len(classifier.labels))
        assert np.abs(got - alone).max() < 1e-5
    canonical = classifier.predict_stretches(items)
    assert canonical[0].shape == (len(items[0][1]), len(CANONICAL_LABELS))


@pytest.mark.parametrize(("dtype", "tolerance"), [("bf16", 0.01), ("int8", 0.03)])
def test_reduced_precision_stays_close_to_fp32(
    dtype: str, tolerance: float, tiny_model_dir: Path, stretch: np.ndarray
) -> None:
    windows = _windows(stretch.size)
    reference = load_classifier(tiny_model_dir).predict_windows_model_proba(stretch, windows)
    fast = load_classifier(tiny_model_dir, dtype=dtype, threads=1)
    assert np.abs(fast.predict_windows_model_proba(stretch, windows) - reference).max() < tolerance


def test_int8_falls_back_for_architectures_that_read_attention_weights(
    tmp_path: Path, stretch: np.ndarray
) -> None:
    classifier = load_classifier(build_tiny_model(tmp_path, arch="wavlm"), dtype="int8")
    assert np.isfinite(classifier.predict_windows(stretch, _windows(stretch.size))).all()


def test_threads_option_does_not_leak_into_the_process(
    tiny_model_dir: Path, stretch: np.ndarray
) -> None:
    before = torch.get_num_threads()
    load_classifier(tiny_model_dir, threads=1).predict_windows(stretch, [(0, 16000)])
    assert torch.get_num_threads() == before


def test_windows_shorter_than_one_frame_still_get_an_answer(
    tiny_classifier: HFAudioClassifier, stretch: np.ndarray
) -> None:
    probs = tiny_classifier.predict_windows(stretch, [(0, 100), (stretch.size - 50, stretch.size)])
    assert probs.shape == (2, 8) and np.allclose(probs.sum(axis=1), 1.0)
    assert tiny_classifier.predict_windows(stretch, []).shape == (0, 8)


def test_auto_precision_picks_a_candidate_of_this_cpu_and_stays_close_to_fp32(
    tiny_model_dir: Path, stretch: np.ndarray, caplog: pytest.LogCaptureFixture
) -> None:
    from analysis.engine.classifiers import hf, ort_encoder, precision

    hf._chosen.clear()  # measure here, not reuse a choice made by an earlier test
    with caplog.at_level("INFO", logger="analysis.engine.classifiers.precision"):
        auto = load_classifier(tiny_model_dir, dtype="auto")
    choice = auto.precision_choice
    assert choice is not None
    candidates = precision.candidate_dtypes(
        precision.read_cpu_features(), onnx=ort_encoder.version() is not None
    )
    assert list(choice.timings) == candidates
    assert auto.dtype == choice.dtype and auto.dtype in candidates
    assert choice.diffs[auto.dtype] <= precision.PROBE_TOLERANCE
    assert "Hugging Face inference: precision" in caplog.text
    windows = _windows(stretch.size)
    reference = load_classifier(tiny_model_dir).predict_windows_model_proba(stretch, windows)
    assert np.abs(auto.predict_windows_model_proba(stretch, windows) - reference).max() < 0.03
    # A second load of the same model shape reuses the choice instead of measuring again.
    again = load_classifier(tiny_model_dir, dtype="auto")
    assert again.precision_choice is choice and again.dtype == auto.dtype


def test_unknown_dtype_is_refused(tiny_model_dir: Path) -> None:
    with pytest.raises(ValueError, match="dtype"):
        load_classifier(tiny_model_dir, dtype="fp8")


def test_manifest_label_count_must_match_the_model(tiny_model_dir: Path, tmp_path: Path) -> None:
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    manifest = json.loads((broken / "ser_model.json").read_text())
    manifest["labels"] = manifest["labels"][:3]
    manifest["label_map"] = {k: manifest["label_map"][k] for k in manifest["labels"]}
    (broken / "ser_model.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFormatError, match="labels"):
        load_classifier(broken)


def test_directory_without_weights_is_a_model_format_error(tmp_path: Path) -> None:
    from analysis.engine.classifiers.base import ModelManifest

    ModelManifest(
        kind="hf_audio_classification",
        name="empty",
        version="1",
        labels=["neu"],
        label_map={"neu": "neutral"},
    ).write(tmp_path)
    with pytest.raises(ModelFormatError):
        load_classifier(tmp_path)


def test_saved_feature_extractor_settings_are_honoured(
    tiny_model_dir: Path, tmp_path: Path, stretch: np.ndarray
) -> None:
    import shutil

    from transformers import Wav2Vec2FeatureExtractor

    raw = tmp_path / "raw"
    shutil.copytree(tiny_model_dir, raw)
    Wav2Vec2FeatureExtractor(do_normalize=False).save_pretrained(raw)
    classifier = load_classifier(raw)
    assert classifier.do_normalize is False
    quiet = stretch[:32000] * 0.01
    loud = stretch[:32000]
    # Without normalisation the level matters; with it (default) it does not.
    assert not np.allclose(classifier.predict_proba([quiet]), classifier.predict_proba([loud]))
    default = load_classifier(tiny_model_dir)
    assert np.allclose(default.predict_proba([quiet]), default.predict_proba([loud]), atol=1e-4)


@pytest.mark.parametrize("bias", [False, True])
def test_conv_as_matmul_computes_the_convolution_it_replaces(bias: bool) -> None:
    from analysis.engine.classifiers.hf import _ConvAsMatmul

    torch.manual_seed(0)
    conv = torch.nn.Conv1d(8, 6, kernel_size=3, stride=2, bias=bias)
    replacement = _ConvAsMatmul(conv)
    replacement.TILE = 5  # several tiles, the last one partial
    x = torch.randn(2, 8, 37)
    with torch.inference_mode():
        expected = conv(x)
        got = replacement(x)
    assert got.shape == expected.shape == (2, 6, 18)
    assert (got - expected).abs().max() < 1e-5


@pytest.mark.parametrize("arch", ["wav2vec2", "wavlm"])
def test_long_stretches_go_through_the_conv_stack_in_tiles_with_the_same_features(
    arch: str, tmp_path: Path, long_stretch: np.ndarray
) -> None:
    from analysis.engine.classifiers import hf

    classifier = load_classifier(build_tiny_model(tmp_path, arch=arch))
    audio = classifier._normalize(long_stretch)
    assert classifier._frames_for(audio.size) > 2 * hf._CONV_TILE_FRAMES  # tiled
    x = torch.from_numpy(audio)[None]
    with torch.inference_mode():
        tiled = classifier._conv_features(x)
        whole = classifier._encoder.feature_extractor(x).transpose(1, 2)
    assert tiled.shape == whole.shape
    assert (tiled - whole).abs().max() < 1e-4 * max(whole.abs().max().item(), 1.0)


def _conv_dtype(model: Any) -> torch.dtype:
    encoder = getattr(model, model.base_model_prefix)
    return next(encoder.feature_extractor.parameters()).dtype


def test_int8_runs_the_conv_encoder_in_bf16_only_where_it_was_timed_faster(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import copy
    import logging

    from analysis.engine.classifiers import hf

    timings: dict[str, tuple[float, float]] = {}
    monkeypatch.setattr(hf, "_bf16_convs", timings)
    model = load_classifier(tiny_model_dir).model
    convs = getattr(model, model.base_model_prefix).feature_extractor
    with caplog.at_level(logging.INFO, logger=hf.__name__):
        faster = hf._bf16_convs_pay(convs, model.config)
        again = hf._bf16_convs_pay(convs, model.config)
    lines = [r.getMessage() for r in caplog.records if "conv feature encoder" in r.getMessage()]
    assert again == faster
    if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        assert faster is False
        assert lines == []
        return
    assert len(lines) == 1  # timed once, then remembered
    ((fp32_s, bf16_s),) = timings.values()
    assert faster == (bf16_s < fp32_s)
    assert lines[0].startswith(f"int8: conv feature encoder in {'bf16' if faster else 'fp32'}")
    # What int8 then builds follows the timings, either way.
    (key,) = timings
    timings[key] = (1.0, 2.0)  # bf16 slower
    assert _conv_dtype(hf._quantize_int8(copy.deepcopy(model), bf16_convs=True)) == torch.float32
    timings[key] = (2.0, 1.0)  # bf16 faster
    assert _conv_dtype(hf._quantize_int8(copy.deepcopy(model), bf16_convs=True)) == torch.bfloat16
    assert _conv_dtype(hf._quantize_int8(copy.deepcopy(model), bf16_convs=False)) == torch.float32
