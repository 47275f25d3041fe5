"""How long clinic validation takes once features are cached, on this machine's CPU.

    python -m analysis.engine.benchmarks.agreement [--items 5000] [--labels 2000] \
        [--children 40] [--model DIR] [--seed 0]

On **constructed** features (no audio, no database): ``--items`` feature rows of the model's
feature size (``--model``, default the shipped default, acoustic statistics), drawn per emotion
around separate means so a head has something to learn, with made-up therapist labels that
agree with the emotion most of the time, split over ``--children`` children.

(1) Evaluate: the rows are written to a ``FeatureCache`` first (the cost once per segment, not
    timed as part of the evaluation), then timed: reading every row back from the cache, the
    model's head on them (``predict_features``), and the whole validation report
    (``agreement.report`` + per-child and per-week splits).
(2) Adapt: ``adaptation.adapt`` on ``--labels`` rows (5-fold child-level cross-validation plus
    the final head), as the "Adapt to our clinic" task runs it after its features are cached.

Targets (issue 15): (1) under 60 s for 5,000 segments, (2) under 5 minutes for 2,000 labels.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from analysis.engine.labels import CANONICAL_LABELS


def constructed(
    n: int, dim: int, n_children: int, seed: int
) -> tuple[np.ndarray, list[str], list[str]]:
    """Feature rows around one mean per emotion, therapist labels (80 % the row's emotion),
    children."""
    rng = np.random.default_rng(seed)
    means = rng.standard_normal((len(CANONICAL_LABELS), dim)) * 2.0
    emotion = rng.integers(0, len(CANONICAL_LABELS), n)
    x = means[emotion] + rng.standard_normal((n, dim)) * 3.0
    flip = rng.random(n) > 0.8
    labels = np.where(flip, rng.integers(0, len(CANONICAL_LABELS), n), emotion)
    truth = [CANONICAL_LABELS[i] for i in labels]
    children = [f"child-{i % n_children:03d}" for i in range(n)]
    return x, truth, children


def feature_size(classifier: Any) -> int:
    """The length of the model's feature vectors (from one second of noise)."""
    noise = np.random.default_rng(0).standard_normal(16_000).astype(np.float32) * 0.1
    return int(classifier.features([noise]).shape[1])


def evaluate(model_dir: Path, items: int, n_children: int, seed: int) -> dict[str, float]:
    from analysis.engine.classifiers.base import load_classifier
    from analysis.engine.classifiers.features import FeatureCache
    from analysis.engine.training import agreement

    classifier = load_classifier(model_dir)
    dim = feature_size(classifier)
    x, truth, children = constructed(items, dim, n_children, seed)
    weeks = [f"2026-W{1 + i % 12:02d}" for i in range(items)]
    with tempfile.TemporaryDirectory(prefix="ser-agreement-bench-") as folder:
        cache = FeatureCache(folder)
        tag = "features:bench"
        mark = time.perf_counter()
        for i in range(items):
            row = x[i]
            cache.get_or_compute(tag, f"segment:{i}", lambda row=row: row)  # type: ignore[misc]
        write_s = time.perf_counter() - mark

        mark = time.perf_counter()
        rows = np.stack(
            [cache.get_or_compute(tag, f"segment:{i}", lambda: np.zeros(dim)) for i in range(items)]
        )
        read_s = time.perf_counter() - mark
    mark = time.perf_counter()
    probs = classifier.predict_features(rows)  # type: ignore[attr-defined]
    predict_s = time.perf_counter() - mark
    mark = time.perf_counter()
    pred = [CANONICAL_LABELS[int(i)] for i in np.argmax(probs, axis=1)]
    conf = [float(c) for c in np.max(probs, axis=1)]
    report = agreement.report(truth, pred, conf, CANONICAL_LABELS, default_threshold=0.4)
    agreement.group_agreement(children, truth, pred, CANONICAL_LABELS)
    agreement.group_agreement(weeks, truth, pred, CANONICAL_LABELS)
    report_s = time.perf_counter() - mark
    return {
        "items": items,
        "cache_write_s": write_s,
        "cache_read_s": read_s,
        "predict_s": predict_s,
        "report_s": report_s,
        "total_s": read_s + predict_s + report_s,
        "kappa": float(report["kappa"] or 0.0),
    }


def adapt(labels: int, dim: int, n_children: int, seed: int) -> dict[str, float]:
    from analysis.engine.training import agreement
    from analysis.engine.training.adaptation import adapt as adapt_head

    x, truth, children = constructed(labels, dim, n_children, seed + 1)
    evaluate_rows = [i % 2 == 0 for i in range(labels)]  # half are blind labels
    trainable = [c != "child-000" for c in children]  # one child without training consent
    mark = time.perf_counter()
    result = adapt_head(x, truth, children, evaluate_rows, trainable)
    adapt_s = time.perf_counter() - mark
    pred = [CANONICAL_LABELS[int(i)] for i in np.argmax(result.oof_probabilities, axis=1)]
    held = [truth[i] for i in result.oof_index]
    return {
        "labels": labels,
        "evaluated": len(result.oof_index),
        "adapt_s": adapt_s,
        "oof_kappa": float(agreement.kappa(held, pred, CANONICAL_LABELS) or 0.0),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--labels", type=int, default=2000)
    parser.add_argument("--children", type=int, default=40)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    model_dir = args.model or (Path(__file__).resolve().parents[2] / "shipped" / "ser-default-v2")
    print(f"CPU cores visible: {os.cpu_count()}; model {model_dir.name}; constructed features")
    ev = evaluate(model_dir, args.items, args.children, args.seed)
    print(
        f"evaluate {ev['items']} cached segments: {ev['total_s']:.2f} s "
        f"(cache read {ev['cache_read_s']:.2f} s, head {ev['predict_s']:.2f} s, "
        f"report {ev['report_s']:.2f} s; writing the cache once took {ev['cache_write_s']:.2f} s)"
        f" [target < 60 s] kappa {ev['kappa']:.3f}"
    )
    from analysis.engine.classifiers.base import load_classifier

    dim = feature_size(load_classifier(model_dir))
    ad = adapt(args.labels, dim, args.children, args.seed)
    print(
        f"adapt on {ad['labels']} labels ({ad['evaluated']} evaluated out of fold by child): "
        f"{ad['adapt_s']:.2f} s [target < 300 s] out-of-fold kappa {ad['oof_kappa']:.3f}"
    )


if __name__ == "__main__":
    main()
