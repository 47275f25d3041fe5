"""Does the shipped recipe still work when a clip's leading and trailing silence is gone?

The pipeline hands the classifier VAD-trimmed speech, not studio clips with a second of
silence around them; ser-default-v1 fell from 0.57 to 0.39 UA when the silence was trimmed.
Same folds and fold models as the robustness benchmark; the test clips are trimmed
(``analysis.engine.benchmarks.synthetic.trim_silence``, 30 dB below the loudest 25 ms), alone and
after the
combined reverb + noise + Opus condition.

    nice .venv/bin/python -m analysis.engine.benchmarks.experiments.trimmed_clips --data \
        ../shared/data/ravdess
"""

from __future__ import annotations

import argparse
from pathlib import Path

from analysis.engine.audio import conditions as C
from analysis.engine.benchmarks.synthetic import trim_silence
from analysis.engine.training.datasets import scan_ravdess
from analysis.engine.training.robustness import Recipe, run_benchmark


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    args = parser.parse_args()
    trimmed = C.Condition(
        "trimmed", "leading and trailing silence removed", lambda a, _r, _t: trim_silence(a)
    )
    combined = C.condition_by_name("reverb_noise_opus")
    trimmed_combined = C.Condition(
        "trimmed_reverb_noise_opus",
        "trimmed, then reverb + noise + Opus",
        lambda a, rng, t: combined.apply(trim_silence(a), rng, t),
    )
    C.BENCHMARK_CONDITIONS = (*C.BENCHMARK_CONDITIONS, trimmed, trimmed_combined)
    result = run_benchmark(
        scan_ravdess(args.data),
        Recipe(copies=4),
        conditions=[C.condition_by_name("clean"), trimmed, trimmed_combined],
        condition_every=3,
        log=lambda _line: None,
    )
    for row in result["rows"]:
        print(f"| {row['condition']} | {row['ua']:.3f} | {row['ece']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
