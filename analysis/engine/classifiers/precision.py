"""Which precision a Hugging Face checkpoint runs at on this CPU, chosen once per process.

Clinic servers are whatever the clinic owns, often CPUs without AVX-512 or bf16, and the right
precision differs by CPU (issue 17, measured with ``python -m
analysis.engine.benchmarks.throughput``): on a 2-core
AVX2-only machine bf16 took 78.7 s for a 20 s stretch that fp32 did in 2.50 s and int8 in
2.07 s, because without native bf16 instructions oneDNN emulates them; on CPUs with native
bf16 (AVX512-BF16, AMX) bf16 is the fastest. So the choice is made at run time:

- candidates come from the CPU's flags (``/proc/cpuinfo``): fp32 always; int8 (dynamic
  quantisation of Linear layers) where torch has an x86 quantised engine and the CPU has AVX2,
  which fbgemm needs; bf16 only with native support (``avx512_bf16`` or ``amx_bf16``);
- each candidate is timed on a short seeded probe (``PROBE_S`` of speech-like noise: one
  warm-up pass, then ``ROUNDS`` interleaved timed passes, the best of each counting, since
  other work on a shared machine comes and goes) when the model is loaded, once per worker
  process and model shape (``analysis.registry.active.load_version`` caches the loaded model). On a
  base-size wav2vec2 one pass takes a few hundred milliseconds, the whole choice a few
  seconds, logged as ``measured in``. The probe is 2 s, not shorter, because per-call
  overheads of the reduced precisions (casts, quantising activations) weigh more on very
  short inputs than on the 2-20 s stretches the pipeline encodes: on a 1 s probe bf16 looked
  no faster than fp32 on a machine where it is 1.3x faster on 10 s;
- the fastest candidate whose probabilities stay within ``PROBE_TOLERANCE`` of fp32 on the
  probe wins, if it beats fp32 by at least ``MIN_GAIN``; otherwise fp32, the reference;
  candidates within ``MIN_GAIN`` of the fastest count as a tie, won by the one closest to
  fp32 (bf16 before int8 where both are fast);
- the CPU flags, each time and the choice are logged.

ONNX Runtime. Where ``onnxruntime`` is installed (a dependency; ``auto`` only), ``ort-fp32``
and ``ort-int8`` (``analysis.engine.classifiers.ort_encoder``: the encoder exported once per
model into a cache, the same chunking and head) are timed in the same probe as the torch
precisions and win by the same rules (their fp32 answers are within 1e-7 of torch fp32, so
in a tie ``ort-fp32`` goes before torch int8 or bf16). Under an instruction-set cap they are
left out: ONNX Runtime's own kernels ignore the cap variables below.

``SER_HF_INFERENCE_DTYPE`` (``auto`` by default) overrides the choice with ``fp32``, ``bf16``,
``int8``, ``ort-fp32`` or ``ort-int8``, or ``auto-torch`` (the timed choice among the torch
precisions only); forcing bf16 on a CPU without native bf16 logs a warning, and an ``ort-*``
that cannot run falls back to torch with a warning.

Capped instruction sets. The kernel libraries can be told to use less than the CPU has:
oneDNN ``ONEDNN_MAX_CPU_ISA`` (or ``DNNL_MAX_CPU_ISA``), torch's own kernels
``ATEN_CPU_CAPABILITY``, MKL (fp32 matrix products) ``MKL_ENABLE_INSTRUCTIONS`` and fbgemm
(int8 Linear layers) ``FBGEMM_ENABLE_INSTRUCTIONS``. With all of them at AVX2 this machine
behaves like an AVX2-only CPU of the same cores (other caches and clock: an emulation, not the
real thing), which is how the AVX2-only figures of ``make bench`` are measured here. The flag
detection honours the most restrictive cap: a flag above it does not count, so bf16 is no
candidate under ``ONEDNN_MAX_CPU_ISA=AVX2`` on an AMX machine (oneDNN would emulate it).
"""

from __future__ import annotations

import functools
import logging
import os
import platform
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

PROBE_S = 2.0
ROUNDS = 2
PROBE_TOLERANCE = 0.02  # max abs probability difference from fp32 on the probe
MIN_GAIN = 1.1  # a reduced precision must be this much faster than fp32 to be chosen
# Candidates within TIE_BAND of the fastest are a tie, which the one closest to fp32 wins. The
# probe's best of ROUNDS passes moves by a few percent from one start to the next; int8 was
# 1.10-1.18x faster than bf16 at every probe length from 2 to 20 s on an AVX-512 + bf16 CPU
# (and 12 % faster over a 45-minute session), which a 1.1 band called a tie half the time.
TIE_BAND = 1.05
REPORTED_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16")

