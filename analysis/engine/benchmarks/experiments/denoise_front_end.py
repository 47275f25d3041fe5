"""Does a denoising front end (RNNoise, whose weights ship inside ``pyrnnoise``) help the
shipped recipe? Measured on the robustness benchmark: the same folds and fold models (trained
on raw multi-condition copies), the test clips of some conditions run through RNNoise first.

    .venv/bin/pip install pyrnnoise
    nice .venv/bin/python -m analysis.engine.benchmarks.experiments.denoise_front_end --data \
        ../shared/data/ravdess

The denoised conditions are registered before the feature workers fork, so they are found by
name like the built-in ones. pyrnnoise is not a dependency of the portal (see RESULTS.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from analysis.engine.audio import conditions as C
from analysis.engine.training.datasets import scan_ravdess
from analysis.engine.training.robustness import Recipe, run_benchmark

BASE = ("clean", "white_noise_20db", "pink_noise_10db", "babble_10db", "reverb_noise_opus")


def rnnoise(audio: np.ndarray) -> np.ndarray:
    from pyrnnoise import RNNoise

    state = RNNoise(C.SAMPLE_RATE)
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)[None, :]
    frames = [frame for _, frame in state.denoise_chunk(pcm, partial=True)]
    out = np.concatenate(frames, axis=1)[0].astype(np.float32) / 32767
    return C._fit_length(out, audio.size)


def _denoised(base: C.Condition) -> C.Condition:
    return C.Condition(
        f"rnnoise_{base.name}",
        f"{base.description}, then RNNoise",
        lambda a, rng, t: rnnoise(base.apply(a, rng, t)),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--copies", type=int, default=4)
    args = parser.parse_args()
    base = [C.condition_by_name(n) for n in BASE]
    denoised = [_denoised(c) for c in base]
    C.BENCHMARK_CONDITIONS = (*C.BENCHMARK_CONDITIONS, *denoised)
    result = run_benchmark(
        scan_ravdess(args.data),
        Recipe(copies=args.copies),
        conditions=[*base, *denoised],
        condition_every=3,
        log=lambda _line: None,
    )
    for row in result["rows"]:
        print(f"| {row['condition']} | {row['ua']:.3f} | {row['ece']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
