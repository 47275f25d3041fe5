"""Heads on feature vectors: multinomial logistic regression (linear or on random Fourier
features) and a small MLP, fitted with scikit-learn or torch and exported as numpy operations
(``analysis.engine.classifiers.features_head.Head``), so nothing pickled is ever written. Every
fit is reproducible from ``seed``; torch is imported only by the MLP.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from analysis.engine.classifiers.features_head import Head
from analysis.engine.training.datasets import LabelledClip, group_holdout

if TYPE_CHECKING:
    import torch  # imported where it is used: importing the heads costs no torch


def group_stubs(groups: np.ndarray) -> list[LabelledClip]:
    """Placeholder clips carrying only a group, so feature rows split like clips do."""
    stub = np.zeros(1, dtype=np.float32)
    return [LabelledClip(label="neutral", group=str(g), audio=stub) for g in groups]


def _standardizer(x: np.ndarray) -> tuple[dict[str, Any], dict[str, np.ndarray], np.ndarray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-8] = 1.0
    return (
        {"op": "standardize", "mean": "mean", "scale": "scale"},
        {"mean": mean, "scale": scale},
        (x - mean) / scale,
    )


def _balanced_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    weights = np.zeros(n_classes)
    present = counts > 0
    weights[present] = len(y) / (present.sum() * counts[present])
    return weights


def _full_linear(
    coef: np.ndarray, intercept: np.ndarray, classes: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Expand a classifier's rows for the classes it saw to all k outputs (others at -inf-ish)."""
    weight = np.zeros((k, coef.shape[1]))
    bias = np.full(k, -30.0)  # an unseen class gets ~zero probability
    weight[classes] = coef
    bias[classes] = intercept
    return weight, bias


def fit_logistic(
    x: np.ndarray, y: np.ndarray, n_classes: int, *, c: float = 0.01, seed: int = 0
) -> Head:
    """Standardise + multinomial logistic regression with balanced class weights."""
    from sklearn.linear_model import LogisticRegression

    op, arrays, z = _standardizer(x)
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000, random_state=seed)
    model.fit(z, y)
    coef, intercept = model.coef_, model.intercept_
    if len(model.classes_) == 2:  # sklearn keeps one row for binary problems
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    weight, bias = _full_linear(coef, intercept, model.classes_, n_classes)
    arrays.update({"w": weight, "b": bias})
    return Head(ops=[op, {"op": "linear", "weight": "w", "bias": "b"}], arrays=arrays)


def fit_kernel_logistic(
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    *,
    c: float = 1.0,
    gamma_scale: float = 1.0,
    landmarks: int = 600,
    seed: int = 0,
) -> Head:
    """RBF-kernel logistic regression via a Nystroem map (an SVM-like head numpy can run).

    gamma = gamma_scale / n_features on standardised features (sklearn's "scale" heuristic).
    """
    from sklearn.kernel_approximation import Nystroem
    from sklearn.linear_model import LogisticRegression

    op, arrays, z = _standardizer(x)
    gamma = gamma_scale / z.shape[1]
    nystroem = Nystroem(gamma=gamma, n_components=min(landmarks, len(z)), random_state=seed).fit(z)
    phi = nystroem.transform(z)
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000, random_state=seed)
    model.fit(phi, y)
    coef, intercept = model.coef_, model.intercept_
    if len(model.classes_) == 2:
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    weight, bias = _full_linear(coef, intercept, model.classes_, n_classes)
    arrays.update(
        {
            "landmarks": nystroem.components_,
            "nystroem": nystroem.normalization_,
            "w": weight,
            "b": bias,
        }
    )
    ops = [
        op,
        {"op": "rbf", "landmarks": "landmarks", "gamma": gamma},
        {"op": "linear", "weight": "nystroem"},
        {"op": "linear", "weight": "w", "bias": "b"},
    ]
    return Head(ops=ops, arrays=arrays)


def _train_mlp_epochs(
    z: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    *,
    hidden: int,
    dropout: float,
    weight_decay: float,
    lr: float,
    epochs: int,
    seed: int,
    input_noise: float,
    monitor: Callable[[Any], float] | None = None,
) -> tuple[torch.nn.Sequential, list[float]]:
    """Train a 1-hidden-layer MLP; returns (model, per-epoch monitor scores)."""
    import torch

    # A head this small trains ~10x faster on one thread than on two busy shared cores.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _mlp_loop(
            z,
            y,
            n_classes,
            hidden=hidden,
            dropout=dropout,
            weight_decay=weight_decay,
            lr=lr,
            epochs=epochs,
            seed=seed,
            input_noise=input_noise,
            monitor=monitor,
        )
    finally:
        torch.set_num_threads(threads)


