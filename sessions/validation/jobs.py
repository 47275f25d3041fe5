"""The validation app's background work (called by ``sessions.validation.tasks``):

* ``predict``: a model answers the blind-reviewed segments, so it can be compared with the
  active model on the same items.
* ``adapt``: a logistic head on the active model's features, trained on the clinic's labels of
  children whose guardian consents to training (therapist corrections and blind labels),
  evaluated by child-level cross-validation on the blind labels (a fold never trains on the
  child it is evaluated on), then staged with that evaluation and its out-of-fold answers.

Features are computed once per segment and model feature set and cached on disk
(``FeatureCache``, one folder per child, so a child's erasure can remove theirs); evaluating
again reads them back.
"""

from __future__ import annotations

import json
import logging
import shutil
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

from analysis.engine.labels import CANONICAL_LABELS
from analysis.engine.training import agreement
from analysis.engine.training.adaptation import adapt
from analysis.models import EmotionModelVersion
from sessions import audit
from sessions.models import Child
from sessions.models.audit import AuditAction
from sessions.validation import selectors
from sessions.validation import services as validation_services
from sessions.validation.models import JobKind, JobStatus, SegmentPrediction, ValidationJob

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
MAX_CLIP_S = 20.0
MIN_TRAINING_LABELS = 20


def cache_root() -> Path:
    return Path(getattr(settings, "SER_VALIDATION_CACHE_DIR", settings.MEDIA_ROOT / "validation"))


def child_cache_dir(child_id: Any) -> Path:
    """Where a child's cached segment features live (delete it with the child's data)."""
    return cache_root() / "features" / uuid.UUID(str(child_id)).hex


def forget_child_features(child_id: Any) -> None:
    """Delete the child's cached features (their recordings were erased). Twice: harmless."""
    shutil.rmtree(child_cache_dir(child_id), ignore_errors=True)


@dataclass
class Stretch:
    """A labelled stretch of a recording: a blind-reviewed segment or a correction."""

    key: str
    recording: Any
    child_id: Any
    start_s: float
    end_s: float
    label: str
    evaluate: bool
    trainable: bool
    segment_id: Any = None


def feature_tag(classifier: Any) -> str | None:
    """The cache tag of a model's feature set (model-specific: the extractor's spec), or None
    for a model that offers no separate features (then its answers are computed directly)."""
    if not (hasattr(classifier, "features") and hasattr(classifier, "predict_features")):
        return None
    spec = classifier.manifest.extra.get("features")
    return "features:" + json.dumps(spec, sort_keys=True)


def _audio_by_recording(stretches: Sequence[Stretch]) -> Iterator[tuple[Stretch, np.ndarray]]:
    """Each stretch with its samples, decoding each recording once."""
    from analysis.engine.audio.decode import AudioError, decode
    from analysis.services import local_file_path

    by_recording: dict[Any, list[Stretch]] = defaultdict(list)
    for stretch in stretches:
        by_recording[stretch.recording.pk].append(stretch)
    for group in by_recording.values():
        recording = group[0].recording
        try:
            with local_file_path(recording.file) as path:
                audio = decode(path)
        except (AudioError, OSError, ValueError) as exc:
            logger.warning("Skipping recording %s for validation: %s", recording.pk, exc)
            continue
        for stretch in group:
            start = int(stretch.start_s * SAMPLE_RATE)
            end = min(
                int(min(stretch.end_s, stretch.start_s + MAX_CLIP_S) * SAMPLE_RATE), audio.size
            )
            if end - start >= SAMPLE_RATE // 4:
                yield stretch, audio[start:end]


def stretch_features(
    classifier: Any,
    stretches: Sequence[Stretch],
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[Stretch], np.ndarray]:
    """Feature rows of the stretches (cached per child, segment and feature set). A cached
    stretch is read back without decoding its recording."""
    from analysis.engine.classifiers.features import FeatureCache

    tag = feature_tag(classifier)
    if tag is None:
        raise ValueError("This model offers no separate features.")
    vectors: dict[str, np.ndarray] = {}
    missing: list[Stretch] = []
    for stretch in stretches:
        cache = FeatureCache(child_cache_dir(stretch.child_id))
        path = cache._path(tag, stretch.key)
        if path.exists():
            vectors[stretch.key] = np.load(path, allow_pickle=False)
        else:
            missing.append(stretch)
    total = len(stretches)
    for stretch, clip in _audio_by_recording(missing):
        cache = FeatureCache(child_cache_dir(stretch.child_id))

        def compute(clip: np.ndarray = clip) -> np.ndarray:
            return np.asarray(classifier.features([clip])[0])

        vectors[stretch.key] = cache.get_or_compute(tag, stretch.key, compute)
        if progress is not None and len(vectors) % 10 == 0:
            progress(len(vectors), total)
    # In the order asked for; stretches whose audio could not be read are left out.
    kept = [s for s in stretches if s.key in vectors]
    rows = [vectors[s.key] for s in kept]
    x = np.stack(rows).astype(np.float64) if rows else np.zeros((0, 0))
    return kept, x


