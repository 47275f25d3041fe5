"""Throughput of the analysis pipeline against a naive baseline, on this machine's CPU.

    python -m analysis.engine.benchmarks.throughput [--minutes 5] [--data RAVDESS_DIR] [--model \
        DIR] [--full-minutes 45]
        [--threads N] [--dtype auto|auto-torch|fp32|bf16|int8|ort-fp32|ort-int8] \
        [--all-dtypes] [--long-stretches 2] \
        [--emulate-avx2] [--onnx]

Input: a conversation of ``--minutes`` built from RAVDESS clips when ``--data`` is given
(real speech, ~80 % of the time voiced), else a synthetic two-voice speech-like signal (which
silero scores as speech only about half the time, flattering any VAD-based pipeline; the
speech ratio is printed so the figures can be read honestly).

Measured, each in a fresh subprocess so peak memory (ru_maxrss) is per measurement:

(a) naive: ``transformers.pipeline("audio-classification")`` with a base-size wav2vec2
    (``Wav2Vec2Config()`` defaults, 8 labels, random weights), fp32, one 3 s window at a
    time at a 1 s hop over the whole recording. Its cost is linear in the number of windows,
    so only the first ``--naive-windows`` windows are timed and the rate is applied to all
    (said so in the output).
(b) portal: ``analyze_array`` end to end (VAD, speakers, emotion, summary) with the same
    model at the precision a worker would choose (``dtype="auto"``: CPU flags plus a short
    timed probe, ``analysis.engine.classifiers.precision``; its probe cost is part of "model load").
(c) portal with ``--model DIR`` (e.g. the shipped default model), same options.

Before (b) it prints the CPU's flags, then each precision's time on a 20 s stretch with its
ratio to fp32 and how far its window probabilities and top labels move from fp32 (bf16 only
where the CPU has native bf16, unless ``--all-dtypes``: emulated bf16 took 78.7 s for what
fp32 did in 2.5 s on an AVX2-only machine), the automatic choice, and chunked encoding of
long stretches against encoding them whole (``--long-stretches`` stretches of 60 s, 58
windows each): fp32 chunked vs fp32 whole, and the chosen precision chunked vs fp32 whole,
the combination the pipeline runs, with the time of each.

With ``--full-minutes 45`` the portal is also timed end to end on a real 45-minute input;
otherwise the 45-minute figure is extrapolated linearly from (b) and labelled as such.

``--emulate-avx2`` caps oneDNN, ATen, MKL and fbgemm at AVX2 (``precision.AVX2_EMULATION``) in
every measurement: an AVX2-only CPU emulated on this machine's cores (other caches and clock
than a real one; printed as emulated), with the precision choice seeing the capped flags.
ONNX Runtime (``ort-fp32``, ``ort-int8``: the classifier's encoder exported into a cache
shared by the measuring subprocesses, ``analysis.engine.classifiers.ort_encoder``) is among
the precisions timed and among the automatic choice's candidates wherever it is installed and
no instruction-set cap is set; ``--onnx`` also times it against torch fp32 and the chosen torch
precision (``compare_onnx``), which is where it is timed under ``--emulate-avx2``: ONNX
Runtime ignores the caps, so there its figures are full-CPU figures, labelled so. The portal's
stages are printed with the cores each kept busy on average (process CPU seconds over wall
seconds, ``_StageCpu``), which shows where cores sit idle. Last, issue 17's
targets are printed next to the measured figures (``Targets``): the speed-up over naive
(>= 8x with AVX-512, >= 6x without), the 45-minute session (<= 90 s / <= 150 s; measured or
extrapolated, said which) and the share of windows whose top label a precision or chunking
choice moved against fp32 whole-stretch encoding (<= 1 %).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

SAMPLE_RATE = 16000


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def build_input(minutes: float, data: Path | None, seed: int = 0) -> np.ndarray:
    from analysis.engine.benchmarks import synthetic

    seconds = minutes * 60.0
    if data is None:
        return synthetic.speechlike_conversation(seconds, seed=seed)
    clips = synthetic.list_clips(data)
    if not clips:
        raise SystemExit(f"No RAVDESS speech clips under {data}.")
    actors = sorted({c.actor for c in clips})
    pair = (actors[0], next(a for a in actors if a % 2 != actors[0] % 2))
    turns = int(seconds / 3.0) + 4
    conv = synthetic.build_conversation(clips, pair, turns=turns, seed=seed)
    audio = conv.audio[: int(seconds * SAMPLE_RATE)]
    if audio.size < seconds * SAMPLE_RATE:
        audio = np.pad(audio, (0, int(seconds * SAMPLE_RATE) - audio.size))
    return audio


def build_base_model(model_dir: Path) -> Path:
    """Base-size wav2vec2 with random weights, saved like a real checkpoint plus manifest."""
    import torch
    from transformers import (
        Wav2Vec2Config,
        Wav2Vec2FeatureExtractor,
        Wav2Vec2ForSequenceClassification,
    )
    from transformers.utils import logging as hf_logging

    from analysis.engine.classifiers.base import ModelManifest
    from analysis.engine.labels import CANONICAL_LABELS

    hf_logging.disable_progress_bar()
    torch.manual_seed(0)
    labels = list(CANONICAL_LABELS)
    config = Wav2Vec2Config()  # base size: 12 layers, 768 wide, 95 M parameters
    config.num_labels = len(labels)
    config.id2label = dict(enumerate(labels))
    config.label2id = {label: i for i, label in enumerate(labels)}
    Wav2Vec2ForSequenceClassification(config).save_pretrained(model_dir)
    Wav2Vec2FeatureExtractor().save_pretrained(model_dir)
    ModelManifest(
        kind="hf_audio_classification",
        name="bench-wav2vec2-base-random",
        version="0",
        labels=labels,
        label_map={label: label for label in labels},
        architecture="Wav2Vec2ForSequenceClassification",
    ).write(model_dir)
    return model_dir


def _windows(n_samples: int) -> list[tuple[int, int]]:
    window, hop = 3 * SAMPLE_RATE, SAMPLE_RATE
    return [(s, s + window) for s in range(0, max(n_samples - window, 0) + 1, hop)]


def run_naive(audio: np.ndarray, model_dir: str, max_windows: int) -> dict[str, Any]:
    from transformers import pipeline
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    classify = pipeline("audio-classification", model=model_dir, device="cpu")
    windows = _windows(audio.size)
    timed = windows[:max_windows]
    classify(audio[: 3 * SAMPLE_RATE], top_k=None)  # warm-up, as a server would be
    started = time.perf_counter()
    for s, e in timed:
        classify(audio[s:e], top_k=None)
    per_window = (time.perf_counter() - started) / len(timed)
    seconds = per_window * len(windows)
    return {
        "seconds": seconds,
        "timed_windows": len(timed),
        "windows": len(windows),
        "extrapolated": len(timed) < len(windows),
        "peak_mb": _peak_mb(),
    }


def _agreement(probs: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    return {
        "max_abs_diff": float(np.abs(probs - reference).max()),
        "top_label_agreement": float((probs.argmax(axis=1) == reference.argmax(axis=1)).mean()),
    }


def compare_dtypes(
    model_dir: str, audio: np.ndarray, threads: int | None, all_dtypes: bool
) -> dict[str, Any]:
    """Each precision on one 20 s stretch against fp32: time, ratio, probabilities, labels."""
    from analysis.engine.classifiers import ort_encoder, precision
    from analysis.engine.classifiers.base import load_classifier

    features = precision.read_cpu_features()
    onnx = ort_encoder.version() is not None
    # The candidates the portal's "auto" times here, ONNX Runtime's included where installed
    # (not under an instruction-set cap, which it ignores: --onnx times it there, labelled).
    dtypes = precision.candidate_dtypes(features, onnx=onnx)
    if all_dtypes:
        dtypes = ["fp32", "int8", "bf16", *(d for d in dtypes if d.startswith("ort"))]
    stretch = audio[: 20 * SAMPLE_RATE]
    windows = _windows(stretch.size)
    timings: dict[str, float] = {}
    quality: dict[str, dict[str, float]] = {}
    classifiers = {}
    loads: dict[str, float] = {}
    for dtype in dtypes:
        started = time.perf_counter()
        classifiers[dtype] = load_classifier(model_dir, dtype=dtype, threads=threads)
        loads[dtype] = time.perf_counter() - started
    for classifier in classifiers.values():
        classifier.predict_windows(stretch[: 2 * SAMPLE_RATE], [(0, 2 * SAMPLE_RATE)])
    reference: np.ndarray | None = None
    # Interleaved rounds, best of each: other work on a shared machine comes and goes.
    for _ in range(2):
        for dtype, classifier in classifiers.items():
            started = time.perf_counter()
            probs = classifier.predict_windows(stretch, windows)
            timings[dtype] = min(timings.get(dtype, np.inf), time.perf_counter() - started)
            if reference is None:
                reference = probs
            quality[dtype] = _agreement(probs, reference)
    auto = load_classifier(model_dir, dtype="auto", threads=threads)
    choice = getattr(auto, "precision_choice", None)
    return {
        "timings": timings,
        "quality": quality,
        "loads": loads,
        "windows": len(windows),
        "auto": choice.describe() if choice else "n/a",
        "auto_dtype": choice.dtype if choice else "fp32",
        "skipped": [d for d in ("int8", "bf16") if d not in dtypes],
        "onnx": (
            "ort-fp32, ort-int8 timed"
            if "ort-fp32" in dtypes
            else "left out: the instruction-set cap does not reach ONNX Runtime (see --onnx)"
            if onnx
            else "not installed"
        ),
        "peak_mb": _peak_mb(),
    }


def compare_chunking(
    model_dir: str, audio: np.ndarray, dtype: str, threads: int | None, stretches: int
) -> dict[str, Any]:
    """Long stretches encoded in chunks (the default) against encoding each one whole."""
    from analysis.engine.classifiers.base import load_classifier

    length = 60 * SAMPLE_RATE  # EmotionParams.max_stretch_s: the longest stretch there is
    pieces = [audio[i * length : (i + 1) * length] for i in range(stretches)]
    pieces = [p for p in pieces if p.size == length]
    if not pieces:
        return {}
    windows = _windows(length)
    setups = {
        "fp32 whole": load_classifier(model_dir, dtype="fp32", threads=threads, chunk_s=None),
        "fp32 chunked": load_classifier(model_dir, dtype="fp32", threads=threads),
        f"{dtype} chunked": load_classifier(model_dir, dtype=dtype, threads=threads),
    }
    probs: dict[str, np.ndarray] = {}
    seconds: dict[str, float] = {}
    for name, classifier in setups.items():
        classifier.predict_windows(pieces[0][: 2 * SAMPLE_RATE], [(0, 2 * SAMPLE_RATE)])
        started = time.perf_counter()
        probs[name] = np.concatenate([classifier.predict_windows(p, windows) for p in pieces])
        seconds[name] = time.perf_counter() - started
    reference = probs["fp32 whole"]
    chunk = setups["fp32 chunked"]
    top2 = np.sort(reference, axis=1)[:, -2:]
    return {
        # Random weights give near-uniform outputs: labels flip on tiny differences.
        "median_margin": float(np.median(top2[:, 1] - top2[:, 0])),
        "stretches": len(pieces),
        "windows": int(reference.shape[0]),
        "chunk_s": getattr(chunk, "chunk_s", None),
        "context_s": getattr(chunk, "context_s", None),
        "seconds": seconds,
        "quality": {name: _agreement(p, reference) for name, p in probs.items()},
        "peak_mb": _peak_mb(),
    }


def context_effect(model_dir: str, stretch: np.ndarray, threads: int | None) -> dict[str, float]:
    """Shared stretch encoding vs each window on its own, fp32: how far the approximation goes."""
    from analysis.engine.classifiers.base import load_classifier
    from analysis.engine.classifiers.hf import HFAudioClassifier

    classifier = load_classifier(model_dir, threads=threads)
    if not isinstance(classifier, HFAudioClassifier):
        return {"max_abs_diff": float("nan"), "top_label_agreement": float("nan")}
    windows = _windows(stretch.size)
    shared = classifier.predict_windows(stretch, windows)
    separate = classifier.predict_windows(stretch, windows, context="window")
    return {
        "max_abs_diff": float(np.abs(shared - separate).max()),
        "top_label_agreement": float((shared.argmax(axis=1) == separate.argmax(axis=1)).mean()),
    }


def compare_onnx(
    model_dir: str, audio: np.ndarray, threads: int | None, chosen: str
) -> dict[str, Any]:
    """The encoder through ONNX Runtime (fp32, dynamic int8) against torch on one 20 s stretch.

    The classifier's own ``ort-fp32`` and ``ort-int8`` (``analysis.engine.classifiers.
    ort_encoder``: conv stack and transformer exported into the cache, same chunking, batching
    and head as torch), so these are the figures the portal runs. Times are the best of two
    interleaved rounds after a warm-up, like ``compare_dtypes``; ``export_s`` is what loading
    both took (export and quantisation where the cache did not have them yet).
    """
    from analysis.engine.classifiers import ort_encoder

    version = ort_encoder.version()
    if version is None:
        return {"skipped": "onnx and onnxruntime are not installed (dependencies: pip install)"}
    from analysis.engine.classifiers.base import load_classifier

    reference = load_classifier(model_dir, dtype="fp32", threads=threads)
    contenders: dict[str, Any] = {"torch fp32": reference}
    if chosen in ("int8", "bf16"):
        contenders[f"torch {chosen}"] = load_classifier(model_dir, dtype=chosen, threads=threads)
    started = time.perf_counter()
    for dtype in ort_encoder.ORT_DTYPES:
        name = f"onnxruntime {dtype.removeprefix('ort-')}"
        contenders[name] = load_classifier(model_dir, dtype=dtype, threads=threads)
        if getattr(contenders[name], "dtype", None) != dtype:
            return {"skipped": f"{dtype} could not run this model (fell back to torch; logged)"}
    export_s = time.perf_counter() - started
    stretch = audio[: 20 * SAMPLE_RATE]
    windows = _windows(stretch.size)
    probs = {n: c.predict_windows_model_proba(stretch, windows) for n, c in contenders.items()}
    timings: dict[str, float] = {}
    for _ in range(2):
        for name, classifier in contenders.items():
            tick = time.perf_counter()
            classifier.predict_windows_model_proba(stretch, windows)
            timings[name] = min(timings.get(name, np.inf), time.perf_counter() - tick)
    return {
        "timings": timings,
        "quality": {name: _agreement(p, probs["torch fp32"]) for name, p in probs.items()},
        "windows": len(windows),
        "export_s": export_s,
        "version": version,
        "peak_mb": _peak_mb(),
    }


def run_portal(
    audio: np.ndarray, model_dir: str, dtype: str, threads: int | None
) -> dict[str, Any]:
    from analysis.engine.classifiers.base import load_classifier
    from analysis.engine.pipeline import analyze_array
    from analysis.engine.speakers import diarization

    started = time.perf_counter()
    classifier = load_classifier(model_dir, dtype=dtype, threads=threads)
    load_s = time.perf_counter() - started
    # As a worker that has analysed once: librosa's numba functions compiled (the first run
    # of an install compiles them, ~15 s, then numba's cache holds them), the voice encoder
    # loaded. Reported apart, not in the timed run.
    warm_s = diarization.warm_up()
    cpu = _StageCpu()
    started = time.perf_counter()
    result = analyze_array(audio, classifier, progress=cpu)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "load_s": load_s,
        "warm_s": warm_s,
        "dtype": getattr(classifier, "dtype", dtype),
        "timings": result.timings,
        "cpu": cpu.seconds,
        "speech_s": result.summary["speech_s"],
        "segments": len(result.segments),
        "frames": len(result.frames),
        "peak_mb": _peak_mb(),
    }


class _StageCpu:
    """A progress callback adding up the process's CPU seconds (all its threads) per stage,
    which with the wall time says how many of the cores each stage kept busy."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._stage: str | None = None
        self._since = time.process_time()

    def __call__(self, stage: str, percent: int) -> None:
        if stage == self._stage:
            return
        now = time.process_time()
        if self._stage is not None:
            self.seconds[self._stage] = self.seconds.get(self._stage, 0.0) + now - self._since
        self._stage, self._since = stage, now