# Instruction-set levels, lowest first, and the level each decisive flag needs.
_LEVELS = ("pre-AVX2", "AVX2", "AVX2_VNNI", "AVX512", "AVX512_VNNI", "AVX512_BF16", "AMX")
_FLAG_LEVEL = {
    "avx2": "AVX2",
    "avx_vnni": "AVX2_VNNI",
    "avx512_vnni": "AVX512_VNNI",
    "avx512_bf16": "AVX512_BF16",
    "avx512_fp16": "AVX512_BF16",
}


def _level_needed(flag: str) -> int:
    if flag in _FLAG_LEVEL:
        return _LEVELS.index(_FLAG_LEVEL[flag])
    if flag.startswith("amx"):
        return _LEVELS.index("AMX")
    if flag.startswith("avx512"):
        return _LEVELS.index("AVX512")
    if flag.startswith("avx_vnni"):
        return _LEVELS.index("AVX2_VNNI")
    return 0


# What each cap variable's values mean as a level; values not listed (ALL, DEFAULT, newer ISAs)
# cap nothing this module decides on.
ISA_CAP_VARS: dict[str, dict[str, str]] = {
    "ONEDNN_MAX_CPU_ISA": {
        "SSE41": "pre-AVX2",
        "AVX": "pre-AVX2",
        "AVX2": "AVX2",
        "AVX2_VNNI": "AVX2_VNNI",
        "AVX2_VNNI_2": "AVX2_VNNI",
        "AVX512_CORE": "AVX512",
        "AVX512_CORE_VNNI": "AVX512_VNNI",
        "AVX512_CORE_BF16": "AVX512_BF16",
        "AVX512_CORE_FP16": "AVX512_BF16",
        "AVX10_1_512": "AVX512_BF16",
    },
    "ATEN_CPU_CAPABILITY": {"DEFAULT": "pre-AVX2", "AVX2": "AVX2"},
    "MKL_ENABLE_INSTRUCTIONS": {
        "SSE4_2": "pre-AVX2",
        "AVX": "pre-AVX2",
        "AVX2": "AVX2",
        "AVX2_E1": "AVX2_VNNI",
        "AVX512": "AVX512",
        "AVX512_E1": "AVX512_VNNI",
    },
    "FBGEMM_ENABLE_INSTRUCTIONS": {
        "AVX2": "AVX2",
        "AVX512": "AVX512",
        "AVX512_256": "AVX512",
        "AVX512_E1": "AVX512_VNNI",
    },
}
ISA_CAP_VARS["DNNL_MAX_CPU_ISA"] = ISA_CAP_VARS["ONEDNN_MAX_CPU_ISA"]
# ONEDNN_MAX_CPU_ISA=AVX2 and friends: what ``make bench``'s AVX2-only emulation sets.
AVX2_EMULATION = {
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "DNNL_MAX_CPU_ISA": "AVX2",
    "ATEN_CPU_CAPABILITY": "avx2",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    "FBGEMM_ENABLE_INSTRUCTIONS": "AVX2",
}


def isa_cap(environ: Mapping[str, str] | None = None) -> tuple[str, list[str]] | None:
    """(level, the settings that cap at it) for the most restrictive cap set; None without."""
    environ = os.environ if environ is None else environ
    found: list[tuple[int, str]] = []
    for var, levels in ISA_CAP_VARS.items():
        value = environ.get(var, "").strip()
        level = levels.get(value.upper())
        if level is not None:
            found.append((_LEVELS.index(level), f"{var}={value}"))
    if not found:
        return None
    lowest = min(index for index, _ in found)
    return _LEVELS[lowest], [setting for index, setting in found if index == lowest]


def _capped(flags: frozenset[str], level: str) -> frozenset[str]:
    """The flags a CPU capped at ``level`` would show."""
    top = _LEVELS.index(level)
    return frozenset(f for f in flags if _level_needed(f) <= top)


