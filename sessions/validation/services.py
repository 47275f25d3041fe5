"""Writes of the clinic validation: the clinic's settings, the weekly blind-review sample, a
therapist's blind answer, and starting the background jobs (``sessions.validation.jobs`` runs
them).
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from analysis.models import EmotionModelVersion, ModelStatus, RunStatus, Segment
from sessions import audit
from sessions.models import Clinic, Membership, Role
from sessions.models.audit import AuditAction
from sessions.types import Actor, User, signed_in
from sessions.validation.models import (
    EMOTION_ANSWERS,
    SPEAKER_ANSWERS,
    JobKind,
    JobStatus,
    PickReason,
    ReviewItem,
    ValidationJob,
    ValidationSettings,
)

# Segments shorter than this are too short for a person to judge.
MIN_REVIEW_SECONDS = 0.8
MAX_SAMPLE_SIZE = 200


class ValidationError(ValueError):
    """Something a user asked that cannot be done, with a message they can act on."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def week_of(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


@transaction.atomic
def settings_update(
    *,
    clinic: Clinic,
    weekly_sample_size: int,
    uncertain_share: float,
    second_rater_share: float,
    actor: Actor | None,
    request: HttpRequest | None = None,
) -> ValidationSettings:
    """Store the clinic's blind-review settings. Changes: one row, one UPDATE audit entry;
    twice with the same values stores the same values."""
    if not 1 <= weekly_sample_size <= MAX_SAMPLE_SIZE:
        raise ValidationError(f"The weekly sample must be 1 to {MAX_SAMPLE_SIZE} segments.")
    if not (0 <= uncertain_share <= 1 and 0 <= second_rater_share <= 1):
        raise ValidationError("Shares are between 0 and 1.")
    row, _ = ValidationSettings.objects.select_for_update().get_or_create(clinic=clinic)
    row.weekly_sample_size = weekly_sample_size
    row.uncertain_share = uncertain_share
    row.second_rater_share = second_rater_share
    row.save()
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=row,
        clinic_id=clinic.pk,
        request=request,
        detail={
            "weekly_sample_size": weekly_sample_size,
            "uncertain_share": uncertain_share,
            "second_rater_share": second_rater_share,
        },
    )
    return row


# --- the weekly sample ---------------------------------------------------------------------


def _spread(rows: Sequence[Segment], n: int, *, strata: dict[Any, Any]) -> list[Segment]:
    """Up to ``n`` rows taken in turn from each stratum (child, emotion), in each stratum's
    order, so the pick spans children and emotions before it goes deep in any one."""
    groups: dict[Any, list[Segment]] = defaultdict(list)
    for row in rows:
        groups[strata[row.pk]].append(row)
    order = list(groups)
    picked: list[Segment] = []
    depth = 0
    while len(picked) < n and any(depth < len(groups[k]) for k in order):
        for key in order:
            if depth < len(groups[key]) and len(picked) < n:
                picked.append(groups[key][depth])
        depth += 1
    return picked


def stratified_pick(
    candidates: Sequence[Segment],
    *,
    n: int,
    uncertain_share: float,
    seed: str,
    child_of: dict[Any, Any],
) -> list[tuple[Segment, str]]:
    """The sample: ``uncertain_share`` of ``n`` from the least confident segments, the rest at
    random (seeded by ``seed``, so a redraw picks the same), both spread over children and
    emotions."""
    strata = {s.pk: (child_of[s.pk], s.emotion) for s in candidates}
    n_uncertain = round(n * uncertain_share)
    by_confidence = sorted(candidates, key=lambda s: (s.confidence, str(s.pk)))
    # Strata visited least-confident first.
    uncertain = _spread(by_confidence, n_uncertain, strata=strata)
    taken = {s.pk for s in uncertain}
    rest = sorted((s for s in candidates if s.pk not in taken), key=lambda s: str(s.pk))
    # Not for secrets: a seeded shuffle, so the same week's draw is reproducible.
    rng = random.Random(int(hashlib.sha256(seed.encode()).hexdigest()[:16], 16))  # noqa: S311
    rng.shuffle(rest)
    randoms = _spread(rest, n - len(uncertain), strata=strata)
    return [(s, str(PickReason.UNCERTAIN)) for s in uncertain] + [
        (s, str(PickReason.RANDOM)) for s in randoms
    ]


