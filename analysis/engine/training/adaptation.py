"""Adapting a head to one clinic, on feature rows: a logistic head (``heads.fit_logistic``)
trained on the rows that may be trained on (children with training consent), with its answers
on the evaluated rows (the blind labels) from child-level cross-validation
(``agreement.child_cross_validation``: a fold never trains on the child it evaluates).

Plain numpy; the Django side (``sessions.validation.jobs``) gathers and caches the feature rows,
the benchmark (``analysis.engine.benchmarks.agreement``) builds them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from analysis.engine.classifiers.features_head import HeadEnsemble
from analysis.engine.labels import CANONICAL_LABELS
from analysis.engine.training import agreement
from analysis.engine.training.heads import fit_logistic


def fit_head(x: np.ndarray, y: np.ndarray) -> HeadEnsemble:
    """One logistic head over the canonical labels (``y``: indices into CANONICAL_LABELS)."""
    return HeadEnsemble(
        labels=list(CANONICAL_LABELS), heads=[fit_logistic(x, y, len(CANONICAL_LABELS))]
    )


def _fit(x: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    return fit_head(x, y).predict_proba


@dataclass
class Adaptation:
    """The final head, and the out-of-fold answers on the evaluated rows."""

    ensemble: HeadEnsemble
    oof_index: np.ndarray
    oof_probabilities: np.ndarray


def adapt(
    x: np.ndarray,
    labels: Sequence[str],
    groups: Sequence[str],
    evaluate: Sequence[bool],
    trainable: Sequence[bool],
    *,
    n_splits: int = 5,
) -> Adaptation:
    """Child-level cross-validated answers on the ``evaluate`` rows and the final head on all
    ``trainable`` rows."""
    index = {label: i for i, label in enumerate(CANONICAL_LABELS)}
    y = np.array([index[label] for label in labels], dtype=np.int64)
    oof_idx, oof_probs = agreement.child_cross_validation(
        x, y, groups, evaluate, _fit, n_splits=n_splits, train_allowed=trainable
    )
    mask = np.asarray(trainable, dtype=bool)
    return Adaptation(
        ensemble=fit_head(x[mask], y[mask]), oof_index=oof_idx, oof_probabilities=oof_probs
    )
