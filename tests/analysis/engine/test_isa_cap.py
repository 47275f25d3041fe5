"""Instruction-set caps (ONEDNN_MAX_CPU_ISA and friends) in the precision choice: an emulated
AVX2-only CPU must not get bf16, and the cap is said wherever the CPU is described."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from analysis.engine.classifiers import hf, precision
from analysis.engine.classifiers.base import load_classifier
from analysis.engine.classifiers.hf import HFAudioClassifier
from tests.tiny_models import build_tiny_model

AMX = (
    "fpu sse sse2 ssse3 sse4_1 sse4_2 fma avx f16c avx2 bmi1 bmi2 avx512f avx512dq avx512cd "
    "avx512bw avx512vl avx512_vnni avx_vnni avx512_bf16 amx_bf16 amx_tile amx_int8"
)
CAP_VARS = tuple(precision.ISA_CAP_VARS)


def _cpuinfo(tmp_path: Path) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nmodel name\t: Test AMX CPU\nflags\t\t: {AMX}\n")
    return path


@pytest.mark.parametrize(
    ("environ", "candidates", "level"),
    [
        ({}, ["fp32", "int8", "bf16"], ""),
        ({"ONEDNN_MAX_CPU_ISA": "AVX2"}, ["fp32", "int8"], "AVX2"),
        ({"DNNL_MAX_CPU_ISA": "avx2"}, ["fp32", "int8"], "AVX2"),
        ({"ATEN_CPU_CAPABILITY": "avx2"}, ["fp32", "int8"], "AVX2"),
        ({"FBGEMM_ENABLE_INSTRUCTIONS": "AVX2"}, ["fp32", "int8"], "AVX2"),
        ({"ATEN_CPU_CAPABILITY": "default"}, ["fp32"], "pre-AVX2"),
        ({"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_VNNI"}, ["fp32", "int8"], "AVX512_VNNI"),
        ({"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_BF16"}, ["fp32", "int8", "bf16"], "AVX512_BF16"),
        # ALL, DEFAULT and unknown values cap nothing.
        ({"ONEDNN_MAX_CPU_ISA": "ALL", "MKL_ENABLE_INSTRUCTIONS": "nonsense"}, None, ""),
        # The most restrictive of several caps counts.
        (
            {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_BF16", "MKL_ENABLE_INSTRUCTIONS": "AVX2"},
            ["fp32", "int8"],
            "AVX2",
        ),
    ],
)
def test_a_capped_instruction_set_hides_the_flags_above_it(
    environ: dict[str, str], candidates: list[str] | None, level: str, tmp_path: Path
) -> None:
    features = precision.read_cpu_features(_cpuinfo(tmp_path), environ=environ)
    assert precision.candidate_dtypes(features) == (candidates or ["fp32", "int8", "bf16"])
    assert features.capped_at == level
    if level:
        assert set(features.capped_by) <= {f"{k}={v}" for k, v in environ.items()}
        assert f"an emulated {level} CPU" in features.describe()
        assert features.hidden and not features.hidden & features.flags
    else:
        assert features.flags == frozenset(AMX.split())
        assert "capped" not in features.describe()


def test_the_avx2_emulation_settings_cap_at_avx2(tmp_path: Path) -> None:
    features = precision.read_cpu_features(_cpuinfo(tmp_path), environ=precision.AVX2_EMULATION)
    assert features.capped_at == "AVX2"
    assert len(features.capped_by) == len(precision.AVX2_EMULATION)
    assert not features.native_bf16 and not features.avx512 and not features.vnni
    assert features.avx2


def test_auto_precision_never_times_bf16_under_an_avx2_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """On this machine (AMX) bf16 is a candidate; capped at AVX2 it is neither timed nor
    chosen, and the logged choice names the cap."""
    for var in CAP_VARS:
        monkeypatch.delenv(var, raising=False)
    cpuinfo = _cpuinfo(tmp_path)
    read = precision.read_cpu_features  # the AMX flags whatever machine runs the test
    monkeypatch.setattr(precision, "read_cpu_features", lambda: read(cpuinfo))
    monkeypatch.setattr(hf, "_chosen", {})
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    model = build_tiny_model(tmp_path / "m")
    with caplog.at_level(logging.INFO, logger="analysis.engine.classifiers.precision"):
        classifier = load_classifier(model, dtype="auto", threads=1)
    assert isinstance(classifier, HFAudioClassifier)
    choice = classifier.precision_choice
    assert choice is not None
    assert set(choice.timings) == {"fp32", "int8"}
    assert choice.dtype in ("fp32", "int8")
    assert "capped at AVX2 by ONEDNN_MAX_CPU_ISA=AVX2" in caplog.text
