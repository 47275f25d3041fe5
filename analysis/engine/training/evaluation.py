"""Speaker-independent evaluation of emotion classifiers.

Figures reported everywhere (model cards, the evaluate_model command, RESULTS.md):

* UA, unweighted accuracy: the mean of per-class recalls over the classes present in the
  true labels (robust to class imbalance; the headline figure in SER papers).
* WA, weighted accuracy: plain accuracy.
* per-class recall and precision, and the confusion matrix (rows true, columns predicted).

Each is given for the 8 canonical labels, for the 4-class subset (neutral, happy, sad, angry:
only clips whose true label is one of them, argmax over those four columns) and for the three
valence classes (probabilities summed per group). All results are JSON-serialisable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from analysis.engine.classifiers.base import EmotionClassifier
from analysis.engine.labels import CANONICAL_LABELS, FOUR_CLASS, LABEL_INDEX, VALENCE_CLASS
from analysis.engine.training.datasets import LabelledClip, group_kfold, label_indices

VALENCE_LABELS: tuple[str, ...] = ("negative", "neutral", "positive")
FOUR_LABELS: tuple[str, ...] = tuple(label for label in CANONICAL_LABELS if label in FOUR_CLASS)


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str]
) -> dict[str, Any]:
    """UA, WA, per-class recall/precision and confusion matrix for index-coded labels."""
    k = len(labels)
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    matrix = np.zeros((k, k), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    support = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    diag = np.diag(matrix)
    recall = {labels[i]: float(diag[i] / support[i]) for i in range(k) if support[i] > 0}
    precision = {
        labels[i]: float(diag[i] / predicted[i]) if predicted[i] else 0.0
        for i in range(k)
        if support[i] > 0 or predicted[i] > 0
    }
    n = int(matrix.sum())
    return {
        "n": n,
        "ua": float(np.mean(list(recall.values()))) if recall else 0.0,
        "wa": float(diag.sum() / n) if n else 0.0,
        "recall": recall,
        "precision": precision,
        "confusion": {"labels": list(labels), "matrix": matrix.tolist()},
    }


def metrics_from_probabilities(y_true: np.ndarray, probabilities: np.ndarray) -> dict[str, Any]:
    """8-class, 4-class and valence figures from canonical probabilities (n, 8)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    y_true = np.asarray(y_true, dtype=np.int64)
    result: dict[str, Any] = {
        "eight_class": classification_metrics(
            y_true, probabilities.argmax(axis=1), CANONICAL_LABELS
        )
    }
    four_columns = [LABEL_INDEX[label] for label in FOUR_LABELS]
    keep = np.isin(y_true, four_columns)
    remap = {column: i for i, column in enumerate(four_columns)}
    four_true = np.array([remap[int(t)] for t in y_true[keep]], dtype=np.int64)
    four_pred = probabilities[keep][:, four_columns].argmax(axis=1)
    result["four_class"] = classification_metrics(four_true, four_pred, FOUR_LABELS)
    group_of = np.array([VALENCE_LABELS.index(VALENCE_CLASS[label]) for label in CANONICAL_LABELS])
    valence_probs = np.zeros((len(probabilities), len(VALENCE_LABELS)))
    for column, group in enumerate(group_of):
        valence_probs[:, group] += probabilities[:, column]
    result["valence"] = classification_metrics(
        group_of[y_true], valence_probs.argmax(axis=1), VALENCE_LABELS
    )
    return result


def evaluate(
    classifier: EmotionClassifier, clips: Sequence[LabelledClip], *, batch_size: int = 16
) -> dict[str, Any]:
    """Score ``classifier`` on labelled clips; see the module docstring for the figures."""
    if not clips:
        raise ValueError("Nothing to evaluate: no clips.")
    rows = []
    for start in range(0, len(clips), batch_size):
        batch = [clip.load(classifier.sample_rate) for clip in clips[start : start + batch_size]]
        rows.append(classifier.predict_proba(batch))
    result = metrics_from_probabilities(label_indices(clips), np.concatenate(rows))
    result["model"] = {
        "name": classifier.manifest.name,
        "version": classifier.manifest.version,
        "kind": classifier.manifest.kind,
    }
    return result


def summarise_folds(fold_results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean and std over folds of UA and WA per grouping, and the summed confusion matrices."""
    summary: dict[str, Any] = {}
    for grouping in ("eight_class", "four_class", "valence"):
        ua = [r[grouping]["ua"] for r in fold_results]
        wa = [r[grouping]["wa"] for r in fold_results]
        matrices = np.sum([r[grouping]["confusion"]["matrix"] for r in fold_results], axis=0)
        summary[grouping] = {
            "ua_mean": float(np.mean(ua)),
            "ua_std": float(np.std(ua)),
            "wa_mean": float(np.mean(wa)),
            "wa_std": float(np.std(wa)),
            "confusion": {
                "labels": fold_results[0][grouping]["confusion"]["labels"],
                "matrix": matrices.tolist(),
            },
        }
    return summary


TrainFn = Callable[[list[LabelledClip], int], EmotionClassifier]


def cross_validate(
    train_fn: TrainFn,
    clips: Sequence[LabelledClip],
    *,
    folds: int = 5,
    seed: int = 0,
) -> dict[str, Any]:
    """K-fold cross-validation by speaker group (never by clip).

    ``train_fn(train_clips, seed)`` returns a classifier; it is scored on the held-out groups.
    Returns {"folds": [per-fold evaluate() results plus "test_groups"], "mean": summary}.
    """
    per_fold = []
    for fold, (train_idx, test_idx) in enumerate(group_kfold(clips, folds, seed)):
        train = [clips[i] for i in train_idx]
        test = [clips[i] for i in test_idx]
        classifier = train_fn(train, seed + fold)
        result = evaluate(classifier, test)
        result["fold"] = fold
        result["test_groups"] = sorted({clip.group for clip in test})
        per_fold.append(result)
    return {"folds": per_fold, "mean": summarise_folds(per_fold), "seed": seed}
