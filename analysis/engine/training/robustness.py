"""The robustness benchmark: emotion accuracy per recording condition, by actor cross-validation.

For a *recipe* (feature set + augmentation + heads) the benchmark

1. extracts features of every development clip clean, of ``copies`` augmented versions of it
   (``analysis.engine.audio.conditions.multi_condition_augmenter``: training conditions) and of the
   clip
   under each benchmark condition (``analysis.engine.audio.conditions.BENCHMARK_CONDITIONS``: test
   conditions, never used for training or tuning);
2. runs 5-fold actor cross-validation: each fold's heads are fitted on the clean and augmented
   rows of the training actors and scored on the held-out actors under every condition;
3. calibrates the probabilities with one temperature, cross-fitted: the temperature applied to
   a fold is fitted on the *augmented* copies of the other folds' held-out actors, so neither a
   test fold nor a test condition ever sets it. Expected calibration error (ECE, 10 equal-width
   bins of the top probability) is reported per condition;
4. prints one row per condition (UA, WA, 4-class UA, ECE) and the share of neutral/calm clips
   called neutral or calm, and writes everything as JSON.

Features are cached on disk (``--cache-dir``, outside the repository) keyed by feature set,
condition, seed and clip, so a second run or another head recipe costs seconds. Work is spread
over ``--workers`` processes (default: the CPUs this process may use).

    python -m analysis.engine.training.robustness --data ../shared/data/ravdess --features \
        acoustic2 --copies 2
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from analysis.engine.audio.conditions import (
    BENCHMARK_CONDITIONS,
    Condition,
    multi_condition_augmenter,
)
from analysis.engine.classifiers.features import ACOUSTIC_VERSION, ROBUST_VERSION, FeatureCache
from analysis.engine.emotion.baseline import neutral_reference
from analysis.engine.labels import CANONICAL_LABELS, LABEL_INDEX
from analysis.engine.training.datasets import LabelledClip, group_kfold, label_indices, scan_ravdess
from analysis.engine.training.evaluation import metrics_from_probabilities

DEFAULT_CACHE = Path(os.environ.get("SER_FEATURE_CACHE", Path.home() / ".cache" / "ser-portal"))
# "egemaps" (openSMILE's eGeMAPS v02 functionals, 88 values) is measured as a candidate only:
# it needs the opensmile package, which the portal does not depend on (see RESULTS.md).
FEATURE_SETS = {"acoustic": ACOUSTIC_VERSION, "acoustic2": ROBUST_VERSION, "egemaps": 1}
N_BABBLE_TALKERS = 4

# The targets, per condition (8-class UA on held-out actors).
TARGETS: dict[str, float] = {
    "clean": 0.60,
    "child_like_+5st": 0.50,
}
SINGLE_CONDITION_TARGET = 0.45
ECE_TARGET = 0.08


def extractor_for(feature_set: str) -> Callable[[np.ndarray], np.ndarray]:
    from analysis.engine.classifiers.features import acoustic_features, robust_acoustic_features

    if feature_set == "acoustic":
        return acoustic_features
    if feature_set == "acoustic2":
        return robust_acoustic_features
    if feature_set == "egemaps":
        import opensmile

        smile = opensmile.Smile(
            feature_set=opensmile.FeatureSet.eGeMAPSv02,
            feature_level=opensmile.FeatureLevel.Functionals,
        )

        def egemaps(audio: np.ndarray) -> np.ndarray:
            values = smile.process_signal(np.asarray(audio, dtype=np.float32), 16000).values
            return np.nan_to_num(values.reshape(-1).astype(np.float32))

        return egemaps
    raise ValueError(f"Unknown feature set {feature_set!r}; known: {sorted(FEATURE_SETS)}.")


# --- feature extraction (parallel, cached) ----------------------------------------------------


@dataclass(frozen=True)
class _Job:
    index: int
    path: str
    variant: str  # "clean", "aug<k>" / "aug<k>@v<n>" or a benchmark condition name
    talkers: tuple[str, ...] = ()


_WORKER: dict[str, Any] = {}


def _init_worker(feature_set: str, cache_dir: str, seed: int) -> None:
    import torch

    torch.set_num_threads(1)
    _WORKER.update(
        extract=extractor_for(feature_set),
        tag=f"{feature_set}-v{FEATURE_SETS[feature_set]}",
        cache=FeatureCache(cache_dir),
        seed=seed,
    )


def _load(path: str) -> np.ndarray:
    return LabelledClip(label="neutral", group="x", path=Path(path)).load()


def _variant_audio(job: _Job, seed: int) -> np.ndarray:
    from analysis.engine.audio.conditions import condition_by_name

    audio = _load(job.path)
    if job.variant == "clean":
        return audio
    talkers = [_load(p) for p in job.talkers]
    if job.variant.startswith("aug"):
        name, _, version = job.variant.partition("@v")
        copy = int(name[3:])
        rng = np.random.default_rng([seed, copy, job.index])
        return multi_condition_augmenter(talkers, version=int(version or 1))(audio, rng)
    rng = np.random.default_rng([seed, 10_000, job.index])
    return condition_by_name(job.variant).apply(audio, rng, talkers)


def _run_job(job: _Job) -> tuple[int, str, np.ndarray]:
    cache: FeatureCache = _WORKER["cache"]
    seed = int(_WORKER["seed"])

    def compute() -> np.ndarray:
        return _WORKER["extract"](_variant_audio(job, seed))

    key = f"{job.path}|{job.variant}|{','.join(job.talkers)}"
    row = cache.get_or_compute(f"{_WORKER['tag']}|seed{seed}", key, compute)
    return job.index, job.variant, row


def _talkers_for(clips: Sequence[LabelledClip], index: int, seed: int) -> tuple[str, ...]:
    """Clips of other actors (seeded per clip), used as babble or as training noise."""
    rng = np.random.default_rng([seed, 20_000, index])
    others = [i for i, c in enumerate(clips) if c.group != clips[index].group]
    picks = rng.choice(len(others), size=N_BABBLE_TALKERS, replace=False)
    return tuple(str(clips[others[int(p)]].path) for p in picks)


def extract_all(
    clips: Sequence[LabelledClip],
    variants: Sequence[str],
    *,
    subset: dict[str, np.ndarray] | None = None,
    feature_set: str,
    cache_dir: Path,
    seed: int = 0,
    workers: int | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, np.ndarray]:
    """{variant: (n_clips, dim) features} for every clip under every variant.

    ``subset[variant]`` limits a variant to those clip indices (the other rows stay NaN).
    """
    jobs = []
    subset = subset or {}
    for variant in variants:
        indices = subset.get(variant, np.arange(len(clips)))
        for i in indices.tolist():
            clip = clips[i]
            needs_talkers = variant.startswith("aug") or "babble" in variant
            talkers = _talkers_for(clips, i, seed) if needs_talkers else ()
            jobs.append(_Job(i, str(clip.path), variant, talkers))
    workers = workers or max(1, len(os.sched_getaffinity(0)))
    out: dict[str, dict[int, np.ndarray]] = {v: {} for v in variants}
    started = time.monotonic()
    done = 0
    with ProcessPoolExecutor(
        max_workers=workers,
        initializer=_init_worker,
        initargs=(feature_set, str(cache_dir), seed),
    ) as pool:
        for index, variant, row in pool.map(_run_job, jobs, chunksize=8):
            out[variant][index] = row
            done += 1
            if done % 500 == 0 or done == len(jobs):
                log(f"  features {done}/{len(jobs)} ({time.monotonic() - started:.0f} s)")
    dim = len(next(iter(next(iter(out.values())).values())))
    result = {}
    for variant, rows in out.items():
        matrix = np.full((len(clips), dim), np.nan, dtype=np.float32)
        for i, row in rows.items():
            matrix[i] = row
        result[variant] = matrix
    return result


# --- calibration ------------------------------------------------------------------------------


def apply_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities sharpened (T < 1) or softened (T > 1): softmax(log p / T)."""
    logp = np.log(np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, 1.0)) / temperature
    logp -= logp.max(axis=1, keepdims=True)
    e = np.exp(logp)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def fit_temperature(probabilities: np.ndarray, y: np.ndarray) -> float:
    """The temperature minimising the negative log-likelihood of ``y`` (bounded 0.05-20)."""
    from scipy.optimize import minimize_scalar

    def nll(log_t: float) -> float:
        p = apply_temperature(probabilities, float(np.exp(log_t)))
        return float(-np.mean(np.log(p[np.arange(len(y)), y] + 1e-12)))

    result = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(result.x))


