"""Writes of the families app: consent texts and records, erasing a child's recordings, and
progress reports. Each service validates, writes and records the audit entry.

Retention (``retention.py``) and the right-of-access archive (``export.py``) live apart, each
in the module named for its job.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest
from django.utils import timezone

from sessions import audit
from sessions.families import selectors
from sessions.families.consent import require_consent
from sessions.families.models import (
    ConsentPurpose,
    ConsentRecord,
    ConsentText,
    ProgressReport,
    ReportLocked,
    ReportStatus,
)
from sessions.models import Child, Clinic, Recording, TherapySession
from sessions.models.audit import AuditAction

logger = logging.getLogger(__name__)


class ConsentTextMissing(ValueError):
    """The clinic has not written the consent text for this purpose yet."""

    def __init__(self, purpose: str) -> None:
        self.purpose = purpose
        label = ConsentPurpose(purpose).label.lower()
        super().__init__(
            f"There is no consent text for {label} yet. A clinic admin writes it first in the "
            "clinic console, so that the record says exactly what the guardian agreed to."
        )


# --- consent texts ----------------------------------------------------------------------------


@transaction.atomic
def consent_text_publish(
    *, clinic: Clinic, purpose: str, body: str, actor: Any, request: HttpRequest | None = None
) -> ConsentText:
    """Publish a new version of the clinic's consent text for ``purpose``.

    Editing never changes a published text (records point at the version the guardian saw); it
    adds version n+1. Publishing the same wording as the current version again changes nothing
    and returns the current version.
    """
    purpose = ConsentPurpose(purpose)
    body = body.strip()
    if not body:
        raise ValueError("The consent text cannot be empty.")
    # Lock the clinic row so two admins publishing at once get consecutive version numbers.
    Clinic.objects.select_for_update().filter(pk=clinic.pk).first()
    current = selectors.consent_text_current(clinic=clinic, purpose=purpose)
    if current is not None and current.body == body:
        return current
    version = (current.version if current else 0) + 1
    text = ConsentText.objects.create(
        clinic=clinic,
        purpose=purpose,
        version=version,
        body=body,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=text,
        clinic_id=clinic.pk,
        request=request,
        detail={"purpose": str(purpose), "version": version},
    )
    return text


@transaction.atomic
def clinic_set_retention(
    *, clinic: Clinic, days: int | None, actor: Any, request: HttpRequest | None = None
) -> Clinic:
    """Set how many days session audio is kept (None: until consent is revoked). Setting the
    same value again changes nothing."""
    if days is not None and days < 1:
        raise ValueError("Keep audio for at least one day, or leave the period empty.")
    if clinic.audio_retention_days != days:
        clinic.audio_retention_days = days
        clinic.save(update_fields=["audio_retention_days", "updated_at"])
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=clinic,
            clinic_id=clinic.pk,
            request=request,
            detail={"audio_retention_days": days},
        )
    return clinic


# --- consent records --------------------------------------------------------------------------


def _release_recordings_waiting_for_analysis(child: Child) -> int:
    # Imported late: the analysis app imports the consent gates from this app.
    from analysis.services import recordings_release_awaiting_consent

    return recordings_release_awaiting_consent(child=child)


@transaction.atomic
def consent_grant(
    *,
    child: Child,
    purpose: str,
    given_by: str,
    actor: Any,
    request: HttpRequest | None = None,
    recorded_at: dt.datetime | None = None,
) -> ConsentRecord:
    """Record the guardian's consent for one purpose against the clinic's current text.

    With analysis consent, recordings of the child that waited for it are queued for analysis.
    If the consent is already in force this changes nothing and returns the live record, so a
    double submit cannot create two records.
    """
    purpose = ConsentPurpose(purpose)
    given_by = given_by.strip()
    if not given_by:
        raise ValueError("Enter the name of the guardian who gave consent.")
    # Serialise grants and revocations for one child (the live-consent constraint would also
    # catch a race, but as an error instead of a clean no-op).
    Child.objects.select_for_update().filter(pk=child.pk).first()
    live = ConsentRecord.objects.filter(
        child=child, purpose=purpose, revoked_at__isnull=True
    ).first()
    if live is not None:
        return live
    text = selectors.consent_text_current(clinic=child.clinic, purpose=purpose)
    if text is None:
        raise ConsentTextMissing(purpose)
    record = ConsentRecord.objects.create(
        child=child,
        purpose=purpose,
        text=text,
        given_by=given_by[:200],
        recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
        recorded_at=recorded_at or timezone.now(),
    )
    detail: dict[str, Any] = {"purpose": str(purpose), "text_version": text.version}
    if purpose == ConsentPurpose.ANALYSIS:
        detail["recordings_queued"] = _release_recordings_waiting_for_analysis(child)
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=record,
        child=child,
        request=request,
        detail=detail,
    )
    return record


@dataclass(frozen=True)
class Revocation:
    record: ConsentRecord | None
    erased: dict[str, int] | None = None


@transaction.atomic
def consent_revoke(
    *, child: Child, purpose: str, actor: Any, request: HttpRequest | None = None
) -> Revocation:
    """Revoke the child's live consent for ``purpose`` (the record is kept, marked revoked).

    Revoking recording consent also erases every recording of the child and everything derived
    from it (see ``child_recordings_erase``); the view asks for confirmation first. Without a
    live consent this changes nothing and returns ``Revocation(None)``.
    """
    purpose = ConsentPurpose(purpose)
    Child.objects.select_for_update().filter(pk=child.pk).first()
    record = (
        ConsentRecord.objects.select_for_update()
        .filter(child=child, purpose=purpose, revoked_at__isnull=True)
        .first()
    )
    if record is None:
        return Revocation(None)
    record.revoked_at = timezone.now()
    record.revoked_by = actor if getattr(actor, "is_authenticated", False) else None
    record.save(update_fields=["revoked_at", "revoked_by", "updated_at"])
    audit.record(
        actor=actor,
        action=AuditAction.REVOKE,
        obj=record,
        child=child,
        request=request,
        detail={"purpose": str(purpose)},
    )
    erased = None
    if purpose == ConsentPurpose.RECORDING:
        erased = child_recordings_erase(
            child=child, actor=actor, request=request, reason="recording_consent_revoked"
        )
    return Revocation(record, erased)


def _delete_child_attempts(child: Child) -> int | None:
    """Practice attempts (their rows and audio) of the exercises app; None if it has none yet."""
    try:
        from sessions.exercises.services import delete_child_attempts
    except ImportError:
        logger.warning("exercises app has no delete_child_attempts; attempts were not erased")
        return None
    return int(delete_child_attempts(child=child))


def _delete_files(names: Iterable[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            # The path is an id-based storage name, never a person's name.
            logger.exception("could not delete stored file %s", name)


@transaction.atomic
def child_recordings_erase(
    *, child: Child, actor: Any, reason: str, request: HttpRequest | None = None
) -> dict[str, int]:
    """Delete every recording of ``child``: audio files, analysis runs, segments, frames and
    the therapist corrections on them (they cascade), and the child's practice attempts.

    Sessions and their notes stay. The audit entry says that it happened and how much was
    deleted, with counts only. Files are deleted once the transaction commits, so a failure
    leaves rows and files together. Running it again finds nothing and deletes nothing.
    """
    from analysis.models import AnalysisRun, Segment

    recordings = Recording.objects.filter(session__child=child)
    files = [name for name in recordings.values_list("file", flat=True) if name]
    counts = {
        "recordings": recordings.count(),
        "analysis_runs": AnalysisRun.objects.filter(recording__in=recordings).count(),
        "segments": Segment.objects.filter(run__recording__in=recordings).count(),
        "audio_files": len(files),
    }
    recordings.delete()
    attempts = _delete_child_attempts(child)
    if attempts is not None:
        counts["exercise_attempts"] = attempts
    transaction.on_commit(lambda: _delete_files(files))
    audit.record(
        actor=actor,
        action=AuditAction.DELETE,
        object_type="recording_data",
        object_id=child.pk,
        child=child,
        request=request,
        detail={**counts, "reason": reason},
    )
    logger.info("erased recording data of child %s: %s", child.pk, counts)
    return counts


# --- progress reports -------------------------------------------------------------------------


def _check_period(period_start: dt.date, period_end: dt.date) -> None:
    if period_start > period_end:
        raise ValueError("The period must start before it ends.")


def _check_sessions(child: Child, sessions: Iterable[TherapySession]) -> list[TherapySession]:
    chosen = list(sessions)
    if any(s.child_id != child.pk for s in chosen):
        raise ValueError("A report can only include this child's sessions.")
    return chosen


@transaction.atomic
def report_create(
    *,
    child: Child,
    actor: Any,
    period_start: dt.date,
    period_end: dt.date,
    sessions: Iterable[TherapySession],
    title: str = "Progress report",
    comments: str = "",
    request: HttpRequest | None = None,
) -> ProgressReport:
    """Start a draft report. Each call creates a new report (version 1 of a new series)."""
    _check_period(period_start, period_end)
    chosen = _check_sessions(child, sessions)
    report = ProgressReport.objects.create(
        child=child,
        title=title.strip() or "Progress report",
        period_start=period_start,
        period_end=period_end,
        comments=comments.strip(),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    report.sessions.set(chosen)
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=report,
        child=child,
        request=request,
        detail={"sessions": len(chosen)},
    )
    return report


@transaction.atomic
def report_update(
    *,
    report: ProgressReport,
    actor: Any,
    title: str,
    period_start: dt.date,
    period_end: dt.date,
    sessions: Iterable[TherapySession],
    comments: str,
    request: HttpRequest | None = None,
) -> ProgressReport:
    """Change a draft. Raises ReportLocked for a released report. Saving the same values twice
    leaves the same draft."""
    report = ProgressReport.objects.select_for_update().get(pk=report.pk)
    if report.is_released:
        raise ReportLocked()
    _check_period(period_start, period_end)
    chosen = _check_sessions(report.child, sessions)
    report.title = title.strip() or "Progress report"
    report.period_start, report.period_end = period_start, period_end
    report.comments = comments.strip()
    report.save()
    report.sessions.set(chosen)
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=report,
        child=report.child,
        request=request,
        detail={"sessions": len(chosen)},
    )
    return report


@transaction.atomic
def report_release(
    *, report: ProgressReport, actor: Any, request: HttpRequest | None = None
) -> ProgressReport:
    """Release a draft to the family: freeze its summary and make it immutable.

    Requires the guardian's consent to sharing reports (raises ConsentMissing). Releasing a
    report that is already released changes nothing.
    """
    report = ProgressReport.objects.select_for_update().select_related("child").get(pk=report.pk)
    if report.is_released:
        return report
    require_consent(report.child, ConsentPurpose.SHARING)
    report.summary = selectors.report_summary(
        child=report.child,
        sessions=report.sessions.all(),
        period_start=report.period_start,
        period_end=report.period_end,
    )
    report.status = ReportStatus.RELEASED
    report.released_at = timezone.now()
    report.released_by = actor if getattr(actor, "is_authenticated", False) else None
    report.save()
    audit.record(
        actor=actor,
        action=AuditAction.RELEASE,
        obj=report,
        child=report.child,
        request=request,
        detail={"version": report.version, "sessions": len(report.summary.get("sessions", []))},
    )
    return report


@transaction.atomic
def report_revise(
    *, report: ProgressReport, actor: Any, request: HttpRequest | None = None
) -> ProgressReport:
    """Start a correction of a released report: a new draft version in the same series, copied
    from it. If the series already has a draft, that draft is returned (no second one)."""
    if not report.is_released:
        return report
    Child.objects.select_for_update().filter(pk=report.child_id).first()
    draft = ProgressReport.objects.filter(series=report.series, status=ReportStatus.DRAFT).first()
    if draft is not None:
        return draft
    newest = ProgressReport.objects.filter(series=report.series).aggregate(v=Max("version"))["v"]
    correction = ProgressReport.objects.create(
        child=report.child,
        series=report.series,
        version=(newest or 0) + 1,
        supersedes=report,
        title=report.title,
        period_start=report.period_start,
        period_end=report.period_end,
        comments=report.comments,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    correction.sessions.set(report.sessions.all())
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=correction,
        child=report.child,
        request=request,
        detail={"version": correction.version, "correction": True},
    )
    return correction


@transaction.atomic
def report_discard(
    *, report: ProgressReport, actor: Any, request: HttpRequest | None = None
) -> None:
    """Delete a draft. Raises ReportLocked for a released report; a second call finds nothing."""
    report = ProgressReport.objects.filter(pk=report.pk).first()  # type: ignore[assignment]
    if report is None:
        return
    if report.is_released:
        raise ReportLocked()
    audit.record(
        actor=actor,
        action=AuditAction.DELETE,
        obj=report,
        child=report.child,
        request=request,
        detail={"version": report.version},
    )
    report.delete()