@dataclass(frozen=True)
class CpuFeatures:
    """The instruction-set flags that decide which kernels are fast here."""

    flags: frozenset[str]
    model: str = ""
    # Set when cap variables (ISA_CAP_VARS) hide flags: the level and the settings doing it.
    capped_at: str = ""
    capped_by: tuple[str, ...] = ()
    hidden: frozenset[str] = frozenset()  # the CPU's decisive flags the cap hides

    @property
    def native_bf16(self) -> bool:
        return bool({"avx512_bf16", "amx_bf16"} & self.flags)

    @property
    def avx2(self) -> bool:
        return "avx2" in self.flags

    @property
    def avx512(self) -> bool:
        return "avx512f" in self.flags

    @property
    def vnni(self) -> bool:
        return bool({"avx512_vnni", "avx_vnni"} & self.flags)

    def describe(self) -> str:
        shown = " ".join(f for f in REPORTED_FLAGS if f in self.flags) or "none of these: "
        if shown.startswith("none"):
            shown += " ".join(REPORTED_FLAGS)
        described = f"{self.model or platform.machine()}: {shown}"
        if self.capped_at:
            hidden = " ".join(f for f in REPORTED_FLAGS if f in self.hidden) or "nothing decisive"
            described += (
                f" (instruction sets capped at {self.capped_at} by {', '.join(self.capped_by)}: "
                f"an emulated {self.capped_at} CPU, hiding {hidden})"
            )
        return described


def read_cpu_features(
    cpuinfo: Path | str = "/proc/cpuinfo", environ: Mapping[str, str] | None = None
) -> CpuFeatures:
    """Flags of the first CPU in ``cpuinfo`` less those above an instruction-set cap set in
    ``environ`` (the process environment by default, ``isa_cap``); an empty set where the file
    cannot be read."""
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return CpuFeatures(frozenset())
    flags: frozenset[str] = frozenset()
    model = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "flags" and not flags:
            flags = frozenset(value.split())
        elif key == "model name" and not model:
            model = value.strip()
    cap = isa_cap(environ)
    if cap is None:
        return CpuFeatures(flags, model)
    level, settings = cap
    kept = _capped(flags, level)
    return CpuFeatures(kept, model, level, tuple(settings), flags - kept)


def candidate_dtypes(features: CpuFeatures, *, onnx: bool = False) -> list[str]:
    """The precisions worth timing on this CPU, fp32 (the reference) first.

    ``onnx`` (ONNX Runtime installed and allowed) adds ``ort-fp32`` and, with AVX2, ``ort-int8``,
    except under an instruction-set cap: ONNX Runtime's kernels ignore the cap variables, so
    its timings would be of the full CPU, not of the emulated one the cap stands for."""
    import torch

    candidates = ["fp32"]
    engines = set(torch.backends.quantized.supported_engines)
    if features.avx2 and {"x86", "fbgemm"} & engines:
        candidates.append("int8")
    if features.native_bf16:
        candidates.append("bf16")
    if onnx and not features.capped_at:
        candidates.append("ort-fp32")
        if features.avx2:
            candidates.append("ort-int8")
    return candidates


def probe_audio(seconds: float = PROBE_S, seed: int = 0) -> np.ndarray:
    """Seeded speech-like noise: low-passed noise under a 4 Hz syllable envelope."""
    rng = np.random.default_rng(seed)
    n = int(seconds * 16000)
    noise = np.convolve(rng.standard_normal(n), np.ones(8) / 8, mode="same")
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4.0 * np.arange(n) / 16000)
    return (0.1 * noise * envelope).astype(np.float32)


@dataclass
class Choice:
    dtype: str
    features: CpuFeatures
    timings: dict[str, float] = field(default_factory=dict)  # seconds per probe pass
    diffs: dict[str, float] = field(default_factory=dict)  # max |p - p_fp32| on the probe
    measure_s: float = 0.0  # what the measurement itself cost
    reason: str = ""

    def describe(self) -> str:
        parts = [
            f"{d} {self.timings[d] * 1000:.0f} ms (|dp| {self.diffs.get(d, 0.0):.1e})"
            for d in self.timings
        ]
        return (
            f"precision {self.dtype} ({self.reason}); CPU {self.features.describe()}; probe "
            f"{PROBE_S:g} s: {', '.join(parts)}; measured in {self.measure_s:.2f} s"
        )


# What one candidate answers on the probe: model-label probabilities, one row per window.
Runner = Callable[[np.ndarray], np.ndarray]


