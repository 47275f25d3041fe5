"""Agreement statistics on constructed data whose answers are worked out by hand."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from analysis.engine.training import agreement

LABELS = ["neutral", "happy", "sad"]


def test_kappa_perfect_chance_and_known_value() -> None:
    truth = ["neutral", "happy", "sad", "happy"]
    assert agreement.kappa(truth, truth, LABELS) == pytest.approx(1.0)
    # 2x2 table [[20, 5], [10, 15]]: po = 0.7, pe = 0.5*0.6 + 0.5*0.4 = 0.5, kappa = 0.4.
    a = ["happy"] * 25 + ["sad"] * 25
    b = ["happy"] * 20 + ["sad"] * 5 + ["happy"] * 10 + ["sad"] * 15
    assert agreement.kappa(a, b, LABELS) == pytest.approx(0.4)
    assert agreement.kappa([], [], LABELS) is None
    assert agreement.kappa(["sad", "sad"], ["sad", "sad"], LABELS) is None


def test_confusion_and_rates_by_hand() -> None:
    truth = ["neutral", "neutral", "neutral", "happy", "happy", "sad"]
    pred = ["neutral", "neutral", "happy", "happy", "sad", "sad"]
    matrix = agreement.confusion(truth, pred, LABELS)
    assert matrix == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    rates = {row["label"]: row for row in agreement.per_label_rates(matrix, LABELS)}
    assert rates["neutral"]["recall"] == pytest.approx(2 / 3)
    assert rates["neutral"]["precision"] == pytest.approx(1.0)
    assert rates["happy"]["recall"] == pytest.approx(0.5)
    assert rates["happy"]["precision"] == pytest.approx(0.5)
    assert rates["sad"]["precision"] == pytest.approx(0.5)
    assert all(row["small"] for row in rates.values())
    empty = agreement.per_label_rates([[0, 0, 0], [0, 0, 0], [0, 0, 0]], LABELS)
    assert empty[0]["recall"] is None and empty[0]["precision"] is None


def test_reliability_bins_with_counts() -> None:
    # Five items at 0.15 (one right), five at 0.85 (four right).
    conf = [0.15] * 5 + [0.85] * 5
    correct = [True, False, False, False, False, True, True, True, True, False]
    diagram = agreement.reliability(conf, correct, n_bins=10)
    assert diagram.mean_confidence == pytest.approx([0.15, 0.85])
    assert diagram.fraction_correct == pytest.approx([0.2, 0.8])
    assert diagram.counts == [5, 5]
    # One outcome only (calibration_curve refuses it): the share is that outcome.
    assert agreement.reliability([0.3, 0.9], [True, True]).fraction_correct == [1.0, 1.0]
    assert agreement.reliability([], []).counts == []


def test_thresholds_learnt_defaulted_and_never() -> None:
    # "happy" 20 times: right at confidence >= 0.6 (10 items), wrong below (10 items).
    conf_h = list(np.linspace(0.95, 0.6, 10)) + list(np.linspace(0.55, 0.3, 10))
    truth_h = ["happy"] * 10 + ["sad"] * 10
    # "sad" 10 times, always wrong; "neutral" 3 times (too few to learn from).
    truth = truth_h + ["neutral"] * 10 + ["neutral"] * 3
    pred = ["happy"] * 20 + ["sad"] * 10 + ["neutral"] * 3
    conf = conf_h + [0.9] * 10 + [0.5] * 3
    out = agreement.emotion_thresholds(truth, pred, conf, LABELS, default=0.4)
    assert out["happy"]["source"] == "clinic"
    # At 0.6 the top 10 are all right; adding the 0.55 item: 10/11 >= 0.7 still, and so on
    # until precision drops below 0.7: 10/14 = 0.714 (0.45), 10/15 = 0.667 (0.42...).
    lows = list(np.linspace(0.55, 0.3, 10))
    assert out["happy"]["threshold"] == pytest.approx(lows[3])
    assert out["sad"] == {"threshold": agreement.NEVER, "source": "never", "n": 10}
    assert out["neutral"] == {"threshold": 0.4, "source": "default", "n": 3}


def test_poor_emotions_need_enough_items() -> None:
    rows = [
        {"label": "happy", "support": 12, "predicted": 12, "recall": 0.3, "precision": 0.9},
        {"label": "sad", "support": 3, "predicted": 3, "recall": 0.0, "precision": 0.0},
        {"label": "neutral", "support": 20, "predicted": 20, "recall": 0.8, "precision": 0.8},
    ]
    assert agreement.poor_emotions(rows) == ["happy"]


def test_group_agreement_counts_and_flags() -> None:
    groups = ["child-a"] * 12 + ["child-b"] * 2
    truth = ["happy"] * 6 + ["sad"] * 6 + ["sad", "sad"]
    pred = ["happy"] * 6 + ["sad"] * 3 + ["happy"] * 3 + ["sad", "happy"]
    rows = {row["group"]: row for row in agreement.group_agreement(groups, truth, pred, LABELS)}
    assert rows["child-a"]["n"] == 12 and not rows["child-a"]["small"]
    assert rows["child-a"]["agreement"] == pytest.approx(0.75)
    # [[6, 0], [3, 3]]: po 0.75, pe 0.5*0.75 + 0.5*0.25 = 0.5, kappa 0.5
    assert rows["child-a"]["kappa"] == pytest.approx(0.5)
    assert rows["child-b"]["small"] and rows["child-b"]["agreement"] == 0.5


def test_child_cross_validation_never_trains_on_the_evaluated_child() -> None:
    groups = ["a"] * 4 + ["b"] * 4 + ["c"] * 4
    x = np.arange(12, dtype=np.float64).reshape(-1, 1)
    y = np.array([0, 1] * 6)
    evaluate = [i % 2 == 0 for i in range(12)]
    seen: list[set[float]] = []

    def fit(xt: np.ndarray, yt: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        seen.append(set(xt[:, 0].tolist()))

        def predict(xs: np.ndarray) -> np.ndarray:
            return np.tile([0.5, 0.5], (len(xs), 1))

        return predict

    idx, probs = agreement.child_cross_validation(x, y, groups, evaluate, fit, n_splits=3)
    assert sorted(idx.tolist()) == [0, 2, 4, 6, 8, 10]
    assert probs.shape == (6, 2)
    assert len(seen) == 3
    for train in seen:
        # Each fold trains on exactly two children's rows (8 rows), never the held-out one.
        assert len(train) == 8
    held = [set(range(12)) - train for train in seen]
    assert sorted(min(h) for h in held) == [0, 4, 8]


def test_report_puts_it_together() -> None:
    truth = ["happy"] * 10 + ["sad"] * 10
    pred = ["happy"] * 10 + ["sad"] * 4 + ["happy"] * 6
    out = agreement.report(truth, pred, [0.8] * 20, LABELS, default_threshold=0.4)
    # [[10, 0], [6, 4]]: po 0.7, pe 0.5*0.8 + 0.5*0.2 = 0.5, kappa 0.4
    assert out["n"] == 20 and out["agreement"] == pytest.approx(0.7)
    assert out["kappa"] == pytest.approx(0.4)
    assert out["confusion"][2] == [0, 6, 4]
    # sad's recall 0.4 on 10 items is poor; happy's precision 10/16 is not below 0.5
    assert out["poor"] == ["sad"]
    assert out["reliability"]["counts"] == [20]


def test_child_cross_validation_trains_only_on_allowed_rows() -> None:
    groups = ["a"] * 4 + ["b"] * 4 + ["c"] * 4
    x = np.arange(12, dtype=np.float64).reshape(-1, 1)
    y = np.array([0, 1] * 6)
    allowed = [g != "c" for g in groups]  # child c: no training consent
    seen: list[set[float]] = []

    def fit(xt: np.ndarray, yt: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        seen.append(set(xt[:, 0].tolist()))
        return lambda xs: np.tile([0.5, 0.5], (len(xs), 1))

    idx, _ = agreement.child_cross_validation(
        x, y, groups, [True] * 12, fit, n_splits=3, train_allowed=allowed
    )
    assert sorted(idx.tolist()) == list(range(12))  # c is still evaluated
    assert all(not (train & {8.0, 9.0, 10.0, 11.0}) for train in seen)
