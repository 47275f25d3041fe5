"""Reads of the clinic validation: a therapist's blind-review queue (never the model's answer),
the blind-labelled evidence, a model's agreement with the clinic's therapists, the per-emotion
confidence thresholds practice feedback uses, and the emotions whose agreement is poor.

The statistics are ``analysis.engine.training.agreement`` (scikit-learn); this module gathers
the rows. A model's answer on an item is the segment's own when the model analysed its run, or
a ``SegmentPrediction`` (another model asked afterwards, or an adapted head's out-of-fold
answer).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from analysis.engine.labels import CANONICAL_LABELS
from analysis.engine.training import agreement
from analysis.models import EmotionModelVersion, ModelStatus
from sessions.models import Child, Clinic
from sessions.validation.models import (
    CANT_TELL,
    ReviewItem,
    SegmentPrediction,
    ValidationJob,
    ValidationSettings,
)

logger = logging.getLogger(__name__)

# Two models are compared only on at least this many shared blind-labelled items.
MIN_COMPARE_ITEMS = 10


def settings_for(clinic: Clinic) -> ValidationSettings:
    """The clinic's settings row, or an unsaved one with the defaults."""
    found = ValidationSettings.objects.filter(clinic=clinic).first()
    return found or ValidationSettings(clinic=clinic)


# --- the therapist's queue: never the model's answer ------------------------------------------


@dataclass(frozen=True)
class QueueItem:
    """What the review page may know of an item before it is answered: where the audio is,
    and nothing the model said."""

    id: Any
    recording_id: Any
    start_s: float
    end_s: float
    child_code: str
    week: date
    answered: bool


def review_queue(*, rater: Any, limit: int = 200) -> list[QueueItem]:
    """The rater's unanswered items first (oldest week first), for children still theirs."""
    items = (
        ReviewItem.objects.filter(rater=rater, child__therapists=rater)
        .select_related("segment__run", "child")
        .only(
            "id",
            "week",
            "answered_at",
            "child__code",
            "segment__start_s",
            "segment__end_s",
            "segment__run__recording_id",
        )
        .order_by("answered_at", "week", "created_at")[:limit]
    )
    return [
        QueueItem(
            id=item.pk,
            recording_id=item.segment.run.recording_id,
            start_s=item.segment.start_s,
            end_s=item.segment.end_s,
            child_code=item.child.code,
            week=item.week,
            answered=item.answered_at is not None,
        )
        for item in items
    ]


def queue_item(item: ReviewItem) -> QueueItem:
    segment = item.segment
    return QueueItem(
        id=item.pk,
        recording_id=segment.run.recording_id,
        start_s=segment.start_s,
        end_s=segment.end_s,
        child_code=item.child.code,
        week=item.week,
        answered=item.answered_at is not None,
    )


def answered_with_model(*, rater: Any, limit: int = 20) -> list[dict[str, Any]]:
    """The rater's latest answered items next to what the analysing model had said (shown
    only after answering)."""
    items = (
        ReviewItem.objects.filter(rater=rater, answered_at__isnull=False, child__therapists=rater)
        .select_related("segment", "child")
        .order_by("-answered_at")[:limit]
    )
    return [
        {
            "child_code": item.child.code,
            "answer": item.get_emotion_display(),
            "speaker": item.get_speaker_display(),
            "model": item.segment.emotion,
            "confidence": item.segment.confidence,
            "agreed": item.emotion == item.segment.emotion,
        }
        for item in items
    ]


# --- the evidence ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """One blind-labelled segment: the first rater's answer, the second's if any."""

    segment_id: Any
    child_id: Any
    child_code: str
    week: date
    speaker: str
    truth: str
    second: str | None
    run_version_id: Any
    run_emotion: str
    run_confidence: float


