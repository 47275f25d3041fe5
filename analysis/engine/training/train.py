"""Training features-plus-head emotion models.

* ``train_default_model``: the shipped default (acoustic statistics + an ensemble of heads) on
  a RAVDESS-style directory, with its 5-fold speaker cross-validation written into the card.
* ``train_head_on_encoder``: a head on pooled hidden states of a frozen imported encoder, used
  by clinics to adapt a model from therapist-corrected segments.

Heads are fitted with scikit-learn or torch and exported as numpy operations
(``analysis.engine.classifiers.features_head``), so nothing pickled is ever written. Everything is
reproducible from ``seed``: fold assignment, augmentation, initialisation and minibatches.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from analysis.engine.classifiers.features import (
    ACOUSTIC_VERSION,
    FeatureCache,
    FrozenEncoder,
    acoustic_features,
)
from analysis.engine.classifiers.features_head import (
    FeaturesHeadClassifier,
    Head,
    HeadEnsemble,
    write_model,
)
from analysis.engine.labels import CANONICAL_LABELS
from analysis.engine.training.datasets import (
    LabelledClip,
    group_holdout,
    group_kfold,
    label_counts,
    label_indices,
    scan_ravdess,
)
from analysis.engine.training.evaluation import metrics_from_probabilities, summarise_folds

if TYPE_CHECKING:
    import torch  # imported where it is used: importing training costs no torch

Extractor = Callable[[np.ndarray], np.ndarray]


# --- heads -------------------------------------------------------------------------------


def _group_stubs(groups: np.ndarray) -> list[LabelledClip]:
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
        train_idx, val_idx = group_holdout(_group_stubs(groups), holdout_fraction, seed)
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


# --- recipes -----------------------------------------------------------------------------


@dataclass
class HeadRecipe:
    """Which heads to fit on a feature matrix, and how to weight them in the ensemble."""

    heads: list[str] = field(default_factory=lambda: ["mlp", "logistic"])
    weights: list[float] = field(default_factory=list)
    options: dict[str, dict[str, Any]] = field(default_factory=dict)

    def fit(
        self, x: np.ndarray, y: np.ndarray, groups: np.ndarray | None, seed: int
    ) -> HeadEnsemble:
        from threadpoolctl import threadpool_limits

        # One BLAS/OpenMP thread: these fits are small, and on shared cores extra threads
        # thrash (logistic regression ran 30x slower with two threads on a busy machine).
        with threadpool_limits(limits=1):
            return self._fit(x, y, groups, seed)

    def _fit(
        self, x: np.ndarray, y: np.ndarray, groups: np.ndarray | None, seed: int
    ) -> HeadEnsemble:
        n_classes = len(CANONICAL_LABELS)
        fitted = []
        for i, name in enumerate(self.heads):
            opts = self.options.get(name, {})
            if name == "logistic":
                fitted.append(fit_logistic(x, y, n_classes, seed=seed + i, **opts))
            elif name == "kernel_logistic":
                fitted.append(fit_kernel_logistic(x, y, n_classes, seed=seed + i, **opts))
            elif name == "mlp":
                fitted.append(fit_mlp(x, y, n_classes, groups=groups, seed=seed + i, **opts))
            else:
                raise ValueError(f"Unknown head {name!r}.")
        for head in fitted:
            head.arrays.pop("epochs", None)
        return HeadEnsemble(labels=list(CANONICAL_LABELS), heads=fitted, weights=list(self.weights))

    def describe(self) -> dict[str, Any]:
        return {"heads": self.heads, "weights": self.weights, "options": self.options}


def features_for_clips(
    clips: Sequence[LabelledClip],
    extractor: Extractor,
    *,
    tag: str,
    cache_dir: Path | None = None,
    augment: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
    seed: int = 0,
    copy: int = 0,
) -> np.ndarray:
    """Feature matrix for clips; ``copy`` > 0 extracts from a seeded augmented version."""
    cache = FeatureCache(cache_dir) if cache_dir is not None else None
    rows = []
    for i, clip in enumerate(clips):

        def compute(clip: LabelledClip = clip, i: int = i) -> np.ndarray:
            audio = clip.load()
            if copy and augment is not None:
                audio = augment(audio, np.random.default_rng([seed, copy, i]))
            return extractor(audio)

        key = clip.cache_key
        if cache is None or not key:
            rows.append(compute())
        else:
            rows.append(cache.get_or_compute(f"{tag}|copy{copy}|seed{seed}", key, compute))
    return np.stack(rows)


def cross_validate_features(
    recipe: HeadRecipe,
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    *,
    folds: int = 5,
    seed: int = 0,
    augmented: Sequence[np.ndarray] = (),
) -> dict[str, Any]:
    """Speaker K-fold CV of a head recipe on precomputed features (augmented rows train only)."""
    per_fold = []
    for fold, (train_idx, test_idx) in enumerate(group_kfold(_group_stubs(groups), folds, seed)):
        x_train = np.concatenate([x[train_idx], *[a[train_idx] for a in augmented]])
        y_train = np.concatenate([y[train_idx]] * (1 + len(augmented)))
        g_train = np.concatenate([groups[train_idx]] * (1 + len(augmented)))
        ensemble = recipe.fit(x_train, y_train, g_train, seed + fold)
        probs = ensemble.predict_proba(x[test_idx])
        result = metrics_from_probabilities(y[test_idx], probs)
        result["fold"] = fold
        result["test_groups"] = sorted(set(groups[test_idx].tolist()))
        per_fold.append(result)
    return {"folds": per_fold, "mean": summarise_folds(per_fold), "seed": seed}


# --- model cards -------------------------------------------------------------------------


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def cv_table(cv: dict[str, Any]) -> str:
    rows = ["| grouping | UA (mean ± sd) | WA (mean ± sd) |", "|---|---|---|"]
    for grouping, title in (
        ("eight_class", "8 classes"),
        ("four_class", "4 classes (neutral/happy/sad/angry)"),
        ("valence", "3 valence classes"),
    ):
        m = cv["mean"][grouping]
        rows.append(
            f"| {title} | {_pct(m['ua_mean'])} ± {_pct(m['ua_std'])} "
            f"| {_pct(m['wa_mean'])} ± {_pct(m['wa_std'])} |"
        )
    return "\n".join(rows)


def confusion_table(cv: dict[str, Any]) -> str:
    conf = cv["mean"]["eight_class"]["confusion"]
    labels = conf["labels"]
    rows = ["| true \\ predicted | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    for label, row in zip(labels, conf["matrix"], strict=True):
        rows.append(f"| {label} | " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(rows)


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# --- entry points ------------------------------------------------------------------------

# Chosen by 5-fold actor CV on RAVDESS (analysis/engine/benchmarks/experiments/RESULTS.md): the MLP
# and a strongly
# regularised logistic regression make different errors, and averaging them beat either alone.
DEFAULT_RECIPE = HeadRecipe(heads=["mlp", "logistic"], options={"logistic": {"c": 0.01}})


def train_default_model(
    data_dir: Path | str,
    out_dir: Path | str,
    *,
    seed: int = 0,
    recipe: HeadRecipe | None = None,
    augmented_copies: int = 0,
    folds: int = 5,
    cache_dir: Path | str | None = None,
    name: str = "ser-default",
    version: str = "1",
    card_notes: str = "",
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train the default acoustic-features model on a RAVDESS-style directory.

    Extracts acoustic features (plus ``augmented_copies`` seeded augmented versions of every
    clip, used for training only), measures ``folds``-fold actor cross-validation of the head
    recipe, fits the final ensemble on all actors and writes ``out_dir`` (manifest, head files,
    MODEL_CARD.md, cv.json). Overwrites an existing ``out_dir``. Returns the CV summary.
    """
    from analysis.engine.audio.augment import default_augmenter

    started = time.time()
    recipe = recipe or DEFAULT_RECIPE
    out_dir = Path(out_dir)
    clips = scan_ravdess(data_dir)
    cache = Path(cache_dir) if cache_dir is not None else None
    tag = f"acoustic_v{ACOUSTIC_VERSION}"
    augment = default_augmenter()
    x = features_for_clips(clips, acoustic_features, tag=tag, cache_dir=cache, seed=seed)
    augmented = [
        features_for_clips(
            clips, acoustic_features, tag=tag, cache_dir=cache, augment=augment, seed=seed, copy=c
        )
        for c in range(1, augmented_copies + 1)
    ]
    log(
        f"features: {x.shape} (+{augmented_copies} augmented copies) "
        f"in {time.time() - started:.0f} s"
    )
    y = label_indices(clips)
    groups = np.array([clip.group for clip in clips])
    cv = cross_validate_features(recipe, x, y, groups, folds=folds, seed=seed, augmented=augmented)
    log(f"{folds}-fold actor CV 8-class UA {_pct(cv['mean']['eight_class']['ua_mean'])}")
    ensemble = recipe.fit(
        np.concatenate([x, *augmented]),
        np.concatenate([y] * (1 + len(augmented))),
        np.concatenate([groups] * (1 + len(augmented))),
        seed,
    )
    if out_dir.exists():
        shutil.rmtree(out_dir)
    write_model(
        out_dir,
        ensemble,
        features="acoustic",
        name=name,
        version=version,
        architecture="acoustic statistics + " + " / ".join(recipe.heads) + " ensemble",
        extra={"acoustic_version": ACOUSTIC_VERSION, "recipe": recipe.describe(), "seed": seed},
    )
    elapsed = time.time() - started
    (out_dir / "cv.json").write_text(json.dumps(cv, indent=1) + "\n")
    _write_default_card(
        out_dir,
        cv=cv,
        clips=clips,
        recipe=recipe,
        seed=seed,
        elapsed=elapsed,
        augmented_copies=augmented_copies,
        notes=card_notes,
        data_dir=Path(data_dir),
        name=name,
        version=version,
    )
    log(f"wrote {out_dir} in {elapsed:.0f} s")
    return {"cv": cv["mean"], "train_seconds": elapsed, "size_bytes": _dir_size(out_dir)}


