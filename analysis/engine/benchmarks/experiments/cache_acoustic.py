"""Compute acoustic features for every RAVDESS clip (and seeded augmented copies) once.

    nice -n 10 .venv/bin/python -m analysis.engine.benchmarks.experiments.cache_acoustic \
        --data /work/shared/data/ravdess --out /tmp/ser_cache --augmented-copies 1
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from analysis.engine.audio.augment import default_augmenter
from analysis.engine.classifiers.features import ACOUSTIC_VERSION, acoustic_features
from analysis.engine.training.datasets import label_indices, scan_ravdess


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "ser_cache")
    parser.add_argument("--augmented-copies", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    clips = scan_ravdess(args.data)
    groups = np.array([c.group for c in clips])
    y = label_indices(clips)
    augment = default_augmenter()
    for copy in range(args.augmented_copies + 1):
        target = args.out / f"acoustic_v{ACOUSTIC_VERSION}_copy{copy}.npz"
        if target.exists():
            continue
        start = time.time()
        rows = []
        for i, clip in enumerate(clips):
            audio = clip.load()
            if copy:
                audio = augment(audio, np.random.default_rng([args.seed, copy, i]))
            rows.append(acoustic_features(audio))
        np.savez(target, X=np.stack(rows), y=y, groups=groups)
        print(f"copy {copy}: {time.time() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
