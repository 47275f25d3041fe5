"""Inference speed of a model: audio seconds classified per wall-clock second.

    .venv/bin/python -m analysis.engine.benchmarks.experiments.inference_speed \
        analysis/shipped/ser-default-v1 \
        --data /work/shared/data/ravdess --clips 60
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from analysis.engine.classifiers import load_classifier
from analysis.engine.training.datasets import scan_ravdess


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--clips", type=int, default=60)
    parser.add_argument("--window-seconds", type=float, default=2.0)
    parser.add_argument("--hop-seconds", type=float, default=1.0)
    args = parser.parse_args()
    started = time.perf_counter()
    classifier = load_classifier(args.model_dir)
    load_seconds = time.perf_counter() - started
    clips = scan_ravdess(args.data)
    step = max(1, len(clips) // args.clips)
    audios = [clip.load() for clip in clips[::step][: args.clips]]
    classifier.predict_proba(audios[:1])  # warm-up (imports, first-call costs)
    started = time.perf_counter()
    classifier.predict_proba(audios)
    clip_wall = time.perf_counter() - started
    clip_audio = sum(a.size for a in audios) / classifier.sample_rate
    stretch = np.concatenate(audios)
    rate = classifier.sample_rate
    win, hop = int(args.window_seconds * rate), int(args.hop_seconds * rate)
    windows = [(s, s + win) for s in range(0, max(1, stretch.size - win + 1), hop)]
    started = time.perf_counter()
    classifier.predict_windows(stretch, windows)
    window_wall = time.perf_counter() - started
    print(
        json.dumps(
            {
                "load_seconds": round(load_seconds, 3),
                "clips": len(audios),
                "clip_audio_seconds": round(clip_audio, 1),
                "clip_wall_seconds": round(clip_wall, 2),
                "clip_realtime_factor": round(clip_audio / clip_wall, 1),
                "stretch_audio_seconds": round(stretch.size / rate, 1),
                "windows": len(windows),
                "window_seconds": args.window_seconds,
                "hop_seconds": args.hop_seconds,
                "window_wall_seconds": round(window_wall, 2),
                "stretch_realtime_factor": round(stretch.size / rate / window_wall, 1),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