def evidence(clinic: Clinic) -> list[Evidence]:
    """The clinic's blind-labelled segments whose first answer names an emotion."""
    firsts = (
        ReviewItem.objects.filter(
            child__clinic=clinic,
            second_rater=False,
            answered_at__isnull=False,
            emotion__in=CANONICAL_LABELS,
        )
        .select_related("segment__run", "child")
        .order_by("week", "created_at")
    )
    seconds = dict(
        ReviewItem.objects.filter(
            child__clinic=clinic,
            second_rater=True,
            answered_at__isnull=False,
            emotion__in=CANONICAL_LABELS,
        ).values_list("segment_id", "emotion")
    )
    return [
        Evidence(
            segment_id=item.segment_id,
            child_id=item.child_id,
            child_code=item.child.code,
            week=item.week,
            speaker=item.speaker or CANT_TELL,
            truth=item.emotion,
            second=seconds.get(item.segment_id),
            run_version_id=item.segment.run.model_version_id,
            run_emotion=item.segment.emotion,
            run_confidence=item.segment.confidence,
        )
        for item in firsts
    ]


def model_answers(
    version: EmotionModelVersion, items: Iterable[Evidence]
) -> dict[Any, tuple[str, float]]:
    """The model's (emotion, confidence) on each item it has answered."""
    items = list(items)
    stored = {
        p.segment_id: (p.emotion, p.confidence)
        for p in SegmentPrediction.objects.filter(
            version=version, segment_id__in=[i.segment_id for i in items]
        )
    }
    out: dict[Any, tuple[str, float]] = {}
    for item in items:
        if item.segment_id in stored:
            out[item.segment_id] = stored[item.segment_id]
        elif item.run_version_id == version.pk:
            out[item.segment_id] = (item.run_emotion, item.run_confidence)
    return out


def default_threshold(version: EmotionModelVersion) -> float:
    """The benchmark's reliable-confidence floor from the model's manifest (the generic
    default when the files cannot be read)."""
    from analysis.engine.audio import quality
    from analysis.engine.classifiers import ModelFormatError, read_manifest
    from analysis.registry import active as registry

    try:
        manifest = read_manifest(registry.model_dir(version))
    except (ModelFormatError, OSError):
        return quality.DEFAULT_MIN_CONFIDENCE
    return quality.model_min_confidence(manifest.extra)


def _report_on(
    version: EmotionModelVersion,
    items: list[Evidence],
    answers: dict[Any, tuple[str, float]],
    default: float,
) -> dict[str, Any]:
    rows = [i for i in items if i.segment_id in answers]
    truth = [i.truth for i in rows]
    pred = [answers[i.segment_id][0] for i in rows]
    conf = [answers[i.segment_id][1] for i in rows]
    out = agreement.report(truth, pred, conf, CANONICAL_LABELS, default_threshold=default)
    out["version_id"] = str(version.pk)
    return out


def version_report(
    version: EmotionModelVersion, *, viewer_children: set[Any] | None = None
) -> dict[str, Any]:
    """Everything the validation page shows for ``version`` on its clinic's blind labels.

    ``viewer_children``: ids of the children the viewer may see; the others' rows are pooled
    into one "other children" row (None: all are named)."""
    items = evidence(version.clinic)
    answers = model_answers(version, items)
    default = default_threshold(version)
    out = _report_on(version, items, answers, default)
    answered = [i for i in items if i.segment_id in answers]
    pred = [answers[i.segment_id][0] for i in answered]
    truth = [i.truth for i in answered]
    out["unanswered"] = len(items) - len(answered)
    out["default_threshold"] = default
    # Therapist vs therapist (the ceiling) next to model vs therapist on the same items.
    double = [i for i in answered if i.second is not None]
    out["double"] = {
        "n": len(double),
        "human_kappa": agreement.kappa(
            [i.truth for i in double], [str(i.second) for i in double], CANONICAL_LABELS
        ),
        "model_kappa": agreement.kappa(
            [i.truth for i in double],
            [answers[i.segment_id][0] for i in double],
            CANONICAL_LABELS,
        ),
    }

    def child_group(item: Evidence) -> str:
        if viewer_children is None or item.child_id in viewer_children:
            return item.child_code
        return "other children"

    out["by_role"] = agreement.group_agreement(
        [i.speaker for i in answered], truth, pred, CANONICAL_LABELS
    )
    out["by_child"] = agreement.group_agreement(
        [child_group(i) for i in answered], truth, pred, CANONICAL_LABELS
    )
    out["by_week"] = agreement.group_agreement(
        [i.week.isoformat() for i in answered], truth, pred, CANONICAL_LABELS
    )
    out["children"] = sorted({i.child_id for i in answered}, key=str)
    return out


