"""Agreement between a model and therapists on blind-labelled segments, and between two
therapists on the same segments (the human ceiling).

Plain numpy and scikit-learn (``cohen_kappa_score``, ``confusion_matrix``,
``calibration_curve``, ``GroupKFold``); no Django. The Django side gathers the labelled items,
calls these and draws the figures. Every figure carries the number of items behind it, and
groups with fewer than ``SMALL_GROUP`` items are flagged rather than hidden.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# Fewer items than this in a group (a child, a speaker role, a week, one emotion): the figure
# is shown with its count and flagged as too small to rely on.
SMALL_GROUP = 10
# Per-emotion thresholds: the model's top emotion is trusted at a confidence when, among the
# items it gave that emotion at least that confidence, therapists agreed this often...
TARGET_PRECISION = 0.7
# ... on at least this many items. Fewer: no evidence either way, the benchmark's floor holds.
MIN_THRESHOLD_ITEMS = 8
# A threshold above every possible confidence: the clinic's evidence says "never trust it".
NEVER = 1.01
# An emotion's agreement is "poor" when its precision or recall on at least SMALL_GROUP items
# is below this.
POOR_AGREEMENT = 0.5


@dataclass(frozen=True)
class Reliability:
    """A reliability diagram: per confidence bin, the mean confidence, the share correct and
    the number of items in the bin (bins without items are left out)."""

    mean_confidence: list[float]
    fraction_correct: list[float]
    counts: list[int]
    bin_edges: list[float]


def _as_str_array(values: Sequence[str]) -> np.ndarray:
    return np.asarray(list(values), dtype=object)


def kappa(first: Sequence[str], second: Sequence[str], labels: Sequence[str]) -> float | None:
    """Cohen's kappa of two raters over the same items; None when it is undefined (no items,
    or both raters used one and the same label throughout)."""
    from sklearn.metrics import cohen_kappa_score

    if len(first) != len(second):
        raise ValueError("Both raters must label the same items.")
    if len(first) == 0:
        return None
    if len(set(first) | set(second)) < 2:
        return None
    value = float(cohen_kappa_score(list(first), list(second), labels=list(labels)))
    return None if np.isnan(value) else value


def confusion(
    y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]
) -> list[list[int]]:
    """Rows: the therapist's label; columns: the model's; in ``labels`` order."""
    from sklearn.metrics import confusion_matrix

    if len(y_true) == 0:
        return [[0] * len(labels) for _ in labels]
    matrix = confusion_matrix(list(y_true), list(y_pred), labels=list(labels))
    return [[int(v) for v in row] for row in matrix]


def per_label_rates(matrix: Sequence[Sequence[int]], labels: Sequence[str]) -> list[dict[str, Any]]:
    """Recall (of the therapist's label), precision (of the model's) and both counts per
    label; a rate is None when its denominator is zero."""
    array = np.asarray(matrix, dtype=np.int64).reshape(len(labels), len(labels))
    rows = []
    for i, label in enumerate(labels):
        support = int(array[i].sum())
        predicted = int(array[:, i].sum())
        hit = int(array[i, i])
        rows.append(
            {
                "label": label,
                "support": support,
                "predicted": predicted,
                "recall": hit / support if support else None,
                "precision": hit / predicted if predicted else None,
                "small": min(support, predicted) < SMALL_GROUP,
            }
        )
    return rows


def reliability(
    confidence: Sequence[float], correct: Sequence[bool], n_bins: int = 10
) -> Reliability:
    """Is 80 % confidence right 80 % of the time? ``calibration_curve`` on uniform bins, with
    the count per non-empty bin."""
    from sklearn.calibration import calibration_curve

    conf = np.clip(np.asarray(confidence, dtype=np.float64), 0.0, 1.0)
    hits = np.asarray(correct, dtype=np.int64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    if conf.size == 0:
        return Reliability([], [], [], [float(e) for e in edges])
    if len(set(hits.tolist())) < 2:
        # calibration_curve needs both outcomes; with one, the share per bin is that outcome.
        frac, mean = _binned(conf, hits, edges)
    else:
        frac, mean = calibration_curve(hits, conf, n_bins=n_bins, strategy="uniform")
    # The same bins calibration_curve uses (np.searchsorted on the inner edges).
    ids = np.searchsorted(edges[1:-1], conf)
    counts = np.bincount(ids, minlength=n_bins)
    counts = counts[counts > 0]
    return Reliability(
        mean_confidence=[float(v) for v in mean],
        fraction_correct=[float(v) for v in frac],
        counts=[int(c) for c in counts],
        bin_edges=[float(e) for e in edges],
    )


def _binned(conf: np.ndarray, hits: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, ...]:
    ids = np.searchsorted(edges[1:-1], conf)
    present = np.unique(ids)
    frac = np.array([hits[ids == b].mean() for b in present])
    mean = np.array([conf[ids == b].mean() for b in present])
    return frac, mean


def emotion_thresholds(
    y_true: Sequence[str],
    y_pred: Sequence[str],
    confidence: Sequence[float],
    labels: Sequence[str],
    *,
    default: float,
    target_precision: float = TARGET_PRECISION,
    min_items: int = MIN_THRESHOLD_ITEMS,
) -> dict[str, dict[str, Any]]:
    """Per emotion, the lowest confidence from which the model's top emotion agrees with the
    therapists at least ``target_precision`` of the time on at least ``min_items`` items.

    Each entry: ``threshold`` (``default`` when there are fewer than ``min_items`` items the
    model gave that emotion: no evidence either way; ``NEVER`` when there are enough but no
    confidence reaches the target), ``source`` ("clinic" | "default" | "never") and ``n``.
    """
    truth = _as_str_array(y_true)
    pred = _as_str_array(y_pred)
    conf = np.asarray(confidence, dtype=np.float64)
    out: dict[str, dict[str, Any]] = {}
    for label in labels:
        mask = pred == label
        n = int(mask.sum())
        if n < min_items:
            out[label] = {"threshold": float(default), "source": "default", "n": n}
            continue
        order = np.argsort(-conf[mask], kind="stable")
        c = conf[mask][order]
        agree = (truth[mask][order] == label).astype(np.float64)
        # Precision of "this emotion at confidence >= c[k]" for every k (the top k+1 items).
        precision = np.cumsum(agree) / np.arange(1, n + 1)
        ok = np.flatnonzero((precision >= target_precision) & (np.arange(1, n + 1) >= min_items))
        if ok.size == 0:
            out[label] = {"threshold": NEVER, "source": "never", "n": n}
        else:
            k = int(ok.max())  # the most items (lowest confidence) that still meets the target
            out[label] = {"threshold": float(c[k]), "source": "clinic", "n": n}
    return out


def poor_emotions(rates: Sequence[Mapping[str, Any]], limit: float = POOR_AGREEMENT) -> list[str]:
    """Emotions whose measured precision or recall, on enough items, is below ``limit``."""
    poor = []
    for row in rates:
        enough_recall = row["support"] >= SMALL_GROUP and row["recall"] is not None
        enough_precision = row["predicted"] >= SMALL_GROUP and row["precision"] is not None
        if (enough_recall and row["recall"] < limit) or (
            enough_precision and row["precision"] < limit
        ):
            poor.append(str(row["label"]))
    return poor


def group_agreement(
    groups: Sequence[str], y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]
) -> list[dict[str, Any]]:
    """Per group (a child, a speaker role, a week): items, share agreed, kappa, small flag."""
    keys = list(groups)
    rows = []
    for group in sorted(set(keys)):
        idx = [i for i, g in enumerate(keys) if g == group]
        truth = [y_true[i] for i in idx]
        pred = [y_pred[i] for i in idx]
        agreed = sum(t == p for t, p in zip(truth, pred, strict=True))
        rows.append(
            {
                "group": group,
                "n": len(idx),
                "agreement": agreed / len(idx),
                "kappa": kappa(truth, pred, labels),
                "small": len(idx) < SMALL_GROUP,
            }
        )
    return rows


def report(
    y_true: Sequence[str],
    y_pred: Sequence[str],
    confidence: Sequence[float],
    labels: Sequence[str],
    *,
    default_threshold: float,
    n_bins: int = 10,
) -> dict[str, Any]:
    """Everything the validation page shows about one model on one set of items."""
    matrix = confusion(y_true, y_pred, labels)
    rates = per_label_rates(matrix, labels)
    correct = [t == p for t, p in zip(y_true, y_pred, strict=True)]
    diagram = reliability(confidence, correct, n_bins=n_bins)
    n = len(y_true)
    return {
        "n": n,
        "labels": list(labels),
        "agreement": sum(correct) / n if n else None,
        "kappa": kappa(y_true, y_pred, labels),
        "confusion": matrix,
        "rates": rates,
        "poor": poor_emotions(rates),
        "reliability": {
            "mean_confidence": diagram.mean_confidence,
            "fraction_correct": diagram.fraction_correct,
            "counts": diagram.counts,
        },
        "thresholds": emotion_thresholds(
            y_true, y_pred, confidence, labels, default=default_threshold
        ),
    }


# --- child-level cross-validation of a head ---------------------------------------------------


def child_cross_validation(
    x: np.ndarray,
    y: np.ndarray,
    groups: Sequence[str],
    evaluate: Sequence[bool],
    fit: Callable[[np.ndarray, np.ndarray], Callable[[np.ndarray], np.ndarray]],
    *,
    n_splits: int = 5,
    train_allowed: Sequence[bool] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold probabilities for the rows marked ``evaluate`` (the blind labels), with
    folds by child (``groups``): a child's rows are never both trained on and evaluated.
    Rows with ``train_allowed`` false (no training consent) are evaluated, never trained on.

    ``fit(x, y)`` returns a function from features to class probabilities. Returns the indices
    of the evaluated rows and their probability rows (rows of children no fold could hold out,
    when there are fewer children than two, are left out).
    """
    from sklearn.model_selection import GroupKFold

    groups_arr = np.asarray(list(groups), dtype=object)
    allowed = (
        np.ones(len(groups_arr), dtype=bool)
        if train_allowed is None
        else np.asarray(list(train_allowed), dtype=bool)
    )
    wanted = np.asarray(list(evaluate), dtype=bool)
    n_groups = len(set(groups_arr[wanted].tolist())) if wanted.any() else 0
    if n_groups < 2:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0))
    splitter = GroupKFold(n_splits=min(n_splits, n_groups))
    eval_children = groups_arr[wanted]
    indices: list[np.ndarray] = []
    probabilities: list[np.ndarray] = []
    eval_rows = np.flatnonzero(wanted)
    for _train_idx, test_idx in splitter.split(eval_rows, groups=eval_children):
        held_out = set(eval_children[test_idx].tolist())
        train_mask = np.array([g not in held_out for g in groups_arr]) & allowed
        if len(set(y[train_mask].tolist())) < 2:
            continue
        predict = fit(x[train_mask], y[train_mask])
        rows = eval_rows[test_idx]
        indices.append(rows)
        probabilities.append(predict(x[rows]))
    if not indices:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0))
    return np.concatenate(indices), np.concatenate(probabilities)