def _write_default_card(
    out_dir: Path,
    *,
    cv: dict[str, Any],
    clips: Sequence[LabelledClip],
    recipe: HeadRecipe,
    seed: int,
    elapsed: float,
    augmented_copies: int,
    notes: str,
    data_dir: Path,
    name: str,
    version: str,
) -> None:
    actors = sorted({clip.group for clip in clips})
    augmentation = (
        f"{augmented_copies} seeded augmented copies of each clip (speed 0.92-1.08, time shift, "
        "gain ±6 dB, white noise 15-35 dB SNR)"
        if augmented_copies
        else "no augmentation (it did not help in cross-validation)"
    )
    counts = label_counts(clips)
    card = f"""# {name} v{version}: speech emotion model (acoustic features + head ensemble)

Kind `features_head`. Input: mono 16 kHz speech, any length (one prediction per clip/window).
Output: probabilities over the 8 canonical labels ({", ".join(CANONICAL_LABELS)}).

## Model
- Features: {x_dim_text()} utterance statistics
(`analysis.engine.classifiers.features.acoustic_features`,
  version {ACOUSTIC_VERSION}): MFCC 1-20 with deltas, 40 log-mel bands, spectral contrast,
  energy, spectral centroid/bandwidth/rolloff/flatness, zero-crossing rate, pitch (Praat
  autocorrelation) statistics in semitones, voiced ratio, jitter, shimmer, HNR, a
  speaking-rate proxy. Statistics over frames within 35 dB of the loudest frame.
- Head: ensemble ({", ".join(recipe.heads)}; weights {recipe.weights or "equal"}) exported
  as numpy operations (`head.json` + `head.safetensors`, no pickle).
  Options: `{json.dumps(recipe.options)}`.
- Training: class-balanced losses; {augmentation}; MLP epoch count chosen by early stopping
  on held-out actors, then refitted on all training actors. Seed {seed}.

## Data
RAVDESS speech (Livingstone & Russo 2018, https://doi.org/10.1371/journal.pone.0196391),
development split: {len(clips)} clips from {len(actors)} actors ({", ".join(actors)}),
16 kHz mono (`{data_dir}`). Actors 01, 11, 20, 21 were not used (held out for independent
testing, EmoBox fold-1 protocol). Clips per label: {json.dumps(counts)}.

**Licence: CC BY-NC-SA 4.0, inherited from RAVDESS** (non-commercial use, share-alike,
attribution).

## Measured performance (5-fold cross-validation by actor, never by clip)
UA = unweighted accuracy (mean per-class recall), WA = weighted accuracy (plain accuracy);
each fold trains on 16 actors and tests on 4 unseen actors; the final model is then
refitted on all 20.

{cv_table(cv)}

Summed 8-class confusion over the folds (rows true):

{confusion_table(cv)}

## Cost
- Training time (features, CV and final fit, 2 CPU cores): {elapsed / 60:.1f} min.
- Size on disk: {_dir_size(out_dir) / 1e6:.2f} MB.

{notes}

## Limitations
- Trained on acted, read adult speech (two fixed sentences, North American actors,
  studio quality). It has **not been validated on children's speech** or on spontaneous
  speech in therapy rooms; expect markedly lower accuracy there and check it on corrected
  clinic segments (`evaluate_model`) before relying on it.
- 8-class speaker-independent accuracy is modest: treat outputs as soft cues for the
  therapist, never as ground truth. **This is not a diagnostic device.**
- Windowed use: trained on whole utterances of about 3-5 s; very short windows (< 1 s)
  give unreliable statistics.
- Recommended for sites with Hugging Face Hub access: import
  `superb/wav2vec2-base-superb-er` (kind `hf_audio_classification`, 4 classes) or adapt a
  head on a frozen pretrained encoder with `train_head_on_encoder`; pretrained
  self-supervised encoders are substantially stronger on this task (EmoBox, arXiv 2406.07162).

Reproduce: `train_default_model("{data_dir}", "<out dir>", seed={seed})` (see
analysis/engine/benchmarks/experiments/RESULTS.md).
"""
    (out_dir / "MODEL_CARD.md").write_text(card)