def export_rows(version: EmotionModelVersion, *, viewer_children: set[Any] | None) -> list[Any]:
    """One row per blind-labelled item the viewer may see, for the CSV export."""
    items = [
        i
        for i in evidence(version.clinic)
        if viewer_children is None or i.child_id in viewer_children
    ]
    answers = model_answers(version, items)
    rows = []
    for item in items:
        emotion, confidence = answers.get(item.segment_id, ("", None))
        rows.append(
            [
                str(item.segment_id),
                item.week.isoformat(),
                item.child_code,
                item.speaker,
                item.truth,
                item.second or "",
                emotion,
                "" if confidence is None else f"{confidence:.4f}",
            ]
        )
    return rows


# --- what the evidence gates ---------------------------------------------------------------


def practice_thresholds(version: EmotionModelVersion) -> dict[str, float]:
    """Per emotion, the confidence from which practice feedback may give stars for it with
    this model: learnt from the clinic's blind labels, else the benchmark's floor."""
    items = evidence(version.clinic)
    answers = model_answers(version, items)
    default = default_threshold(version)
    if not answers:
        return dict.fromkeys(CANONICAL_LABELS, default)
    report = _report_on(version, items, answers, default)
    return {label: float(row["threshold"]) for label, row in report["thresholds"].items()}


def poor_emotions(clinic: Clinic) -> list[str]:
    """Emotions whose measured agreement between the clinic's active model and its
    therapists is poor (enough items, precision or recall below one half)."""
    version = EmotionModelVersion.objects.filter(clinic=clinic, status=ModelStatus.ACTIVE).first()
    if version is None:
        return []
    items = evidence(clinic)
    answers = model_answers(version, items)
    if not answers:
        return []
    return list(_report_on(version, items, answers, 0.0)["poor"])


def activation_evidence(
    candidate: EmotionModelVersion, active: EmotionModelVersion | None
) -> dict[str, Any]:
    """The candidate's agreement next to the active model's on the blind-labelled items both
    have answered. ``worse`` is true when there are enough shared items and the candidate
    agrees less (kappa, or the share agreed when kappa is undefined)."""
    if active is None or active.pk == candidate.pk:
        return {"n": 0, "worse": False, "candidate": None, "active": None}
    items = evidence(candidate.clinic)
    mine = model_answers(candidate, items)
    theirs = model_answers(active, items)
    shared = [i for i in items if i.segment_id in mine and i.segment_id in theirs]
    if not shared:
        return {"n": 0, "worse": False, "candidate": None, "active": None}
    new = _report_on(candidate, shared, mine, 0.0)
    old = _report_on(active, shared, theirs, 0.0)

    def score(report: dict[str, Any]) -> float:
        return float(report["kappa"] if report["kappa"] is not None else report["agreement"])

    return {
        "n": len(shared),
        "worse": len(shared) >= MIN_COMPARE_ITEMS and score(new) < score(old),
        "candidate": new,
        "active": old,
        "enough": len(shared) >= MIN_COMPARE_ITEMS,
    }


def clinic_children_ids(clinic: Clinic) -> set[Any]:
    return set(Child.objects.filter(clinic=clinic).values_list("pk", flat=True))


def latest_job(clinic: Clinic, kind: str) -> ValidationJob | None:
    return ValidationJob.objects.filter(clinic=clinic, kind=kind).first()


def review_counts(clinic: Clinic) -> dict[str, int]:
    base = ReviewItem.objects.filter(child__clinic=clinic)
    return {
        "items": base.count(),
        "answered": base.filter(answered_at__isnull=False).count(),
        "double": base.filter(second_rater=True, answered_at__isnull=False).count(),
    }