def expected_calibration_error(probabilities: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """ECE: the mean |accuracy - confidence| over equal-width confidence bins, by bin size."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(y)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return float(total)


def reliable_confidence(
    probabilities: np.ndarray, y: np.ndarray, *, min_accuracy: float, min_share: float = 0.1
) -> float:
    """The lowest confidence above which predictions are right at least ``min_accuracy`` of
    the time (kept so that at least ``min_share`` of the predictions remain above it)."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(y)
    order = np.argsort(-confidence)
    running = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    floor = max(int(np.ceil(min_share * len(order))), 1)
    ok = np.flatnonzero(running[floor - 1 :] >= min_accuracy)
    if not ok.size:
        return float(confidence[order[floor - 1]])
    return float(confidence[order[floor - 1 + ok[-1]]])


# --- the benchmark ----------------------------------------------------------------------------


def aug_variants(copies: int, version: int = 1) -> list[str]:
    """Names of the augmented variants (version 1 keeps its original names, so caches hold)."""
    suffix = "" if version == 1 else f"@v{version}"
    return [f"aug{k + 1}{suffix}" for k in range(copies)]


@dataclass
class Recipe:
    """What is benchmarked: a feature set, how many augmented copies train it, which heads."""

    feature_set: str = "acoustic2"
    copies: int = 2
    heads: list[str] = field(default_factory=lambda: ["mlp", "logistic"])
    augment_version: int = 1
    options: dict[str, dict[str, Any]] = field(default_factory=lambda: {"logistic": {"c": 0.01}})

    def describe(self) -> dict[str, Any]:
        return {
            "feature_set": self.feature_set,
            "copies": self.copies,
            "augment_version": self.augment_version,
            "heads": self.heads,
            "options": self.options,
        }


def _baseline_shifted(
    features: np.ndarray,
    rows: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    reference: np.ndarray,
) -> np.ndarray:
    """``features[rows]`` moved by each speaker's voice baseline
    (``analysis.engine.emotion.baseline``): the
    mean of that speaker's *other* neutral and calm clips under the same condition (the clip
    itself never counts toward its own baseline)."""
    from analysis.engine.emotion.baseline import SHRINK_CLIPS

    calm = np.isin(y, [LABEL_INDEX["neutral"], LABEL_INDEX["calm"]])
    out = np.array(features[rows], dtype=np.float64)
    for group in set(groups[rows].tolist()):
        mine = rows[groups[rows] == group]
        reference_rows = mine[calm[mine]]
        if reference_rows.size < 2:
            continue
        total = features[reference_rows].astype(np.float64).sum(axis=0)
        for k, row in enumerate(rows):
            if groups[row] != group:
                continue
            own = calm[row]
            n = reference_rows.size - int(own)
            mean = (total - (features[row] if own else 0.0)) / n
            out[k] = features[row] - n / (n + SHRINK_CLIPS) * (mean - reference)
    return out


def _neutral_share(probabilities: np.ndarray, y: np.ndarray) -> float:
    """Of the truly neutral or calm clips, the share called neutral or calm."""
    calm = [LABEL_INDEX["neutral"], LABEL_INDEX["calm"]]
    keep = np.isin(y, calm)
    if not keep.any():
        return 0.0
    return float(np.isin(probabilities[keep].argmax(axis=1), calm).mean())


def run_benchmark(
    clips: Sequence[LabelledClip],
    recipe: Recipe,
    *,
    conditions: Sequence[Condition] = BENCHMARK_CONDITIONS,
    folds: int = 5,
    seed: int = 0,
    cache_dir: Path = DEFAULT_CACHE,
    workers: int | None = None,
    condition_every: int = 1,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Cross-validated, calibrated figures per condition for ``recipe`` (see module docstring).

    ``condition_every`` = k scores the perturbed conditions on every k-th clip only (clips are
    sorted by path, so k = 2 keeps one RAVDESS repetition of every sentence and emotion of
    every actor); training and the clean row always use every clip.
    """
    from analysis.engine.training.evaluation import summarise_folds
    from analysis.engine.training.train import HeadRecipe

    y = label_indices(clips)
    groups = np.array([c.group for c in clips])
    aug_names = aug_variants(recipe.copies, recipe.augment_version)
    names = ["clean", *aug_names, *[c.name for c in conditions if c.name != "clean"]]
    every = np.arange(0, len(clips), condition_every)
    subset = {c.name: every for c in conditions if c.name != "clean"}
    log(f"Extracting {recipe.feature_set} features: {len(clips)} clips x {len(names)} variants")
    feats = extract_all(
        clips,
        names,
        subset=subset,
        feature_set=recipe.feature_set,
        cache_dir=cache_dir,
        seed=seed,
        workers=workers,
        log=log,
    )
    heads = HeadRecipe(heads=list(recipe.heads), options=dict(recipe.options))
    raw: dict[str, np.ndarray] = {n: np.zeros((len(clips), len(CANONICAL_LABELS))) for n in names}
    with_baseline = {n: np.zeros_like(raw[n]) for n in names}
    fold_of = np.zeros(len(clips), dtype=np.int64)
    for fold, (train_idx, test_idx) in enumerate(group_kfold(clips, folds, seed)):
        started = time.monotonic()
        fold_of[test_idx] = fold
        train_sets = ["clean", *aug_names]
        x_train = np.concatenate([feats[n][train_idx] for n in train_sets])
        y_train = np.concatenate([y[train_idx]] * len(train_sets))
        g_train = np.concatenate([groups[train_idx]] * len(train_sets))
        ensemble = heads.fit(x_train, y_train, g_train, seed + fold)
        try:
            reference: np.ndarray | None = neutral_reference(x_train, y_train)
        except ValueError:  # no neutral or calm clips: no baseline column
            reference = None
        for n in names:
            scored = test_idx[np.isfinite(feats[n][test_idx]).all(axis=1)]
            if scored.size:
                raw[n][scored] = ensemble.predict_proba(feats[n][scored])
                shifted = (
                    feats[n][scored]
                    if reference is None
                    else _baseline_shifted(feats[n], scored, y, groups, reference)
                )
                with_baseline[n][scored] = ensemble.predict_proba(shifted)
        log(f"  fold {fold + 1}/{folds} fitted and scored in {time.monotonic() - started:.0f} s")

    # Cross-fitted temperature: fold k is calibrated on the other folds' augmented copies.
    calib_sets = aug_names or ["clean"]
    temperatures = []
    calibrated = {n: np.zeros_like(raw[n]) for n in names}
    for fold in range(folds):
        other = fold_of != fold
        p_cal = np.concatenate([raw[n][other] for n in calib_sets])
        y_cal = np.concatenate([y[other]] * len(calib_sets))
        t = fit_temperature(p_cal, y_cal)
        temperatures.append(t)
        inside = fold_of == fold
        for n in names:
            calibrated[n][inside] = apply_temperature(raw[n][inside], t)
            with_baseline[n][inside] = apply_temperature(with_baseline[n][inside], t)
    p_all = np.concatenate([raw[n] for n in calib_sets])
    y_all = np.concatenate([y] * len(calib_sets))
    final_t = fit_temperature(p_all, y_all)
    threshold = reliable_confidence(
        np.concatenate([calibrated[n] for n in calib_sets]), y_all, min_accuracy=0.6
    )

    # The clean rows, fold by fold, in the shape of every other cross-validation (cv.json).
    per_fold = []
    for fold, (_train_idx, test_idx) in enumerate(group_kfold(clips, folds, seed)):
        result = metrics_from_probabilities(y[test_idx], calibrated["clean"][test_idx])
        result["fold"] = fold
        result["test_groups"] = sorted(set(groups[test_idx].tolist()))
        per_fold.append(result)
    cv = {"folds": per_fold, "mean": summarise_folds(per_fold), "seed": seed}

    rows = []
    for n in ["clean", *[c.name for c in conditions if c.name != "clean"]]:
        rows_of = np.flatnonzero(np.isfinite(feats[n]).all(axis=1))
        p_n, y_n = calibrated[n][rows_of], y[rows_of]
        m = metrics_from_probabilities(y_n, p_n)
        m_base = metrics_from_probabilities(y_n, with_baseline[n][rows_of])
        cond = next((c for c in conditions if c.name == n), None)
        target = TARGETS.get(n, SINGLE_CONDITION_TARGET if cond and cond.headline else None)
        rows.append(
            {
                "condition": n,
                "description": cond.description if cond else "as recorded in the studio",
                "headline": bool(cond.headline) if cond else True,
                "ua": m["eight_class"]["ua"],
                "wa": m["eight_class"]["wa"],
                "ua4": m["four_class"]["ua"],
                "ua_baseline": m_base["eight_class"]["ua"],
                "n": int(rows_of.size),
                "ece": expected_calibration_error(p_n, y_n),
                "ece_uncalibrated": expected_calibration_error(raw[n][rows_of], y_n),
                "neutral_or_calm": _neutral_share(p_n, y_n),
                "target": target,
                "recall": m["eight_class"]["recall"],
            }
        )
    return {
        "recipe": recipe.describe(),
        "folds": folds,
        "seed": seed,
        "clips": len(clips),
        "actors": len(set(groups.tolist())),
        "temperature": final_t,
        "fold_temperatures": temperatures,
        "reliable_confidence": threshold,
        "rows": rows,
        "cv": cv,
    }


def verdict(value: float, target: float | None) -> str:
    """ "met (>= 0.45)" / "missed (>= 0.45)" for a figure against its target; "" without one."""
    if target is None:
        return ""
    return f"{'met' if value >= target else 'missed'} (>= {target:.2f})"


def table(result: dict[str, Any]) -> str:
    """The benchmark as a Markdown table (what the model card and the closing note carry)."""
    lines = [
        "| condition | UA | WA | 4-class UA | ECE | neutral/calm kept | UA with voice baseline "
        "| target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['condition']}: {r['description']} | {r['ua']:.3f} | {r['wa']:.3f} "
            f"| {r['ua4']:.3f} | {r['ece']:.3f} | {r['neutral_or_calm']:.2f} "
            f"| {r['ua_baseline']:.3f} | {verdict(r['ua'], r['target'])} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="RAVDESS-style folder")
    parser.add_argument("--features", default="acoustic2", choices=sorted(FEATURE_SETS))
    parser.add_argument("--copies", type=int, default=4, help="augmented copies per clip")
    parser.add_argument("--heads", default="mlp,logistic")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--conditions", default="all", help="comma-separated names, or all")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument(
        "--condition-every", type=int, default=2, help="score conditions on every k-th clip"
    )
    parser.add_argument("--json", type=Path, default=None, help="write the full result here")
    args = parser.parse_args(argv)

    clips = scan_ravdess(args.data)
    conditions = list(BENCHMARK_CONDITIONS)
    if args.conditions != "all":
        wanted = set(args.conditions.split(","))
        conditions = [c for c in conditions if c.name in wanted or c.name == "clean"]
    recipe = Recipe(feature_set=args.features, copies=args.copies, heads=args.heads.split(","))
    started = time.monotonic()
    result = run_benchmark(
        clips,
        recipe,
        conditions=conditions,
        folds=args.folds,
        seed=args.seed,
        cache_dir=args.cache_dir,
        workers=args.workers,
        condition_every=args.condition_every,
    )
    result["seconds"] = time.monotonic() - started
    print(table(result))
    print(
        f"temperature {result['temperature']:.3f}; reliable confidence "
        f"{result['reliable_confidence']:.3f}; {result['clips']} clips of {result['actors']} "
        f"actors, {args.folds}-fold actor CV; {result['seconds']:.0f} s"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
