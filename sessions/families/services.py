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

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest
from django.utils import timezone

from sessions import audit
from sessions.families import selectors
from sessions.families.consent import require_consent
from sessions.families.models import (
    ERASURE_UNDO_WINDOW,
    ConsentChannel,
    ConsentPurpose,
    ConsentRecord,
    ConsentText,
    ErasureStatus,
    OnlineConsentPolicy,
    ProgressReport,
    ReportLocked,
    ReportStatus,
    ScheduledErasure,
)
from sessions.models import Child, Clinic, Membership, Recording, Role, TherapySession
from sessions.models.audit import AuditAction
from sessions.types import Actor, signed_in

logger = logging.getLogger(__name__)

# The key in a report's summary that says the therapist included listening practice.
LISTENING_CHOICE = selectors.LISTENING_CHOICE


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
    *,
    clinic: Clinic,
    purpose: str,
    body: str,
    actor: Actor | None,
    request: HttpRequest | None = None,
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
        created_by=signed_in(actor),
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
    *, clinic: Clinic, days: int | None, actor: Actor | None, request: HttpRequest | None = None
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
    actor: Actor | None,
    request: HttpRequest | None = None,
    recorded_at: dt.datetime | None = None,
    channel: str = ConsentChannel.CLINIC,
    signature: str = "",
) -> ConsentRecord:
    """Record the guardian's consent for one purpose against the clinic's current text.

    With analysis consent, recordings of the child that waited for it are queued for analysis.
    If the consent is already in force this changes nothing and returns the live record, so a
    double submit cannot create two records. ``channel`` and ``signature`` say how it was
    given (``consent_give_online`` passes the guardian's typed name).
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
        recorded_by=signed_in(actor),
        recorded_at=recorded_at or timezone.now(),
        channel=ConsentChannel(channel),
        signature=signature.strip()[:200],
    )
    detail: dict[str, Any] = {
        "purpose": str(purpose),
        "text_version": text.version,
        "channel": str(channel),
    }
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
    *,
    child: Child,
    purpose: str,
    actor: Actor | None,
    request: HttpRequest | None = None,
    channel: str = ConsentChannel.CLINIC,
    signature: str = "",
    erase_now: bool = True,
) -> Revocation:
    """Revoke the child's live consent for ``purpose`` (the record is kept, marked revoked).

    Revoking recording consent also erases every recording of the child and everything derived
    from it (see ``child_recordings_erase``); the view asks for confirmation first. With
    ``erase_now=False`` (a guardian withdrawing online) the erasure is left to the caller, which
    schedules it after the undo window. Without a live consent this changes nothing and returns
    ``Revocation(None)``.
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
    record.revoked_by = signed_in(actor)
    record.revoked_channel = ConsentChannel(channel)
    record.revocation_signature = signature.strip()[:200]
    record.save(
        update_fields=[
            "revoked_at",
            "revoked_by",
            "revoked_channel",
            "revocation_signature",
            "updated_at",
        ]
    )
    audit.record(
        actor=actor,
        action=AuditAction.REVOKE,
        obj=record,
        child=child,
        request=request,
        detail={"purpose": str(purpose), "channel": str(channel)},
    )
    erased = None
    if purpose == ConsentPurpose.RECORDING and not erase_now:
        # The voice print goes at once, even while the recordings wait out the undo window.
        from analysis.voices.services import child_print_delete

        child_print_delete(
            child=child, actor=actor, reason="recording_consent_revoked", request=request
        )
    if purpose == ConsentPurpose.RECORDING and erase_now:
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
    *, child: Child, actor: Actor | None, reason: str, request: HttpRequest | None = None
) -> dict[str, int]:
    """Delete every recording of ``child``: audio files, analysis runs, segments, frames and
    the therapist corrections on them (they cascade), the child's practice attempts and the
    voice print learnt from them.

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
    from sessions.listening.services import delete_child_answers

    counts["listening_answers"] = delete_child_answers(child=child)
    # The child's voice print is derived from their recordings (practice attempts, named lanes).
    from analysis.voices.services import child_print_delete

    counts["voice_prints"] = int(
        child_print_delete(child=child, actor=actor, reason=reason, request=request)
    )
    transaction.on_commit(lambda: _delete_files(files))
    # Feature vectors the clinic validation cached from the child's segments go with them.
    from sessions.validation.jobs import forget_child_features

    child_id = child.pk
    transaction.on_commit(lambda: forget_child_features(child_id))
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


# --- consent online, by the guardian -------------------------------------------------------


class OnlineConsentRefused(ValueError):
    """A guardian's online consent change that cannot be made; the message says why."""


