"""5-fold actor CV of heads on cached acoustic features (run cache_acoustic first).

    nice -n 10 .venv/bin/python -m analysis.engine.benchmarks.experiments.heads_cv --cache \
        /tmp/ser_cache \
        --variants lr,svm,hgb,mlp,klr,ens --augmented 0,1 --out /tmp/ser_results/heads.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from analysis.engine.classifiers.features import ACOUSTIC_VERSION
from analysis.engine.classifiers.features_head import HeadEnsemble
from analysis.engine.labels import CANONICAL_LABELS
from analysis.engine.training.train import HeadRecipe, cross_validate_features


class SklearnRecipe:
    """Experiment-only: any sklearn classifier in the CV loop (not exportable without pickle)."""

    def __init__(self, make: Any) -> None:
        self.make = make

    def fit(self, x: np.ndarray, y: np.ndarray, groups: Any, seed: int) -> Any:
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        model = make_pipeline(StandardScaler(), self.make(seed)).fit(x, y)

        class Wrapped:
            def predict_proba(self, z: np.ndarray) -> np.ndarray:
                out = np.zeros((len(z), len(CANONICAL_LABELS)))
                out[:, model.classes_] = model.predict_proba(z)
                return out

        return Wrapped()


def variants() -> dict[str, Any]:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.svm import SVC

    return {
        "lr_c0.003": HeadRecipe(heads=["logistic"], options={"logistic": {"c": 0.003}}),
        "lr_c0.03": HeadRecipe(heads=["logistic"], options={"logistic": {"c": 0.03}}),
        "lr_c0.01": HeadRecipe(heads=["logistic"], options={"logistic": {"c": 0.01}}),
        "lr_c0.1": HeadRecipe(heads=["logistic"], options={"logistic": {"c": 0.1}}),
        "lr_c1": HeadRecipe(heads=["logistic"], options={"logistic": {"c": 1.0}}),
        "svm_rbf_c10": SklearnRecipe(
            lambda s: SVC(
                C=10, gamma="scale", probability=True, class_weight="balanced", random_state=s
            )
        ),
        "svm_rbf_c3": SklearnRecipe(
            lambda s: SVC(
                C=3, gamma="scale", probability=True, class_weight="balanced", random_state=s
            )
        ),
        "hgb": SklearnRecipe(
            lambda s: HistGradientBoostingClassifier(
                max_iter=200,
                learning_rate=0.08,
                max_leaf_nodes=15,
                l2_regularization=1.0,
                class_weight="balanced",
                random_state=s,
            )
        ),
        "klr_c1": HeadRecipe(heads=["kernel_logistic"], options={"kernel_logistic": {"c": 1.0}}),
        "klr_c10": HeadRecipe(heads=["kernel_logistic"], options={"kernel_logistic": {"c": 10.0}}),
        "mlp": HeadRecipe(heads=["mlp"]),
        "ens_klr_mlp_lr": HeadRecipe(
            heads=["kernel_logistic", "mlp", "logistic"],
            options={"kernel_logistic": {"c": 10.0}, "logistic": {"c": 0.01}},
        ),
        "ens_mlp_lr": HeadRecipe(heads=["mlp", "logistic"], options={"logistic": {"c": 0.01}}),
        "ens_3mlp_lr": HeadRecipe(
            heads=["mlp", "mlp", "mlp", "logistic"],
            weights=[1.0, 1.0, 1.0, 3.0],
            options={"logistic": {"c": 0.01}},
        ),
        "ens_klr_mlp": HeadRecipe(
            heads=["kernel_logistic", "mlp"], options={"kernel_logistic": {"c": 10.0}}
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "ser_cache")
    parser.add_argument("--variants", default="all")
    parser.add_argument("--augmented", default="0")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", type=Path, default=Path(tempfile.gettempdir()) / "ser_results" / "heads.json"
    )
    args = parser.parse_args()
    base = np.load(args.cache / f"acoustic_v{ACOUSTIC_VERSION}_copy0.npz")
    x, y, groups = base["X"], base["y"], base["groups"]
    table = variants()
    names = list(table) if args.variants == "all" else args.variants.split(",")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    for n_aug in [int(a) for a in args.augmented.split(",")]:
        augmented = [
            np.load(args.cache / f"acoustic_v{ACOUSTIC_VERSION}_copy{c}.npz")["X"]
            for c in range(1, n_aug + 1)
        ]
        for name in names:
            start = time.time()
            cv = cross_validate_features(
                table[name], x, y, groups, seed=args.seed, augmented=augmented
            )
            key = f"{name}+aug{n_aug}"
            m = cv["mean"]
            results[key] = {
                "seconds": time.time() - start,
                **{
                    g: {k: m[g][k] for k in ("ua_mean", "ua_std", "wa_mean", "wa_std")}
                    for g in ("eight_class", "four_class", "valence")
                },
            }
            e = m["eight_class"]
            print(
                f"{key:28s} UA {100 * e['ua_mean']:.1f}±{100 * e['ua_std']:.1f} "
                f"WA {100 * e['wa_mean']:.1f} 4c-UA {100 * m['four_class']['ua_mean']:.1f} "
                f"val-UA {100 * m['valence']['ua_mean']:.1f} ({time.time() - start:.0f}s)",
                flush=True,
            )
            args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    _ = HeadEnsemble
    main()