def _blind_stretches(clinic: Any, *, only: set[Any] | None = None) -> list[Stretch]:
    from analysis.models import Segment
    from sessions.families.consent import has_consent

    items = selectors.evidence(clinic)
    if only is not None:
        items = [i for i in items if i.segment_id in only]
    segments = {
        s.pk: s
        for s in Segment.objects.filter(pk__in=[i.segment_id for i in items]).select_related(
            "run__recording"
        )
    }
    consent: dict[Any, bool] = {}
    out = []
    for item in items:
        segment = segments.get(item.segment_id)
        recording = segment.run.recording if segment else None
        if recording is None or not recording.file or recording.audio_deleted_at is not None:
            continue
        if item.child_id not in consent:
            consent[item.child_id] = has_consent(item.child_id, "training")
        out.append(
            Stretch(
                key=f"segment:{item.segment_id}",
                recording=recording,
                child_id=item.child_id,
                start_s=segment.start_s,  # type: ignore[union-attr]
                end_s=segment.end_s,  # type: ignore[union-attr]
                label=item.truth,
                evaluate=True,
                trainable=consent[item.child_id],
                segment_id=item.segment_id,
            )
        )
    return out


def _correction_stretches(clinic: Any) -> list[Stretch]:
    """The workspace's training data: corrections of children with training consent."""
    from sessions.workspace.selectors import corrected_segments

    return [
        Stretch(
            key=f"edit:{edit.pk}",
            recording=edit.run.recording,
            child_id=edit.run.recording.session.child_id,
            start_s=edit.start_s,
            end_s=edit.end_s,
            label=edit.emotion,
            evaluate=False,
            trainable=True,
        )
        for edit in corrected_segments(clinic=clinic)
        if edit.end_s - edit.start_s >= 0.5
    ]


def _store_predictions(
    version: EmotionModelVersion,
    segment_ids: Sequence[Any],
    probabilities: np.ndarray,
    *,
    out_of_fold: bool,
) -> None:
    for segment_id, row in zip(segment_ids, probabilities, strict=True):
        SegmentPrediction.objects.update_or_create(
            version=version,
            segment_id=segment_id,
            defaults={
                "emotion": CANONICAL_LABELS[int(np.argmax(row))],
                "confidence": float(np.max(row)),
                "out_of_fold": out_of_fold,
            },
        )


# --- the two jobs -------------------------------------------------------------------------------


def run_predict(job: ValidationJob) -> dict[str, Any]:
    """``job.version`` answers every blind-labelled segment it has no answer on yet."""
    from analysis.registry import active as registry

    version = job.version
    assert version is not None
    items = selectors.evidence(job.clinic)
    have = selectors.model_answers(version, items)
    todo = {i.segment_id for i in items if i.segment_id not in have}
    stretches = _blind_stretches(job.clinic, only=todo)
    validation_services.job_progress(job, 5, "Loading the model")
    classifier: Any = registry.load_for_inference(registry.model_dir(version))

    def progress(done: int, total: int) -> None:
        validation_services.job_progress(
            job, 5 + int(90 * done / max(total, 1)), f"{done} of {total} segments"
        )

    if feature_tag(classifier) is not None:
        kept, x = stretch_features(classifier, stretches, progress)
        probabilities = classifier.predict_features(x) if len(kept) else np.zeros((0, 8))
    else:
        kept, clips = [], []
        for stretch, clip in _audio_by_recording(stretches):
            kept.append(stretch)
            clips.append(clip)
        probabilities = classifier.predict_proba(clips) if clips else np.zeros((0, 8))
    _store_predictions(version, [s.segment_id for s in kept], probabilities, out_of_fold=False)
    return {"answered": len(kept), "already": len(have)}