def _candidates(clinic: Clinic, therapist: User, before: datetime) -> tuple[list[Segment], dict]:
    """The therapist's analysed segments not sampled yet: newest finished run per recording,
    audio still kept, the therapist still assigned to the child."""
    rows = list(
        Segment.objects.filter(
            run__status=RunStatus.DONE,
            run__finished_at__lt=before,
            run__recording__session__therapist=therapist,
            run__recording__session__child__clinic=clinic,
            run__recording__session__child__therapists=therapist,
            run__recording__audio_deleted_at__isnull=True,
            review_items__isnull=True,
        )
        .exclude(run__recording__file="")
        .select_related("run")
        .only(
            "id",
            "start_s",
            "end_s",
            "emotion",
            "confidence",
            "run__recording_id",
            "run__finished_at",
            "run__recording__session__child_id",
        )
        .order_by("run__recording_id", "-run__finished_at", "index")
    )
    newest: dict[Any, Any] = {}
    out: list[Segment] = []
    for segment in rows:
        if newest.setdefault(segment.run.recording_id, segment.run_id) != segment.run_id:
            continue
        if segment.end_s - segment.start_s < MIN_REVIEW_SECONDS:
            continue
        out.append(segment)
    children = dict(
        Segment.objects.filter(pk__in=[s.pk for s in out]).values_list(
            "pk", "run__recording__session__child_id"
        )
    )
    return out, children


def _second_raters(clinic: Clinic, child_ids: set[Any], exclude: Any) -> dict[Any, list[Any]]:
    """Per child, the other therapists of the clinic assigned to it (they may hear its audio)."""
    from sessions.models import Child

    out: dict[Any, list[Any]] = {}
    therapists = set(
        Membership.objects.filter(clinic=clinic, role=Role.THERAPIST).values_list(
            "user_id", flat=True
        )
    )
    for child in Child.objects.filter(pk__in=child_ids).prefetch_related("therapists"):
        out[child.pk] = sorted(
            (t for t in child.therapists.all() if t.pk != exclude and t.pk in therapists),
            key=lambda t: str(t.pk),
        )
    return out


@transaction.atomic
def weekly_sample_draw(*, clinic: Clinic, week: date | None = None) -> int:
    """Draw ``week``'s blind-review sample for each therapist of ``clinic``: items for their
    own analysed segments, and for a share of them a second item for another therapist of the
    same child. Returns the number of items created.

    Twice for the same week: a therapist who already has that week's items gets none, and a
    segment is sampled once ever (constraints), so nothing is duplicated.
    """
    week = week_of(week or timezone.localdate())
    config = ValidationSettings.objects.filter(clinic=clinic).first() or ValidationSettings(
        clinic=clinic
    )
    before = timezone.make_aware(datetime.combine(week + timedelta(days=7), time.min))
    created = 0
    therapists = Membership.objects.filter(clinic=clinic, role=Role.THERAPIST).select_related(
        "user"
    )
    for membership in therapists:
        therapist = membership.user
        if ReviewItem.objects.filter(
            rater=therapist, week=week, second_rater=False, child__clinic=clinic
        ).exists():
            continue
        candidates, child_of = _candidates(clinic, therapist, before)
        if not candidates:
            continue
        picked = stratified_pick(
            candidates,
            n=config.weekly_sample_size,
            uncertain_share=config.uncertain_share,
            seed=f"{week.isoformat()}:{therapist.pk}",
            child_of=child_of,
        )
        seconds = _second_raters(clinic, {child_of[s.pk] for s, _ in picked}, therapist.pk)
        n_second = round(len(picked) * config.second_rater_share)
        for i, (segment, reason) in enumerate(picked):
            child_id = child_of[segment.pk]
            try:
                with transaction.atomic():
                    ReviewItem.objects.create(
                        segment=segment, child_id=child_id, rater=therapist, week=week,
                        reason=reason,
                    )  # fmt: skip
            except IntegrityError:  # sampled meanwhile by a concurrent draw
                continue
            created += 1
            others = seconds.get(child_id) or []
            if i < n_second and others:
                ReviewItem.objects.create(
                    segment=segment,
                    child_id=child_id,
                    rater=others[i % len(others)],
                    week=week,
                    reason=reason,
                    second_rater=True,
                )
                created += 1
    return created


def weekly_samples_draw_all(week: date | None = None) -> int:
    """Every clinic's sample for the week (the weekly beat task)."""
    return sum(weekly_sample_draw(clinic=clinic, week=week) for clinic in Clinic.objects.all())


