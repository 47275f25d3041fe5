"""Compare recipes on the robustness benchmark (one line per recipe, for RESULTS.md).

Every variant runs ``analysis.engine.training.robustness.run_benchmark`` (5-fold actor CV,
calibrated) on the
same clips, conditions and seed; features come from the shared cache, so after the first run
of a feature set and copy count a head variant costs only its fits.

    nice .venv/bin/python -m analysis.engine.benchmarks.experiments.robust_variants --data \
        ../shared/data/ravdess \
        --variants copies0,copies2,copies4,mlp512,lr003
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from analysis.engine.audio.conditions import BENCHMARK_CONDITIONS
from analysis.engine.training.datasets import scan_ravdess
from analysis.engine.training.robustness import Recipe, run_benchmark

HEADLINE = [c.name for c in BENCHMARK_CONDITIONS if c.headline]

VARIANTS: dict[str, Recipe] = {
    "v1features_copies0": Recipe(feature_set="acoustic", copies=0),
    "copies0": Recipe(copies=0),
    "copies2": Recipe(copies=2),
    "copies4": Recipe(copies=4),
    "mlp512": Recipe(
        copies=2, options={"logistic": {"c": 0.01}, "mlp": {"hidden": 512, "dropout": 0.5}}
    ),
    "lr003": Recipe(copies=2, options={"logistic": {"c": 0.003}}),
    "lr03": Recipe(copies=2, options={"logistic": {"c": 0.03}}),
    "mlp_only": Recipe(copies=2, heads=["mlp"]),
    "3mlp_lr": Recipe(copies=2, heads=["mlp", "mlp", "mlp", "logistic"]),
    "copies4_3mlp_lr": Recipe(copies=4, heads=["mlp", "mlp", "mlp", "logistic"]),
    "copies4_lr003": Recipe(copies=4, options={"logistic": {"c": 0.003}}),
    "egemaps_copies2": Recipe(feature_set="egemaps", copies=2),
    "copies4_augv2": Recipe(copies=4, augment_version=2),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--variants", default="copies0,copies2")
    parser.add_argument("--conditions", default=",".join(HEADLINE))
    parser.add_argument("--condition-every", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("var/robust_variants.jsonl"))
    args = parser.parse_args()
    clips = scan_ravdess(args.data)
    wanted = set(args.conditions.split(","))
    conditions = [c for c in BENCHMARK_CONDITIONS if c.name in wanted or c.name == "clean"]
    for name in args.variants.split(","):
        started = time.monotonic()
        result = run_benchmark(
            clips,
            VARIANTS[name],
            conditions=conditions,
            condition_every=args.condition_every,
            log=lambda _line: None,
        )
        cells = " | ".join(f"{r['ua']:.3f}" for r in result["rows"])
        print(
            f"| {name} | {cells} | {result['rows'][0]['ece']:.3f} | "
            f"{time.monotonic() - started:.0f} s |",
            flush=True,
        )
        with args.out.open("a") as handle:
            handle.write(json.dumps({"variant": name, **result}) + "\n")


if __name__ == "__main__":
    main()