def run_adapt(job: ValidationJob) -> tuple[dict[str, Any], EmotionModelVersion]:
    """Train, cross-validate by child and stage the clinic's adapted head."""
    from analysis.engine.classifiers.features_head import write_model
    from analysis.registry import active as registry
    from analysis.registry.services import register_trained_version, staging_dir_for_training

    base = job.version
    assert base is not None
    clinic = job.clinic
    validation_services.job_progress(job, 2, "Loading the active model")
    classifier: Any = registry.load_for_inference(registry.model_dir(base))
    if feature_tag(classifier) is None:
        raise validation_services.ValidationError(
            f"{base} has no separate feature extractor, so no head can be trained on it here; "
            "activate a features-and-head model (such as the shipped default) first."
        )
    validation_services.job_progress(job, 5, "Gathering labels with training consent")
    stretches = _blind_stretches(clinic) + _correction_stretches(clinic)
    stretches = [s for s in stretches if s.label in CANONICAL_LABELS]

    def progress(done: int, total: int) -> None:
        validation_services.job_progress(
            job, 5 + int(60 * done / max(total, 1)), f"Features: {done} of {total} segments"
        )

    kept, x = stretch_features(classifier, stretches, progress)
    trainable = [s.trainable for s in kept]
    n_train = int(sum(trainable))
    train_labels = {s.label for s in kept if s.trainable}
    if n_train < MIN_TRAINING_LABELS or len(train_labels) < 2:
        raise validation_services.ValidationError(
            f"Only {n_train} labels of children with training consent "
            f"({len(train_labels)} emotions); at least {MIN_TRAINING_LABELS} covering two "
            "emotions are needed. Review more segments, or check training consent."
        )
    _audit_training_use(job, kept)
    validation_services.job_progress(job, 70, "Child-level cross-validation")
    result = adapt(
        x,
        [s.label for s in kept],
        [str(s.child_id) for s in kept],
        [s.evaluate for s in kept],
        trainable,
    )
    oof_rows = [kept[i] for i in result.oof_index]
    oof_probs = result.oof_probabilities
    pred = [CANONICAL_LABELS[int(np.argmax(r))] for r in oof_probs]
    default = selectors.default_threshold(base)
    evaluation = agreement.report(
        [s.label for s in oof_rows],
        pred,
        [float(np.max(r)) for r in oof_probs],
        CANONICAL_LABELS,
        default_threshold=default,
    )
    validation_services.job_progress(job, 85, "Storing the adapted model")
    staging = staging_dir_for_training(clinic)
    out_dir = staging / "model"
    try:
        spec: str | dict[str, Any] = classifier.manifest.extra["features"]
        write_model(
            out_dir,
            result.ensemble,
            features=spec,
            name=f"{base.name}-clinic",
            version="1",
            architecture=f"{base.architecture or base.kind} + clinic logistic head"[:100],
            extra={"reliability": {"min_confidence": default}, "adapted_from": str(base.pk)},
        )
        if isinstance(spec, dict) and spec.get("encoder"):
            shutil.copytree(registry.model_dir(base) / spec["encoder"], out_dir / spec["encoder"])
        name = f"{base.name}-clinic"
        taken = set(
            EmotionModelVersion.objects.filter(clinic=clinic, name=name).values_list(
                "version", flat=True
            )
        )
        number = str(next(n for n in range(1, 10_000) if str(n) not in taken))
        children = len({s.child_id for s in kept if s.trainable})
        version = register_trained_version(
            clinic=clinic,
            model_dir=out_dir,
            name=name,
            version=number,
            origin=f"clinic adaptation ({n_train} labels, {children} children with training "
            "consent)",
            base_version=base,
            evaluation={
                "kind": "clinic_adaptation",
                "data": "blind labels, child-level cross-validation",
                "n_clips": len(oof_rows),
                "agreement": evaluation["agreement"],
                "kappa": evaluation["kappa"],
                "training_labels": n_train,
            },
            actor=job.requested_by,
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _store_predictions(version, [s.segment_id for s in oof_rows], oof_probs, out_of_fold=True)
    return {
        "training_labels": n_train,
        "evaluated": len(oof_rows),
        "agreement": evaluation["agreement"],
        "kappa": evaluation["kappa"],
    }, version


def _audit_training_use(job: ValidationJob, kept: Sequence[Stretch]) -> None:
    per_child: dict[Any, int] = defaultdict(int)
    for stretch in kept:
        if stretch.trainable:
            per_child[stretch.child_id] += 1
    for child in Child.objects.filter(pk__in=list(per_child)):
        audit.record(
            actor=None,
            action=AuditAction.VIEW,
            object_type="segment",
            child=child,
            detail={"purpose": "training", "segments": per_child[child.pk], "job": str(job.pk)},
        )


def job_run(job_id: Any) -> str:
    """Run a claimed job to its end; a job another delivery claimed is skipped."""
    job = validation_services.job_claim(job_id)
    if job is None:
        return "skipped"
    try:
        if job.kind == JobKind.ADAPT:
            detail, version = run_adapt(job)
            validation_services.job_finish(
                job, status=JobStatus.DONE, detail=detail, result_version=version
            )
        else:
            detail = run_predict(job)
            validation_services.job_finish(job, status=JobStatus.DONE, detail=detail)
    except validation_services.ValidationError as exc:
        validation_services.job_finish(job, status=JobStatus.FAILED, error=exc.message)
        return "failed"
    return "done"