@transaction.atomic
def clinic_set_online_purposes(
    *,
    clinic: Clinic,
    purposes: Iterable[str],
    actor: Actor | None,
    request: HttpRequest | None = None,
) -> OnlineConsentPolicy:
    """Choose which purposes guardians may give or withdraw online. Saving the same choice
    again changes nothing."""
    chosen = sorted({ConsentPurpose(p).value for p in purposes})
    policy, _ = OnlineConsentPolicy.objects.get_or_create(
        clinic=clinic, defaults={"purposes": list(ConsentPurpose.values)}
    )
    if sorted(policy.purposes) != chosen:
        policy.purposes = chosen
        policy.save(update_fields=["purposes", "updated_at"])
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=policy,
            clinic_id=clinic.pk,
            request=request,
            detail={"purposes": chosen},
        )
    return policy


def _check_online(child: Child, purpose: str, signature: str) -> str:
    if purpose not in selectors.online_consent_purposes(clinic=child.clinic):
        raise OnlineConsentRefused(
            "The clinic handles this consent in person. Please contact the clinic to change it."
        )
    signature = " ".join(signature.split())
    if len(signature) < 2:
        raise OnlineConsentRefused("Type your full name to sign.")
    return signature[:200]


def _clinic_admin_emails(clinic_id: Any) -> list[str]:
    return sorted(
        email
        for email in Membership.objects.filter(
            clinic_id=clinic_id, role=Role.CLINIC_ADMIN
        ).values_list("user__email", flat=True)
        if email
    )


def _notify_clinic(child: Child, subject: str, lines: list[str]) -> None:
    """E-mail the clinic's admins once the change is committed. The message names the child by
    code only (mail leaves the portal); a failed send is logged and never undoes the change:
    the audit entry and the console's list of online changes say the same."""
    recipients = _clinic_admin_emails(child.clinic_id)
    if not recipients:
        return
    body = "\n".join(
        [
            *lines,
            "",
            "The clinic console lists every consent change guardians made online "
            "(Console > Consent and data).",
        ]
    )

    def send() -> None:
        try:
            send_mail(
                f"[SER Portal] {subject}",
                body,
                settings.DEFAULT_FROM_EMAIL,
                recipients,
            )
        except Exception:  # any mail backend error; the change itself stands
            logger.exception("could not e-mail the clinic about child %s", child.pk)

    transaction.on_commit(send)


def _label(purpose: str) -> str:
    return ConsentPurpose(purpose).label.lower()


@transaction.atomic
def consent_give_online(
    *,
    child: Child,
    purpose: str,
    guardian: Actor,
    signature: str,
    text_version: int,
    request: HttpRequest | None = None,
) -> ConsentRecord:
    """A guardian gives consent online, signing with their typed name, to the text version
    they were shown (refused if the clinic published a newer one meanwhile).

    Giving recording consent while an erasure is waiting cancels it (the guardian changed their
    mind). The clinic's admins are e-mailed. If the consent is already in force this changes
    nothing and returns the live record.
    """
    purpose = ConsentPurpose(purpose)
    signature = _check_online(child, purpose, signature)
    current = selectors.consent_text_current(clinic=child.clinic, purpose=purpose)
    if current is None:
        raise ConsentTextMissing(purpose)
    if current.version != text_version:
        raise OnlineConsentRefused(
            "The clinic has just updated the wording of this consent. Please read the new "
            "version below and sign again."
        )
    live = ConsentRecord.objects.filter(
        child=child, purpose=purpose, revoked_at__isnull=True
    ).first()
    if live is not None:
        return live
    record = consent_grant(
        child=child,
        purpose=purpose,
        given_by=signature,
        actor=guardian,
        request=request,
        channel=ConsentChannel.ONLINE,
        signature=signature,
    )
    if purpose == ConsentPurpose.RECORDING:
        for erasure in ScheduledErasure.objects.select_for_update().filter(
            child=child, status=ErasureStatus.PENDING
        ):
            _cancel_erasure(erasure, actor=guardian, request=request, restore=False)
    _notify_clinic(
        child,
        f"Consent given online for child {child.code}",
        [
            f"A guardian of child {child.code} gave consent to {_label(purpose)} online "
            f"(text version {current.version}), signed with their typed name.",
        ],
    )
    return record