def _in_subprocess(func: Any, *args: Any) -> Any:
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(func, args)


def _onnx_installed() -> bool:
    from analysis.engine.classifiers import ort_encoder

    return ort_encoder.version() is not None


def _load() -> str:
    return f"load avg {os.getloadavg()[0]:.1f}"


def _rate(audio_s: float, seconds: float) -> str:
    return f"RTF {seconds / audio_s:.3f}, {audio_s / seconds:.1f} audio-s/s"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Pipeline throughput vs a naive baseline.")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--data", type=Path, default=None, help="RAVDESS root (real speech)")
    parser.add_argument("--model", type=Path, default=None, help="another model directory")
    parser.add_argument("--naive-windows", type=int, default=40)
    parser.add_argument("--full-minutes", type=float, default=0.0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--dtype",
        choices=("auto", "auto-torch", "fp32", "bf16", "int8", "ort-fp32", "ort-int8"),
        default="auto",
    )
    parser.add_argument(
        "--all-dtypes", action="store_true", help="also time bf16 without native bf16 (slow)"
    )
    parser.add_argument("--long-stretches", type=int, default=2, help="60 s stretches (0: none)")
    parser.add_argument(
        "--emulate-avx2",
        action="store_true",
        help="cap oneDNN, ATen, MKL and fbgemm at AVX2 (precision.AVX2_EMULATION) in every "
        "measurement: an AVX2-only CPU emulated on this one's cores",
    )
    parser.add_argument(
        "--onnx", action="store_true", help="also time the encoder through ONNX Runtime"
    )
    args = parser.parse_args(argv)

    from analysis.engine.classifiers import precision

    if args.emulate_avx2:
        # Before torch is imported here and before any measuring subprocess starts (spawned
        # processes inherit the environment and read the caps when their libraries load).
        os.environ.update(precision.AVX2_EMULATION)
    import torch

    audio = build_input(args.minutes, args.data)
    audio_s = audio.size / SAMPLE_RATE
    features = precision.read_cpu_features()
    print(
        f"input: {audio_s / 60:.1f} min ({'RAVDESS' if args.data else 'synthetic'}), "
        f"torch threads {args.threads or torch.get_num_threads()}, "
        f"cpu capability {torch.backends.cpu.get_cpu_capability()}, {os.cpu_count()} cpus, "
        f"{_load()}",
        flush=True,
    )
    print(
        f"cpu: {features.describe()}; native bf16 {'yes' if features.native_bf16 else 'no'}, "
        f"VNNI {'yes' if features.vnni else 'no'}, AVX-512 {'yes' if features.avx512 else 'no'}"
        f"; candidates {', '.join(precision.candidate_dtypes(features, onnx=_onnx_installed()))}",
        flush=True,
    )
    if features.capped_at:
        print(
            f"EMULATED {features.capped_at}-only CPU: {', '.join(features.capped_by)} on this "
            "machine's cores (same cores and memory, other caches and clock than a real one)",
            flush=True,
        )
    targets = Targets(avx512=features.avx512)
    with tempfile.TemporaryDirectory() as tmp:
        base = str(build_base_model(Path(tmp) / "base"))
        # The measuring subprocesses share one ONNX Runtime cache: exported once (timed in the
        # precision comparison), read by every later load, as in a worker after its first start.
        os.environ["SER_ONNX_CACHE_DIR"] = str(Path(tmp) / "onnx-cache")

        naive = _in_subprocess(run_naive, audio, base, args.naive_windows)
        note = (
            f" (timed {naive['timed_windows']} of {naive['windows']} windows, extrapolated)"
            if naive["extrapolated"]
            else ""
        )
        print(
            f"(a) naive pipeline(), base fp32: {naive['seconds']:.1f} s, "
            f"{_rate(audio_s, naive['seconds'])}{note}, peak {naive['peak_mb']:.0f} MB, "
            f"{_load()}",
            flush=True,
        )

        compared = _in_subprocess(compare_dtypes, base, audio, args.threads, args.all_dtypes)
        fp32_s = compared["timings"]["fp32"]
        for name, seconds in compared["timings"].items():
            quality = compared["quality"][name]
            print(
                f"    {name}: 20 s stretch in {seconds:.2f} s ({fp32_s / seconds:.2f}x fp32), "
                f"max |p - p_fp32| {quality['max_abs_diff']:.2e}, top label as fp32 on "
                f"{quality['top_label_agreement']:.0%} of {compared['windows']} windows"
                + (
                    f" (first load, export included: {compared['loads'][name]:.1f} s)"
                    if name.startswith("ort")
                    else ""
                ),
                flush=True,
            )
        for name in compared["skipped"]:
            print(f"    {name}: not timed, not a candidate on this CPU (--all-dtypes)")
        print(f"    onnxruntime: {compared['onnx']}", flush=True)
        print(f"    auto: {compared['auto']}", flush=True)
        dtype = compared["auto_dtype"] if args.dtype == "auto" else args.dtype
        for name, quality in compared["quality"].items():
            if name != "fp32":
                targets.label_moves[f"{name} 20 s"] = 1 - quality["top_label_agreement"]
        if args.onnx:
            _print_onnx(_in_subprocess(compare_onnx, base, audio, args.threads, dtype), features)
        if args.long_stretches:
            chunks = _in_subprocess(
                compare_chunking, base, audio, dtype, args.threads, args.long_stretches
            )
            if chunks:
                print(
                    f"    long stretches: {chunks['stretches']} x 60 s, {chunks['windows']} "
                    f"windows; chunks of {chunks['chunk_s']:g} s keeping the centre "
                    f"{chunks['chunk_s'] - 2 * chunks['context_s']:g} s, against fp32 whole "
                    f"(median top-1 minus top-2 probability of fp32 whole "
                    f"{chunks['median_margin']:.4f}: random weights, near-uniform outputs)",
                    flush=True,
                )
                for name, quality in chunks["quality"].items():
                    if name != "fp32 whole":
                        targets.label_moves[f"{name} 60 s"] = 1 - quality["top_label_agreement"]
                    print(
                        f"      {name}: {chunks['seconds'][name]:.1f} s, max |dp| "
                        f"{quality['max_abs_diff']:.2e}, top label agrees "
                        f"{quality['top_label_agreement']:.1%}",
                        flush=True,
                    )
            else:
                print("    long stretches: input shorter than 60 s, not compared")
        effect = _in_subprocess(context_effect, base, audio[: 20 * SAMPLE_RATE], args.threads)
        print(
            "    shared encoding vs per-window (fp32): max |dp| "
            f"{effect['max_abs_diff']:.2e}, top label agrees "
            f"{effect['top_label_agreement']:.0%}",
            flush=True,
        )
        # The pipeline loads as a worker does: "auto" measures its probe again in this process.
        run_dtype = args.dtype
        portal = _in_subprocess(run_portal, audio, base, run_dtype, args.threads)
        print(
            f"(b) portal analyze_array, base {portal['dtype']} ({run_dtype}): "
            f"{portal['seconds']:.1f} s, "
            f"{_rate(audio_s, portal['seconds'])}, speech {portal['speech_s'] / audio_s:.0%} "
            f"of the audio, stages {_stages(portal['timings'], portal['cpu'])}, model load "
            f"{portal['load_s']:.1f} s (with the precision probe), speaker stage warm-up "
            f"{portal['warm_s']:.1f} s (not timed), peak "
            f"{portal['peak_mb']:.0f} MB, {_load()}",
            flush=True,
        )
        print(f"    speed-up over naive: {naive['seconds'] / portal['seconds']:.1f}x", flush=True)
        targets.speedup = naive["seconds"] / portal["seconds"]

        if args.full_minutes:
            long_audio = build_input(args.full_minutes, args.data, seed=1)
            full = _in_subprocess(run_portal, long_audio, base, run_dtype, args.threads)
            long_s = long_audio.size / SAMPLE_RATE
            print(
                f"    {args.full_minutes:g}-min run (measured, {full['dtype']}): "
                f"{full['seconds']:.1f} s, "
                f"{_rate(long_s, full['seconds'])}, "
                f"stages {_stages(full['timings'], full['cpu'])}, "
                f"peak {full['peak_mb']:.0f} MB, {_load()}",
                flush=True,
            )
            targets.session_s = full["seconds"] * 45 / args.full_minutes
            targets.session_note = (
                "measured"
                if args.full_minutes == 45
                else f"scaled from a measured {args.full_minutes:g}-min run"
            )
        else:
            estimate = portal["seconds"] * 45 * 60 / audio_s
            print(f"    45-min session (extrapolated, not measured): {estimate:.0f} s")
            targets.session_s = estimate
            targets.session_note = f"extrapolated from {audio_s / 60:.1f} min"
        for line in targets.lines(features):
            print(line, flush=True)

        if args.model is not None:
            other = _in_subprocess(run_portal, audio, str(args.model), dtype, args.threads)
            effect = _in_subprocess(
                context_effect, str(args.model), audio[: 20 * SAMPLE_RATE], args.threads
            )
            # A features-plus-head model classifies each window on its own: nothing is shared.
            shared = (
                "windows are classified independently"
                if effect["max_abs_diff"] != effect["max_abs_diff"]  # NaN: nothing to compare
                else f"shared encoding vs per-window: max |dp| {effect['max_abs_diff']:.2e}, "
                f"top label agrees {effect['top_label_agreement']:.0%}"
            )
            print(
                f"(c) portal analyze_array, {args.model} {dtype}: {other['seconds']:.1f} s, "
                f"{_rate(audio_s, other['seconds'])}, stages {_stages(other['timings'])}, "
                f"peak {other['peak_mb']:.0f} MB, {_load()}; {shared}",
                flush=True,
            )