def fastest_times(
    runs: Mapping[str, Callable[[], object]], rounds: int = ROUNDS
) -> dict[str, float]:
    """The best of ``rounds`` timed calls of each run, seconds; the runs take turns within each
    round, so a passing load spike does not fall on one of them alone. Warm them up first."""
    timings: dict[str, float] = {}
    for _ in range(rounds):
        for name, run in runs.items():
            tick = time.perf_counter()
            run()
            elapsed = time.perf_counter() - tick
            timings[name] = min(timings.get(name, elapsed), elapsed)
    return timings


def choose(
    runners: dict[str, Runner], features: CpuFeatures, *, probe: np.ndarray | None = None
) -> Choice:
    """Time each runner (fp32 first, the reference) on the probe and pick one."""
    started = time.perf_counter()
    probe = probe_audio() if probe is None else probe
    choice = Choice(dtype="fp32", features=features)
    reference: np.ndarray | None = None
    for dtype, run in runners.items():
        probs = run(probe)  # warm-up: oneDNN builds its kernels on the first call
        if reference is None:
            reference = probs
        choice.diffs[dtype] = float(np.abs(probs - reference).max())
    choice.timings = fastest_times({d: functools.partial(run, probe) for d, run in runners.items()})
    fp32 = choice.timings["fp32"]
    allowed = [d for d in choice.timings if choice.diffs[d] <= PROBE_TOLERANCE]
    fastest = min(choice.timings[d] for d in allowed)
    # Candidates within TIE_BAND of the fastest are a tie on a probe this short (int8 and
    # bf16 came out 85 vs 83 ms on the AMX machine, 3.93 vs 3.20 s on a 20 s stretch): the
    # one closest to fp32 wins the tie.
    near = [d for d in allowed if choice.timings[d] <= fastest * TIE_BAND]
    best = min(near, key=lambda d: (choice.diffs[d], choice.timings[d]))
    if best != "fp32" and fp32 / choice.timings[best] >= MIN_GAIN:
        choice.dtype = best
        choice.reason = f"{fp32 / choice.timings[best]:.2f}x fp32 on the probe"
    else:
        choice.reason = f"no candidate {MIN_GAIN:g}x faster than fp32 within tolerance"
    rejected = [d for d in choice.timings if d not in allowed]
    if rejected:
        choice.reason += f"; {', '.join(rejected)} off by more than {PROBE_TOLERANCE:g}"
    choice.measure_s = time.perf_counter() - started
    logger.info("Hugging Face inference: %s", choice.describe())
    return choice


def warn_if_emulated(dtype: str, features: CpuFeatures) -> None:
    if dtype == "bf16" and not features.native_bf16:
        logger.warning(
            "bf16 inference was asked for, but this CPU has no native bf16 (%s): expect it to "
            "be many times slower than fp32. Set SER_HF_INFERENCE_DTYPE=auto.",
            features.describe(),
        )


def startup_report(
    setting: str, features: CpuFeatures | None = None, onnx_version: str | None = None
) -> str:
    """What a worker logs when it starts: the CPU (with any instruction-set cap), the
    precisions worth timing and how the choice will be made under ``setting``
    (``SER_HF_INFERENCE_DTYPE``), and whether ONNX Runtime (``onnx_version``, None when it is
    not installed) takes part. The timed choice itself is logged when a model loads."""
    features = read_cpu_features() if features is None else features
    candidates = candidate_dtypes(features, onnx=setting == "auto" and onnx_version is not None)
    if setting in ("auto", "auto-torch"):
        how = (
            f"{setting}: the fastest of {', '.join(candidates)} on a {PROBE_S:g} s probe, timed "
            "once per process and model shape when a model loads"
        )
    else:
        how = f"{setting}, set by SER_HF_INFERENCE_DTYPE"
        if setting == "bf16" and not features.native_bf16:
            how += " (no native bf16 here: emulated, many times slower than fp32)"
    if onnx_version is None:
        ort = "ONNX Runtime not installed"
    elif setting == "auto-torch":
        ort = f"ONNX Runtime {onnx_version} left out (auto-torch)"
    elif features.capped_at and setting == "auto":
        ort = f"ONNX Runtime {onnx_version} left out: it ignores the instruction-set cap"
    else:
        ort = f"ONNX Runtime {onnx_version}"
    return f"CPU {features.describe()}; precision candidates {', '.join(candidates)}; {how}; {ort}"