# --- answering --------------------------------------------------------------------------------

_EMOTIONS = {value for value, _ in EMOTION_ANSWERS}
_SPEAKERS = {value for value, _ in SPEAKER_ANSWERS}


@transaction.atomic
def review_answer(
    *,
    item: ReviewItem,
    rater: Any,
    emotion: str,
    speaker: str,
    request: HttpRequest | None = None,
) -> ReviewItem:
    """Store the rater's blind answer. An answer is final (the model's answer is shown once
    the item is answered, so a changed answer would no longer be blind): answering again
    raises ValidationError and keeps the first. Changes: the item, one UPDATE audit entry."""
    if emotion not in _EMOTIONS or speaker not in _SPEAKERS:
        raise ValidationError("Choose an emotion (or Can't tell) and who is speaking.")
    locked = ReviewItem.objects.select_for_update().get(pk=item.pk)
    if locked.rater_id != getattr(rater, "pk", None):
        raise ValidationError("This item is someone else's to answer.", code="forbidden")
    if locked.answered_at is not None:
        raise ValidationError(
            "You have answered this segment already; blind answers are final.", code="answered"
        )
    locked.emotion = emotion
    locked.speaker = speaker
    locked.answered_at = timezone.now()
    locked.save(update_fields=["emotion", "speaker", "answered_at", "updated_at"])
    audit.record(
        actor=rater,
        action=AuditAction.UPDATE,
        obj=locked,
        child=locked.child,
        request=request,
        detail={"field": "blind_label"},
    )
    return locked


# --- background jobs ----------------------------------------------------------------------------


@transaction.atomic
def job_start(
    *,
    clinic: Clinic,
    kind: str,
    version: EmotionModelVersion | None,
    actor: Actor | None,
    request: HttpRequest | None = None,
) -> ValidationJob:
    """Queue an adaptation (``kind="adapt"``, on the clinic's active model) or a prediction
    job (``"predict"``: ``version`` answers the blind-reviewed segments). Raises
    ValidationError when one of that kind is still unfinished (started twice: one job).
    Changes: one job row, one CREATE audit entry; the task is sent after commit."""
    from sessions.validation.tasks import run_validation_job

    if kind == JobKind.ADAPT:
        version = EmotionModelVersion.objects.filter(
            clinic=clinic, status=ModelStatus.ACTIVE
        ).first()
        if version is None:
            raise ValidationError("The clinic has no active model to adapt.", code="no_model")
    if version is None or version.clinic_id != clinic.pk:
        raise ValidationError("Choose one of the clinic's models.")
    try:
        with transaction.atomic():
            job = ValidationJob.objects.create(
                clinic=clinic,
                kind=kind,
                version=version,
                requested_by=signed_in(actor),
                stage="Waiting for a worker",
            )
    except IntegrityError as exc:
        raise ValidationError(
            "One is already running; its progress is shown on this page.", code="running"
        ) from exc
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=job,
        clinic_id=clinic.pk,
        request=request,
        detail={"kind": kind, "version": str(version.pk)},
    )
    job_id = str(job.pk)
    transaction.on_commit(
        lambda: run_validation_job.apply_async(args=[job_id], queue=settings.SER_QUEUE_LONG)
    )
    return job


def job_claim(job_id: Any) -> ValidationJob | None:
    """Claim a queued job (conditional UPDATE): None when another delivery has it."""
    claimed = ValidationJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, stage="Starting", updated_at=timezone.now()
    )
    if not claimed:
        return None
    return ValidationJob.objects.select_related("clinic", "version").get(pk=job_id)


def job_progress(job: ValidationJob, progress: int, stage: str) -> None:
    ValidationJob.objects.filter(pk=job.pk).update(
        progress=max(0, min(100, progress)), stage=stage[:200], updated_at=timezone.now()
    )


def job_finish(
    job: ValidationJob,
    *,
    status: str,
    error: str = "",
    detail: dict[str, Any] | None = None,
    result_version: EmotionModelVersion | None = None,
) -> None:
    ValidationJob.objects.filter(pk=job.pk).update(
        status=status,
        progress=100 if status == JobStatus.DONE else job.progress,
        stage="Finished" if status == JobStatus.DONE else "Stopped",
        error=error[:500],
        detail=detail or {},
        result_version=result_version,
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
