"""Audio retention: raw audio older than the clinic's ``audio_retention_days`` is deleted.

What goes: the audio file of each session recording uploaded before the cutoff (the recording
row stays, marked with ``audio_deleted_at``), and the audio of practice attempts (through the
exercises app). What stays: the derived results (analysis summaries, segments, timelines,
corrections) while the child's analysis consent is in force; where that consent has been
revoked, the derived results of the expired recordings go too.

Run daily by ``sessions.families.tasks.apply_retention`` (Celery beat) and by the management
command ``apply_retention [--dry-run]``.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from sessions import audit
from sessions.families.models import ConsentPurpose, ConsentRecord
from sessions.models import Clinic, Recording
from sessions.models.audit import AuditAction

logger = logging.getLogger(__name__)


@dataclass
class ClinicRetention:
    clinic_id: str
    retention_days: int
    cutoff: str
    recordings_audio_deleted: int = 0
    analysis_runs_deleted: int = 0
    attempt_audio_deleted: int | None = 0
    dry_run: bool = False
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _due(clinic: Clinic, cutoff: dt.datetime) -> Any:
    analysis_live = ConsentRecord.objects.filter(
        child=OuterRef("session__child"), purpose=ConsentPurpose.ANALYSIS, revoked_at__isnull=True
    )
    return (
        Recording.objects.filter(
            session__child__clinic=clinic, created_at__lt=cutoff, audio_deleted_at__isnull=True
        )
        .annotate(analysis_consent=Exists(analysis_live))
        .order_by("created_at")
    )


def _delete_attempt_audio(clinic: Clinic, cutoff: dt.datetime) -> int | None:
    try:
        from sessions.exercises.services import delete_attempt_audio_older_than
    except ImportError:
        logger.warning("exercises app has no delete_attempt_audio_older_than; skipped")
        return None
    return int(delete_attempt_audio_older_than(clinic=clinic, cutoff=cutoff))


def _expire_recording(recording: Recording, now: dt.datetime) -> tuple[bool, int]:
    """Delete one recording's audio (file first, so a crash in between leaves a row that the
    next run finishes, never a file nobody points at) and, without analysis consent, its
    derived results. Returns (audio deleted by this call, analysis runs deleted)."""
    from analysis.models import AnalysisRun

    if recording.file:
        default_storage.delete(str(recording.file.name))
    with transaction.atomic():
        claimed = Recording.objects.filter(pk=recording.pk, audio_deleted_at__isnull=True).update(
            audio_deleted_at=now, file="", updated_at=now
        )
        runs = 0
        if claimed and not recording.analysis_consent:  # type: ignore[attr-defined]
            derived = AnalysisRun.objects.filter(recording_id=recording.pk)
            runs = derived.count()
            derived.delete()
    return bool(claimed), runs


def retention_apply(
    *, now: dt.datetime | None = None, dry_run: bool = False, clinic: Clinic | None = None
) -> list[ClinicRetention]:
    """Apply every clinic's audio retention rule (or only ``clinic``'s).

    Changes: deletes expired audio files, sets ``Recording.audio_deleted_at`` and clears the
    file name, deletes derived results where analysis consent is gone, deletes expired practice
    audio, and writes one audit entry per clinic with the counts. With ``dry_run`` it changes
    nothing and reports what it would delete. Running it twice deletes nothing the second time
    (recordings already done are skipped), so a repeated daily run is harmless.
    """
    now = now or timezone.now()
    clinics = Clinic.objects.filter(audio_retention_days__isnull=False)
    if clinic is not None:
        clinics = clinics.filter(pk=clinic.pk)
    results: list[ClinicRetention] = []
    for each in clinics.order_by("name"):
        days = int(each.audio_retention_days or 0)
        cutoff = now - dt.timedelta(days=days)
        outcome = ClinicRetention(str(each.pk), days, cutoff.isoformat(), dry_run=dry_run)
        due = _due(each, cutoff)
        if dry_run:
            outcome.recordings_audio_deleted = due.count()
            from analysis.models import AnalysisRun

            outcome.analysis_runs_deleted = AnalysisRun.objects.filter(
                recording__in=due.filter(analysis_consent=False).values("pk")
            ).count()
            outcome.attempt_audio_deleted = None  # the exercises app reports only real runs
            results.append(outcome)
            continue
        for recording in due.iterator(chunk_size=200):
            try:
                deleted, runs = _expire_recording(recording, now)
            except OSError as exc:
                # Id-based storage names only: no personal data in logs or the report.
                logger.exception("retention could not delete audio of recording %s", recording.pk)
                outcome.errors.append(f"recording {recording.pk}: {type(exc).__name__}")
                continue
            outcome.recordings_audio_deleted += int(deleted)
            outcome.analysis_runs_deleted += runs
        outcome.attempt_audio_deleted = _delete_attempt_audio(each, cutoff)
        audit.record(
            actor=None,
            action=AuditAction.DELETE,
            object_type="retention",
            clinic_id=each.pk,
            detail={
                "by": "retention",
                **{k: v for k, v in outcome.as_dict().items() if k not in {"clinic_id", "dry_run"}},
            },
        )
        logger.info(
            "retention clinic=%s days=%s audio_deleted=%s runs_deleted=%s attempt_audio=%s",
            each.pk,
            days,
            outcome.recordings_audio_deleted,
            outcome.analysis_runs_deleted,
            outcome.attempt_audio_deleted,
        )
        results.append(outcome)
    return results