def x_dim_text() -> str:
    from analysis.engine.classifiers.features import acoustic_dimension

    return str(acoustic_dimension())


def train_head_on_encoder(
    encoder_dir: Path | str,
    clips: Sequence[LabelledClip],
    out_dir: Path | str,
    *,
    seed: int = 0,
    head: str = "logistic",
    layers: Sequence[int] | str = "all",
    pooling: str = "mean",
    name: str = "ser-encoder-head",
    version: str = "1",
    augmented_copies: int = 0,
    cache_dir: Path | str | None = None,
    head_options: dict[str, Any] | None = None,
    keep_layers: int | None = None,
) -> FeaturesHeadClassifier:
    """Fit a head on pooled hidden states of a frozen encoder and write a loadable model.

    ``clips`` may be in-memory arrays (therapist-corrected segments) or paths; their ``group``
    (speaker or child) drives early stopping for the "mlp" head. The encoder directory is
    copied into ``out_dir/encoder`` so the model directory is self-contained. ``head`` is
    "logistic", "kernel_logistic" or "mlp". ``keep_layers`` N runs only the encoder's first N
    transformer layers, in training and at inference (stored in the manifest's features; see
    ``FrozenEncoder``). Overwrites an existing ``out_dir``.
    """
    from analysis.engine.audio.augment import default_augmenter
    from analysis.engine.classifiers.base import read_manifest

    if not clips:
        raise ValueError("No clips to train on.")
    encoder_dir = Path(encoder_dir)
    out_dir = Path(out_dir)
    encoder = FrozenEncoder(encoder_dir, layers=layers, pooling=pooling, keep_layers=keep_layers)
    tag = f"encoder|{encoder_dir.resolve()}|{json.dumps(encoder.describe())}"
    cache = Path(cache_dir) if cache_dir is not None else None
    x = features_for_clips(clips, encoder, tag=tag, cache_dir=cache, seed=seed)
    augment = default_augmenter()
    augmented = [
        features_for_clips(
            clips, encoder, tag=tag, cache_dir=cache, augment=augment, seed=seed, copy=c
        )
        for c in range(1, augmented_copies + 1)
    ]
    y = label_indices(clips)
    groups = np.array([clip.group for clip in clips])
    recipe = HeadRecipe(heads=[head], options={head: head_options or {}})
    ensemble = recipe.fit(
        np.concatenate([x, *augmented]),
        np.concatenate([y] * (1 + len(augmented))),
        np.concatenate([groups] * (1 + len(augmented))),
        seed,
    )
    # Only the labels seen in training are offered; others would be guesses.
    seen = sorted(set(y.tolist()))
    ensemble = _restrict_labels(ensemble, seen)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    shutil.copytree(encoder_dir, out_dir / "encoder")
    features = {"encoder": "encoder", **encoder.describe()}
    write_model(
        out_dir,
        ensemble,
        features=features,
        name=name,
        version=version,
        architecture=f"frozen {encoder.model.config.model_type} encoder + {head} head",
        extra={"seed": seed, "train_clips": len(clips)},
    )
    counts = {k: v for k, v in label_counts(clips).items() if v}
    kept = "" if keep_layers is None else f" of its first {keep_layers} transformer layers"
    (out_dir / "MODEL_CARD.md").write_text(
        f"# {name} v{version}\n\nHead ({head}) on {pooling}-pooled hidden states (layers "
        f"{features['layers']}{kept}) of the frozen encoder copied from "
        f"`{encoder_dir.name}`.\n\n"
        f"Trained on {len(clips)} clips from {len(set(groups.tolist()))} speakers/groups; "
        f"labels: {json.dumps(counts)}. Seed {seed}.\n\nThe encoder's own licence and model "
        "card apply to `encoder/`. Not a diagnostic device; check it with `evaluate_model` on "
        "held-out speakers before use.\n"
    )
    return FeaturesHeadClassifier.load(out_dir, read_manifest(out_dir))