@dataclass(frozen=True)
class OnlineWithdrawal:
    record: ConsentRecord | None
    erasure: ScheduledErasure | None = None


@transaction.atomic
def consent_withdraw_online(
    *,
    child: Child,
    purpose: str,
    guardian: Actor,
    signature: str,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> OnlineWithdrawal:
    """A guardian withdraws consent online, signing with their typed name.

    The consent stops at once (the gates close: no new uploads, no analysis, no sharing, no
    training use, as for an admin's revocation). Withdrawing recording consent also schedules
    the same erasure an admin's revocation runs at once, ``ERASURE_UNDO_WINDOW`` (24 h) later,
    so the guardian can undo it (``erasure_undo``). The clinic's admins are e-mailed. Without a
    live consent this changes nothing and returns ``OnlineWithdrawal(None)``.
    """
    purpose = ConsentPurpose(purpose)
    signature = _check_online(child, purpose, signature)
    now = now or timezone.now()
    revocation = consent_revoke(
        child=child,
        purpose=purpose,
        actor=guardian,
        request=request,
        channel=ConsentChannel.ONLINE,
        signature=signature,
        erase_now=False,
    )
    if revocation.record is None:
        return OnlineWithdrawal(None)
    erasure = None
    lines = [f"A guardian of child {child.code} withdrew consent to {_label(purpose)} online."]
    if purpose == ConsentPurpose.RECORDING:
        erasure = ScheduledErasure.objects.filter(
            child=child, status=ErasureStatus.PENDING
        ).first() or ScheduledErasure.objects.create(
            child=child,
            consent=revocation.record,
            requested_by=signed_in(guardian),
            signature=signature,
            due_at=now + ERASURE_UNDO_WINDOW,
        )
        audit.record(
            actor=guardian,
            action=AuditAction.CREATE,
            obj=erasure,
            child=child,
            request=request,
            detail={"due_at": erasure.due_at.isoformat(), "reason": "recording_consent_withdrawn"},
        )
        lines.append(
            "No new recordings can be uploaded. Every recording of the child and everything "
            f"derived from it will be deleted after {erasure.due_at:%d %b %Y %H:%M} UTC unless "
            "the guardian undoes the withdrawal before then."
        )
    _notify_clinic(child, f"Consent withdrawn online for child {child.code}", lines)
    return OnlineWithdrawal(revocation.record, erasure)


def _cancel_erasure(
    erasure: ScheduledErasure, *, actor: Actor | None, request: HttpRequest | None, restore: bool
) -> None:
    now = timezone.now()
    erasure.status = ErasureStatus.CANCELLED
    erasure.cancelled_at = now
    erasure.cancelled_by = signed_in(actor)
    erasure.save(update_fields=["status", "cancelled_at", "cancelled_by", "updated_at"])
    restored = False
    live = ConsentRecord.objects.filter(
        child_id=erasure.child_id, purpose=ConsentPurpose.RECORDING, revoked_at__isnull=True
    ).exists()
    if restore and erasure.consent_id is not None and not live:
        # The withdrawal never took full effect: the consent the guardian gave (the same text
        # version, the same signature) is in force again. The audit log keeps both steps.
        restored = bool(
            ConsentRecord.objects.filter(pk=erasure.consent_id).update(
                revoked_at=None,
                revoked_by=None,
                revoked_channel="",
                revocation_signature="",
                updated_at=now,
            )
        )
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=erasure,
        child=erasure.child,
        request=request,
        detail={"status": ErasureStatus.CANCELLED.value, "consent_restored": restored},
    )


