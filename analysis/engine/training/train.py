"""Training features-plus-head emotion models.

* ``train_default_model``: the shipped default (acoustic statistics + an ensemble of heads) on
  a RAVDESS-style directory, with its 5-fold speaker cross-validation written into the card.
* ``train_head_on_encoder``: a head on pooled hidden states of a frozen imported encoder, used
  by clinics to adapt a model from therapist-corrected segments.

Heads are fitted in ``heads`` (scikit-learn or torch, exported as numpy operations, so nothing
pickled is ever written); the card tables come from ``cards``. Everything is
reproducible from ``seed``: fold assignment, augmentation, initialisation and minibatches.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
from analysis.engine.training.cards import confusion_table, cv_table, dir_size, pct
from analysis.engine.training.datasets import (
    LabelledClip,
    group_kfold,
    label_counts,
    label_indices,
    scan_ravdess,
)
from analysis.engine.training.evaluation import metrics_from_probabilities, summarise_folds
from analysis.engine.training.heads import fit_kernel_logistic, fit_logistic, fit_mlp, group_stubs

Extractor = Callable[[np.ndarray], np.ndarray]


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
    for fold, (train_idx, test_idx) in enumerate(group_kfold(group_stubs(groups), folds, seed)):
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
    log(f"{folds}-fold actor CV 8-class UA {pct(cv['mean']['eight_class']['ua_mean'])}")
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
    return {"cv": cv["mean"], "train_seconds": elapsed, "size_bytes": dir_size(out_dir)}


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
- Size on disk: {dir_size(out_dir) / 1e6:.2f} MB.

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
- Size on disk: {dir_size(out_dir) / 1e6:.2f} MB.

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