def _restrict_labels(ensemble: HeadEnsemble, keep: Sequence[int]) -> HeadEnsemble:
    """Drop output rows of labels never seen in training from each head's last linear op."""
    keep = list(keep)
    heads = []
    for head in ensemble.heads:
        last = head.ops[-1]
        arrays = dict(head.arrays)
        arrays[last["weight"]] = arrays[last["weight"]][keep]
        if last.get("bias"):
            arrays[last["bias"]] = arrays[last["bias"]][keep]
        heads.append(Head(ops=head.ops, arrays=arrays))
    labels = [ensemble.labels[i] for i in keep]
    return HeadEnsemble(labels=labels, heads=heads, weights=ensemble.weights)


# --- the robust default (ser-default-v2) ---------------------------------------------------

ROBUST_RECIPE_COPIES = 4
ROBUST_AUGMENT_VERSION = 1


def train_robust_model(
    data_dir: Path | str,
    out_dir: Path | str,
    *,
    seed: int = 0,
    copies: int = ROBUST_RECIPE_COPIES,
    augment_version: int = ROBUST_AUGMENT_VERSION,
    folds: int = 5,
    condition_every: int = 3,
    conditions: Sequence[str] | None = None,
    cache_dir: Path | str | None = None,
    name: str = "ser-default",
    version: str = "2",
    card_notes: str = "",
    workers: int | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train the shipped robust default: level- and noise-floor-normalised acoustic features
    (``acoustic2``), multi-condition training (``copies`` augmented versions of every clip,
    ``analysis.engine.audio.conditions.multi_condition_augmenter``), the MLP + logistic ensemble,
    and a
    calibration temperature.

    The robustness benchmark (``analysis.engine.training.robustness.run_benchmark``: actor
    cross-validation
    under every benchmark condition) runs first with the same recipe; its cross-fitted
    temperature and reliable-confidence floor go into the model, its table into the card and
    ``robustness.json``. The final heads are then fitted on every actor. Overwrites
    ``out_dir``. Returns the benchmark result.
    """
    from analysis.engine.audio.conditions import BENCHMARK_CONDITIONS
    from analysis.engine.training.robustness import (
        DEFAULT_CACHE,
        Recipe,
        aug_variants,
        extract_all,
        run_benchmark,
        table,
    )

    started = time.time()
    clips = scan_ravdess(data_dir)
    cache = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE
    chosen = [c for c in BENCHMARK_CONDITIONS if conditions is None or c.name in conditions]
    recipe = Recipe(
        feature_set="acoustic2",
        copies=copies,
        heads=list(DEFAULT_RECIPE.heads),
        augment_version=augment_version,
    )
    recipe.options = dict(DEFAULT_RECIPE.options)
    bench = run_benchmark(
        clips,
        recipe,
        conditions=chosen,
        folds=folds,
        seed=seed,
        cache_dir=cache,
        workers=workers,
        condition_every=condition_every,
        log=log,
    )
    variants = ["clean", *aug_variants(copies, augment_version)]
    feats = extract_all(
        clips,
        variants,
        feature_set="acoustic2",
        cache_dir=cache,
        seed=seed,
        workers=workers,
        log=log,
    )
    y = label_indices(clips)
    groups = np.array([clip.group for clip in clips])
    heads = HeadRecipe(heads=list(recipe.heads), options=dict(recipe.options))
    ensemble = heads.fit(
        np.concatenate([feats[v] for v in variants]),
        np.concatenate([y] * len(variants)),
        np.concatenate([groups] * len(variants)),
        seed,
    )
    ensemble.temperature = float(bench["temperature"])
    from analysis.engine.emotion.baseline import neutral_reference

    ensemble.reference = neutral_reference(
        np.concatenate([feats[v] for v in variants]), np.concatenate([y] * len(variants))
    )
    # Inputs further from the training voices than 99.5% of the training clips themselves (and
    # never below 2 z-units RMS) are "unfamiliar": see analysis.engine.emotion.turns.
    typical = ensemble.atypicality(np.concatenate([feats[v] for v in variants]))
    max_atypicality = max(2.0, float(np.percentile(typical, 99.5)))
    out_dir = Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    clean = next(r for r in bench["rows"] if r["condition"] == "clean")
    from analysis.engine.classifiers.features import ROBUST_VERSION

    write_model(
        out_dir,
        ensemble,
        features="acoustic2",
        name=name,
        version=version,
        architecture="robust acoustic statistics + mlp / logistic ensemble, calibrated",
        extra={
            "acoustic_version": ROBUST_VERSION,
            "recipe": recipe.describe(),
            "seed": seed,
            "reliability": {
                "min_confidence": round(float(bench["reliable_confidence"]), 4),
                "temperature": round(float(bench["temperature"]), 4),
                "clean_ece": round(float(clean["ece"]), 4),
                "max_atypicality": round(max_atypicality, 3),
                "measured_by": "analysis.engine.training.robustness (actor cross-validation)",
            },
        },
    )
    elapsed = time.time() - started
    (out_dir / "cv.json").write_text(json.dumps(bench["cv"], indent=1) + "\n")
    summary = {k: v for k, v in bench.items() if k != "cv"}
    (out_dir / "robustness.json").write_text(json.dumps(summary, indent=1) + "\n")
    counts = label_counts(clips)
    actors = sorted({clip.group for clip in clips})
    card = f"""# {name} v{version}: speech emotion for real rooms (calibrated acoustic features)

Kind `features_head`. Input: mono 16 kHz speech, any length (one prediction per clip/window).
Output: calibrated probabilities over the 8 canonical labels ({", ".join(CANONICAL_LABELS)}).

## Model
- Features `acoustic2` (`analysis.engine.classifiers.features.robust_acoustic_features`, version
{ROBUST_VERSION}):
  the descriptors of v1 (MFCC with deltas, log-mel bands, spectral contrast and shape, energy
  dynamics, Praat pitch, jitter, shimmer, HNR, speaking rate) after **level normalisation**
  (the loud part of the speech at -20 dBFS), taken over frames that stand **out of the clip's
  own noise floor**, without the two values that measured silence rather than voice.
- Head: MLP + logistic-regression ensemble (numpy operations, no pickle), then one
  **calibration temperature** T = {bench["temperature"]:.3f} (fitted on augmented copies of
  held-out actors, never on the benchmark's test conditions).
- Training: every clip clean plus {copies} seeded copies under random rooms (image-source
  RIRs, RT60 0.15-1.0 s), noise (white, pink, brown, hum, babble; 0-30 dB SNR), gain
  (-40..+6 dB), band limits (telephone, laptop), clipping, pitch/formant shifts (-2..+7
  semitones) and codecs (Opus 12-48 kbit/s, AAC):
  `analysis.engine.audio.conditions.multi_condition_augmenter`.
- Reliable-confidence floor: {bench["reliable_confidence"]:.3f} (held-out actors under the
  training conditions were right at least 60% of the time above it). The portal marks
  estimates below it, and audio that is too short, quiet, noisy or clipped, as uncertain with
  the reason (`analysis.engine.audio.quality`).

## Data
RAVDESS speech (Livingstone & Russo 2018, https://doi.org/10.1371/journal.pone.0196391),
development split: {len(clips)} clips from {len(actors)} actors, 16 kHz mono. Clips per label:
{json.dumps(counts)}. Four further actors are held out for independent testing.

**Licence: CC BY-NC-SA 4.0, inherited from RAVDESS** (non-commercial use, share-alike,
attribution).

## Robustness (5-fold cross-validation by actor, calibrated; `make eval-robustness`)
Clean row: all {len(clips)} clips; other rows: every {condition_every}rd clip (one in three of
every actor's clips, all emotions) under the condition. ECE = expected calibration error.
"neutral/calm kept" = share of neutral and calm clips called neutral or calm.

{table(bench)}

## Cost
- Training (features of {len(variants)} variants x {len(clips)} clips, the benchmark, the final
  fit) on this machine: {elapsed / 60:.1f} min (features are cached between runs).
- Size on disk: {_dir_size(out_dir) / 1e6:.2f} MB.

{card_notes}

## Limitations
- Trained on acted, read adult speech from one studio, made harder by simulated rooms,
  microphones, codecs and noise. It has **not been validated on children's speech**; the
  "child-like" row is a pitch/formant shift of adult voices, not children.
- Treat outputs as soft cues for the therapist, never as ground truth. **This is not a
  diagnostic device.**
- Very short windows (< 0.8 s) are always marked uncertain.

Reproduce: `make train-default` (`manage.py train_model --data DIR --out DIR --seed {seed}`).
"""
    (out_dir / "MODEL_CARD.md").write_text(card)
    log(f"wrote {out_dir} in {elapsed:.0f} s")
    return bench