class Targets:
    """Issue 17's targets next to the measured figures."""

    def __init__(self, *, avx512: bool) -> None:
        self.avx512 = avx512
        self.speedup: float | None = None
        self.session_s: float | None = None
        self.session_note = ""
        self.label_moves: dict[str, float] = {}  # share of windows whose top label moved

    def lines(self, features: Any) -> list[str]:
        kind = "AVX-512" if self.avx512 else "AVX2-only"
        if features.capped_at:
            kind += " (emulated)"
        want_speedup, want_session = (8.0, 90.0) if self.avx512 else (6.0, 150.0)
        out = [f"targets ({kind}; {_load()}):"]
        if self.speedup is not None:
            out.append(
                f"    speed-up over naive >= {want_speedup:g}x: {self.speedup:.1f}x "
                f"{_verdict(self.speedup >= want_speedup)}"
            )
        if self.session_s is not None:
            out.append(
                f"    45-min session <= {want_session:g} s: {self.session_s:.0f} s "
                f"({self.session_note}) {_verdict(self.session_s <= want_session)}"
            )
        for name, moved in self.label_moves.items():
            out.append(
                f"    top label moved against fp32 whole-stretch <= 1% of windows, {name}: "
                f"{moved:.1%} {_verdict(moved <= 0.01)}"
            )
        return out