@transaction.atomic
def erasure_undo(
    *,
    erasure: ScheduledErasure,
    guardian: Actor,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> ScheduledErasure:
    """Undo an online withdrawal of recording consent within the window: nothing is deleted
    and the consent is in force again. Raises OnlineConsentRefused once the window has passed
    or the erasure has run; undoing twice changes nothing more."""
    now = now or timezone.now()
    erasure = (
        ScheduledErasure.objects.select_for_update().select_related("child").get(pk=erasure.pk)
    )
    if erasure.status == ErasureStatus.CANCELLED:
        return erasure
    if erasure.status != ErasureStatus.PENDING or erasure.due_at <= now:
        raise OnlineConsentRefused(
            "The 24 hours to undo this have passed, so the recordings have been (or are being) "
            "deleted. You can give recording consent again for new recordings."
        )
    _cancel_erasure(erasure, actor=guardian, request=request, restore=True)
    _notify_clinic(
        erasure.child,
        f"Consent withdrawal undone for child {erasure.child.code}",
        [
            f"A guardian of child {erasure.child.code} undid their online withdrawal of "
            "recording consent. Nothing was deleted; the consent is in force again."
        ],
    )
    return erasure


def erasures_run_due(*, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Run every scheduled erasure whose undo window has passed (the periodic task calls this).

    Each one is claimed with a conditional UPDATE inside its own transaction, so two workers
    never run the same erasure and a failure rolls it back to pending for the next run. If
    recording consent is in force again when it is due, nothing is deleted (superseded).
    Running it again finds nothing due. Returns ids, outcomes and counts (no personal data).
    """
    now = now or timezone.now()
    due = list(
        ScheduledErasure.objects.filter(status=ErasureStatus.PENDING, due_at__lte=now)
        .order_by("due_at")
        .values_list("pk", flat=True)
    )
    results = []
    for erasure_id in due:
        with transaction.atomic():
            claimed = ScheduledErasure.objects.filter(
                pk=erasure_id, status=ErasureStatus.PENDING, due_at__lte=now
            ).update(status=ErasureStatus.DONE, finished_at=now, updated_at=now)
            if not claimed:
                continue
            erasure = ScheduledErasure.objects.select_related("child").get(pk=erasure_id)
            child = erasure.child
            if ConsentRecord.objects.filter(
                child=child, purpose=ConsentPurpose.RECORDING, revoked_at__isnull=True
            ).exists():
                erasure.status = ErasureStatus.SUPERSEDED
                erasure.save(update_fields=["status", "updated_at"])
                counts: dict[str, int] = {}
            else:
                counts = child_recordings_erase(
                    child=child, actor=None, reason="recording_consent_withdrawn_online"
                )
                erasure.counts = counts
                erasure.save(update_fields=["counts", "updated_at"])
            audit.record(
                actor=None,
                action=AuditAction.UPDATE,
                obj=erasure,
                child=child,
                detail={"status": erasure.status, **counts},
            )
        results.append({"erasure": str(erasure_id), "status": erasure.status, **counts})
    return results


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
    actor: Actor | None,
    period_start: dt.date,
    period_end: dt.date,
    sessions: Iterable[TherapySession],
    title: str = "Progress report",
    comments: str = "",
    include_listening: bool = False,
    request: HttpRequest | None = None,
) -> ProgressReport:
    """Start a draft report. Each call creates a new report (version 1 of a new series).
    ``include_listening``: the report shows the child's listening practice of the period (the
    choice is kept in the draft's ``summary`` until release freezes the figures)."""
    _check_period(period_start, period_end)
    chosen = _check_sessions(child, sessions)
    report = ProgressReport.objects.create(
        child=child,
        title=title.strip() or "Progress report",
        period_start=period_start,
        period_end=period_end,
        comments=comments.strip(),
        created_by=signed_in(actor),
        summary={LISTENING_CHOICE: True} if include_listening else {},
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
    actor: Actor | None,
    title: str,
    period_start: dt.date,
    period_end: dt.date,
    sessions: Iterable[TherapySession],
    comments: str,
    include_listening: bool | None = None,
    request: HttpRequest | None = None,
) -> ProgressReport:
    """Change a draft. Raises ReportLocked for a released report. Saving the same values twice
    leaves the same draft. ``include_listening`` None keeps the draft's choice."""
    report = ProgressReport.objects.select_for_update().get(pk=report.pk)
    if report.is_released:
        raise ReportLocked()
    _check_period(period_start, period_end)
    chosen = _check_sessions(report.child, sessions)
    report.title = title.strip() or "Progress report"
    report.period_start, report.period_end = period_start, period_end
    report.comments = comments.strip()
    if include_listening is not None:
        report.summary = {LISTENING_CHOICE: True} if include_listening else {}
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
    *, report: ProgressReport, actor: Actor | None, request: HttpRequest | None = None
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
        include_listening=bool(report.summary.get(LISTENING_CHOICE)),
    )
    report.status = ReportStatus.RELEASED
    report.released_at = timezone.now()
    report.released_by = signed_in(actor)
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
    *, report: ProgressReport, actor: Actor | None, request: HttpRequest | None = None
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
        created_by=signed_in(actor),
        summary={LISTENING_CHOICE: True} if report.summary.get(LISTENING_CHOICE) else {},
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
    *, report: ProgressReport, actor: Actor | None, request: HttpRequest | None = None
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