def _mlp_loop(
    z: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    *,
    hidden: int,
    dropout: float,
    weight_decay: float,
    lr: float,
    epochs: int,
    seed: int,
    input_noise: float,
    monitor: Callable[[Any], float] | None,
) -> tuple[torch.nn.Sequential, list[float]]:
    import torch

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Dropout(dropout / 2),
        torch.nn.Linear(z.shape[1], hidden),
        torch.nn.ReLU(),
        torch.nn.Dropout(dropout),
        torch.nn.Linear(hidden, n_classes),
    )
    class_weights = torch.tensor(_balanced_weights(y, n_classes), dtype=torch.float32)
    loss_fn = torch.nn.CrossEntropyLoss(weight=class_weights, label_smoothing=0.05)
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    xt = torch.tensor(z, dtype=torch.float32)
    yt = torch.tensor(y, dtype=torch.int64)
    scores: list[float] = []
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(xt), generator=gen)
        for start in range(0, len(xt), 64):
            idx = order[start : start + 64]
            batch = xt[idx]
            if input_noise:
                batch = batch + input_noise * torch.randn(batch.shape, generator=gen)
            optimiser.zero_grad()
            loss_fn(model(batch), yt[idx]).backward()
            optimiser.step()
        if monitor is not None:
            model.eval()
            scores.append(monitor(model))
    model.eval()
    return model, scores


def fit_mlp(
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    *,
    groups: np.ndarray | None = None,
    hidden: int = 256,
    dropout: float = 0.5,
    weight_decay: float = 1e-2,
    lr: float = 1e-3,
    max_epochs: int = 60,
    input_noise: float = 0.1,
    seed: int = 0,
    holdout_fraction: float = 0.2,
) -> Head:
    """Standardise + one-hidden-layer MLP (torch), exported as numpy operations.

    With ``groups`` (two or more speakers), the epoch count is chosen by early stopping on
    held-out speakers (best unweighted accuracy, smoothed), then the MLP is refitted on all
    data for that many epochs; without groups it trains for ``max_epochs // 2``.
    """
    import torch

    epochs = max_epochs // 2
    if groups is not None and len(set(groups.tolist())) >= 3:
        train_idx, val_idx = group_holdout(group_stubs(groups), holdout_fraction, seed)
        _, stats, z_train = _standardizer(x[train_idx])
        z_val = torch.tensor((x[val_idx] - stats["mean"]) / stats["scale"], dtype=torch.float32)
        y_val = y[val_idx]

        def monitor(model: Any) -> float:
            with torch.no_grad():
                pred = model(z_val).argmax(dim=1).numpy()
            recalls = [np.mean(pred[y_val == c] == c) for c in np.unique(y_val)]
            return float(np.mean(recalls))

        _, scores = _train_mlp_epochs(
            z_train,
            y[train_idx],
            n_classes,
            hidden=hidden,
            dropout=dropout,
            weight_decay=weight_decay,
            lr=lr,
            epochs=max_epochs,
            seed=seed,
            input_noise=input_noise,
            monitor=monitor,
        )
        smoothed = np.convolve(scores, np.ones(5) / 5, mode="same")
        epochs = int(np.argmax(smoothed)) + 1
        epochs = max(epochs, 10)

    op, arrays, z = _standardizer(x)
    model, _ = _train_mlp_epochs(
        z,
        y,
        n_classes,
        hidden=hidden,
        dropout=dropout,
        weight_decay=weight_decay,
        lr=lr,
        epochs=epochs,
        seed=seed,
        input_noise=input_noise,
    )
    # The two Linear layers of the Sequential built in _mlp_loop.
    first, last = cast("torch.nn.Linear", model[1]), cast("torch.nn.Linear", model[4])
    unseen = np.bincount(y, minlength=n_classes) == 0
    w2 = last.weight.detach().numpy().astype(np.float64)
    b2 = last.bias.detach().numpy().astype(np.float64)
    w2[unseen], b2[unseen] = 0.0, -30.0  # a label never trained on gets ~zero probability
    arrays.update(
        {
            "w1": first.weight.detach().numpy().astype(np.float64),
            "b1": first.bias.detach().numpy().astype(np.float64),
            "w2": w2,
            "b2": b2,
        }
    )
    ops = [
        op,
        {"op": "linear", "weight": "w1", "bias": "b1"},
        {"op": "relu"},
        {"op": "linear", "weight": "w2", "bias": "b2"},
    ]
    head = Head(ops=ops, arrays=arrays)
    head.arrays["epochs"] = np.array([float(epochs)])  # recorded for the model card
    return head