def _verdict(met: bool) -> str:
    return "MET" if met else "NOT MET"


def _print_onnx(result: dict[str, Any], features: Any) -> None:
    if "skipped" in result:
        print(f"    onnxruntime: not timed, {result['skipped']}", flush=True)
        return
    note = (
        " (NOT emulated: ONNX Runtime's own kernels ignore the ISA caps and use the full CPU)"
        if features.capped_at
        else ""
    )
    timings = result["timings"]
    fp32 = timings["torch fp32"]
    print(
        f"    onnxruntime {result['version']} against torch, 20 s stretch, ort-fp32 and ort-int8 "
        f"loaded in {result['export_s']:.1f} s (exported and quantised on first use, then read "
        f"from the cache){note}:",
        flush=True,
    )
    for name, seconds in timings.items():
        quality = result["quality"][name]
        print(
            f"      {name}: {seconds:.2f} s ({fp32 / seconds:.2f}x torch fp32), max |dp| "
            f"{quality['max_abs_diff']:.2e}, top label as torch fp32 on "
            f"{quality['top_label_agreement']:.0%} of {result['windows']} windows",
            flush=True,
        )


def _stages(timings: dict[str, float], cpu: dict[str, float] | None = None) -> str:
    """Each stage's wall time and, with ``cpu``, its CPU seconds and the cores it kept busy."""
    cpu = cpu or {}
    return ", ".join(
        f"{k} {v:.1f}s"
        + (f" ({cpu[k]:.1f} cpu-s, {cpu[k] / v:.1f} cores)" if k in cpu and v > 0 else "")
        for k, v in timings.items()
    )


if __name__ == "__main__":
    main()
