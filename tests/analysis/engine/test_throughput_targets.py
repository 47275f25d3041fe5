"""The throughput benchmark prints issue 17's targets next to the measured figures, with the
thresholds of the CPU kind it ran on (emulated or not)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from analysis.engine.benchmarks.throughput import Targets, _print_onnx, compare_onnx
from analysis.engine.classifiers import precision

AMX = "fpu sse sse2 avx avx2 fma avx512f avx512bw avx512_vnni avx_vnni avx512_bf16 amx_bf16"


def _features(tmp_path: Path, environ: dict[str, str]) -> precision.CpuFeatures:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: Test\nflags\t\t: {AMX}\n")
    return precision.read_cpu_features(cpuinfo, environ=environ)


def test_avx512_targets_are_8x_and_90_s(tmp_path: Path) -> None:
    features = _features(tmp_path, {})
    targets = Targets(avx512=features.avx512)
    targets.speedup, targets.session_s, targets.session_note = 8.4, 95.0, "measured"
    targets.label_moves = {"bf16 20 s": 0.0, "fp32 chunked 60 s": 0.05}
    lines = targets.lines(features)
    assert lines[0].startswith("targets (AVX-512; load avg ")
    assert lines[1] == "    speed-up over naive >= 8x: 8.4x MET"
    assert lines[2] == "    45-min session <= 90 s: 95 s (measured) NOT MET"
    assert lines[3].endswith("bf16 20 s: 0.0% MET")
    assert lines[4].endswith("fp32 chunked 60 s: 5.0% NOT MET")


def test_an_emulated_avx2_cpu_gets_the_avx2_targets_and_says_it_is_emulated(
    tmp_path: Path,
) -> None:
    features = _features(tmp_path, precision.AVX2_EMULATION)
    targets = Targets(avx512=features.avx512)
    targets.speedup, targets.session_s, targets.session_note = 6.5, 149.0, "extrapolated"
    lines = targets.lines(features)
    assert lines[0].startswith("targets (AVX2-only (emulated); ")
    assert lines[1] == "    speed-up over naive >= 6x: 6.5x MET"
    assert lines[2] == "    45-min session <= 150 s: 149 s (extrapolated) MET"


def test_without_onnxruntime_the_bench_says_so_instead_of_failing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if not installed
    result = compare_onnx(str(tmp_path / "no-model"), np.zeros(16000, np.float32), 1, "fp32")
    assert result["skipped"].startswith("onnx and onnxruntime are not installed")
    _print_onnx(result, _features(tmp_path, {}))
    assert (
        "onnxruntime: not timed, onnx and onnxruntime are not installed" in capsys.readouterr().out
    )
