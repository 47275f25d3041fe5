"""The throughput bench times ONNX Runtime among the precisions (where no instruction-set cap
is set) and says how many cores each pipeline stage kept busy."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from analysis.engine.benchmarks.throughput import _StageCpu, _stages, compare_dtypes
from analysis.engine.classifiers import hf, precision


@pytest.fixture(autouse=True)
def _fresh_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hf, "_chosen", {})
    for var in precision.ISA_CAP_VARS:
        monkeypatch.delenv(var, raising=False)


def _audio() -> np.ndarray:
    return precision.probe_audio(20.0, seed=3)


def test_the_precision_comparison_times_onnx_runtime_with_the_torch_precisions(
    tiny_model_dir: Path,
) -> None:
    result = compare_dtypes(str(tiny_model_dir), _audio(), 1, False)
    assert {"fp32", "ort-fp32", "ort-int8"} <= set(result["timings"])
    assert result["onnx"] == "ort-fp32, ort-int8 timed"
    assert result["quality"]["ort-fp32"]["max_abs_diff"] < 1e-5
    assert result["loads"]["ort-fp32"] > 0


def test_under_the_avx2_emulation_onnx_runtime_is_left_to_the_onnx_flag(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var, value in precision.AVX2_EMULATION.items():
        monkeypatch.setenv(var, value)
    result = compare_dtypes(str(tiny_model_dir), _audio(), 1, False)
    assert not [d for d in result["timings"] if d.startswith("ort")]
    assert result["onnx"].startswith("left out: the instruction-set cap")


def test_stage_cpu_adds_up_the_process_cpu_seconds_of_each_stage() -> None:
    cpu = _StageCpu()
    cpu("segmenting", 10)
    time.sleep(0.2)  # wall time without CPU
    cpu("segmenting", 12)  # the same stage again: no new entry
    cpu("emotion", 25)
    spin_until = time.process_time() + 0.2
    while time.process_time() < spin_until:  # one core busy
        pass
    cpu("done", 100)
    assert cpu.seconds["segmenting"] < 0.1
    assert 0.2 <= cpu.seconds["emotion"] < 0.5
    line = _stages({"segmenting": 0.2, "emotion": 0.2}, cpu.seconds)
    assert line.startswith(f"segmenting 0.2s ({cpu.seconds['segmenting']:.1f} cpu-s, 0.")
    assert f"emotion 0.2s ({cpu.seconds['emotion']:.1f} cpu-s, 1." in line
