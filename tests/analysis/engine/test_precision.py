"""Run-time precision choice (analysis.engine.classifiers.precision) from CPU flags and a timed
probe."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.engine.classifiers import precision
from analysis.engine.classifiers.base import load_classifier
from analysis.engine.classifiers.hf import HFAudioClassifier
from tests.tiny_models import build_tiny_model

# First "flags" lines of /proc/cpuinfo, shortened: an AVX2-only desktop part, an AVX-512 server
# without bf16 (Skylake/Cascade Lake), a Sapphire Rapids server with AMX.
AVX2_ONLY = "fpu sse sse2 ssse3 sse4_1 sse4_2 fma avx f16c avx2 bmi1 bmi2"
AVX512_NO_BF16 = AVX2_ONLY + " avx512f avx512dq avx512cd avx512bw avx512vl avx512_vnni"
AMX = AVX512_NO_BF16 + " avx_vnni avx512_bf16 amx_bf16 amx_tile amx_int8"


def _cpuinfo(tmp_path: Path, flags: str) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(
        "processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: "
        f"{flags}\n\nprocessor\t: 1\nflags\t\t: fpu\n"
    )
    return path


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (AVX2_ONLY, ["fp32", "int8"]),
        (AVX512_NO_BF16, ["fp32", "int8"]),
        (AMX, ["fp32", "int8", "bf16"]),
        ("fpu sse sse2", ["fp32"]),
    ],
)
def test_bf16_is_a_candidate_only_with_native_support_and_int8_needs_avx2(
    flags: str, expected: list[str], tmp_path: Path
) -> None:
    features = precision.read_cpu_features(_cpuinfo(tmp_path, flags))
    assert features.model == "Test CPU"
    assert "fpu" in features.flags  # the first CPU's line, not the last one's
    assert precision.candidate_dtypes(features) == expected


def test_an_unreadable_cpuinfo_leaves_only_fp32(tmp_path: Path) -> None:
    features = precision.read_cpu_features(tmp_path / "missing")
    assert features.flags == frozenset()
    assert precision.candidate_dtypes(features) == ["fp32"]


def test_forcing_bf16_without_native_support_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="analysis.engine.classifiers.precision"):
        precision.warn_if_emulated("bf16", precision.read_cpu_features(_cpuinfo(tmp_path, AMX)))
        assert not caplog.records
        precision.warn_if_emulated(
            "bf16", precision.read_cpu_features(_cpuinfo(tmp_path, AVX2_ONLY))
        )
    assert "no native bf16" in caplog.text


def _runner(model_dir: Path, **options: object) -> precision.Runner:
    classifier = load_classifier(model_dir, threads=1, **options)
    assert isinstance(classifier, HFAudioClassifier)
    return lambda audio: classifier.predict_windows_model_proba(audio, [(0, audio.size)])


def test_a_candidate_whose_answers_differ_from_fp32_is_never_chosen(tmp_path: Path) -> None:
    reference = build_tiny_model(tmp_path / "a", seed=0)
    other = build_tiny_model(tmp_path / "b", seed=1)  # a different model: different answers
    features = precision.read_cpu_features()
    choice = precision.choose(
        {"fp32": _runner(reference), "int8": _runner(other, chunk_s=None)}, features
    )
    assert choice.diffs["int8"] > precision.PROBE_TOLERANCE
    assert choice.dtype == "fp32"
    assert "int8 off by more than" in choice.reason
    assert set(choice.timings) == {"fp32", "int8"} and min(choice.timings.values()) > 0


def test_the_probe_is_seeded_and_as_long_as_stated() -> None:
    probe = precision.probe_audio()
    assert probe.size == int(precision.PROBE_S * 16000)
    assert np.array_equal(probe, precision.probe_audio())
    assert 0.01 < float(np.sqrt(np.mean(probe**2))) < 0.2


class _Clock:
    """A stand-in for ``time.perf_counter`` that only moves when a fake runner says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _timed_choice(
    monkeypatch: pytest.MonkeyPatch, seconds: dict[str, float], diffs: dict[str, float]
) -> precision.Choice:
    """``choose`` over runners that take ``seconds`` each on the clock and answer fp32's
    probabilities moved by ``diffs``."""
    clock = _Clock()
    monkeypatch.setattr(precision.time, "perf_counter", clock)
    reference = np.full((2, 8), 1 / 8)

    def runner(dtype: str) -> precision.Runner:
        def run(audio: np.ndarray) -> np.ndarray:
            clock.now += seconds[dtype]
            return reference + diffs.get(dtype, 0.0)

        return run

    features = precision.read_cpu_features()
    return precision.choose({d: runner(d) for d in seconds}, features, probe=np.zeros(16000))


def test_a_candidate_faster_by_more_than_the_tie_band_wins_over_one_closer_to_fp32(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # int8 8 % faster than bf16 (as measured on an AVX-512 + bf16 CPU); bf16 is closer to fp32.
    choice = _timed_choice(
        monkeypatch, {"fp32": 0.300, "int8": 0.100, "bf16": 0.108}, {"int8": 9e-4, "bf16": 2e-4}
    )
    assert choice.timings == pytest.approx({"fp32": 0.300, "int8": 0.100, "bf16": 0.108})
    assert choice.dtype == "int8"
    assert choice.reason == "3.00x fp32 on the probe"


def test_within_the_tie_band_the_candidate_closest_to_fp32_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    choice = _timed_choice(
        monkeypatch, {"fp32": 0.300, "int8": 0.100, "bf16": 0.103}, {"int8": 9e-4, "bf16": 2e-4}
    )
    assert choice.dtype == "bf16"
    assert choice.reason == f"{0.300 / 0.103:.2f}x fp32 on the probe"


def test_a_candidate_must_still_beat_fp32_by_the_minimum_gain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    choice = _timed_choice(monkeypatch, {"fp32": 0.105, "int8": 0.100}, {"int8": 9e-4})
    assert choice.dtype == "fp32"
    assert choice.reason == "no candidate 1.1x faster than fp32 within tolerance"
