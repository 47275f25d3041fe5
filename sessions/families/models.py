"""Consent (versioned texts, per-child per-purpose records with revocation) and progress
reports."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from sessions.models import Child, Clinic, TherapySession
from sessions.models.base import TimestampedModel


class ConsentPurpose(models.TextChoices):
    RECORDING = "recording", "Recording sessions"
    ANALYSIS = "analysis", "Automated emotion analysis"
    SHARING = "sharing", "Sharing reports with the family"
    TRAINING = "training", "Using recordings to improve models"


class ConsentChannel(models.TextChoices):
    """How a consent was given or withdrawn: on paper at the clinic (an admin records it) or
    online by the guardian, who signs by typing their name."""

    CLINIC = "clinic", "Recorded by the clinic"
    ONLINE = "online", "Online by the guardian"


# Free text typed into forms (the columns are unbounded text; the forms refuse more).
CONSENT_TEXT_MAX_LENGTH = 20_000
REPORT_COMMENTS_MAX_LENGTH = 10_000


class ConsentText(TimestampedModel):
    """The wording shown to the guardian. Editing creates a new version; old ones stay."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="consent_texts")
    purpose = models.CharField(max_length=20, choices=ConsentPurpose.choices)
    version = models.PositiveIntegerField()
    body = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["clinic", "purpose", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "purpose", "version"], name="unique_consent_text_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} v{self.version}"


class ConsentRecord(TimestampedModel):
    """A guardian's consent for one purpose. Revocation sets ``revoked_at``; rows are kept."""

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(max_length=20, choices=ConsentPurpose.choices)
    text = models.ForeignKey(ConsentText, on_delete=models.PROTECT, related_name="records")
    given_by = models.CharField(max_length=200, help_text="The guardian who consented")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.CharField(
        max_length=10, choices=ConsentChannel.choices, default=ConsentChannel.CLINIC
    )
    # Online: the name the guardian typed as their signature (``given_by`` holds it too).
    signature = models.CharField(max_length=200, blank=True)
    revoked_channel = models.CharField(max_length=10, choices=ConsentChannel.choices, blank=True)
    revocation_signature = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["child", "purpose", "-recorded_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["child", "purpose"],
                condition=Q(revoked_at=None),
                name="one_live_consent_per_purpose",
            )
        ]

    def __str__(self) -> str:
        return f"{self.child} {self.purpose} {'revoked' if self.revoked_at else 'given'}"


class OnlineConsentPolicy(TimestampedModel):
    """Which purposes the clinic lets guardians give or withdraw online. A clinic without a row
    allows every purpose (``selectors.online_consent_purposes``)."""

    clinic = models.OneToOneField(
        Clinic, on_delete=models.CASCADE, related_name="online_consent_policy"
    )
    purposes = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["clinic"]

    def __str__(self) -> str:
        return f"online consent: {', '.join(self.purposes) or 'none'}"


class ErasureStatus(models.TextChoices):
    """pending -> done (the erasure ran after the undo window) | cancelled (the guardian undid
    the withdrawal in time) | superseded (recording consent was in force again when it was
    due, so nothing was deleted)."""

    PENDING = "pending", "Waiting for the undo window to pass"
    DONE = "done", "Recordings deleted"
    CANCELLED = "cancelled", "Undone by the guardian"
    SUPERSEDED = "superseded", "Consent given again"


# How long a guardian can undo withdrawing recording consent online before the erasure runs.
ERASURE_UNDO_WINDOW = dt.timedelta(hours=24)


class ScheduledErasure(TimestampedModel):
    """A guardian withdrew recording consent online: the child's recordings are erased (by
    ``services.child_recordings_erase``, as when an admin revokes) once ``due_at`` has passed,
    unless the guardian undoes it before."""

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="scheduled_erasures")
    consent = models.ForeignKey(
        ConsentRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="erasures"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    signature = models.CharField(max_length=200, blank=True)
    due_at = models.DateTimeField()
    status = models.CharField(
        max_length=20, choices=ErasureStatus.choices, default=ErasureStatus.PENDING
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    # What the erasure deleted (counts only).
    counts = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["child"],
                condition=Q(status="pending"),
                name="one_pending_erasure_per_child",
            )
        ]
        indexes = [models.Index(fields=["status", "due_at"])]

    def __str__(self) -> str:
        return f"erasure of {self.child_id} ({self.status}, due {self.due_at:%Y-%m-%d %H:%M})"

    @property
    def is_pending(self) -> bool:
        return self.status == ErasureStatus.PENDING


class ReportStatus(models.TextChoices):
    """draft -> released. A released report never changes; a correction is a new version
    (a new draft in the same series) that the family sees once it is released in turn."""

    DRAFT = "draft", "Draft"
    RELEASED = "released", "Released"


class ReportLocked(ValueError):
    """A released report cannot be changed; write a correction (a new version) instead."""

    def __init__(self) -> None:
        super().__init__(
            "This report has been released to the family and can no longer be changed. "
            "Write a correction instead: it becomes a new version of the report."
        )


class ProgressReport(TimestampedModel):
    """A therapist's progress report on one child for a period.

    Versions of one report share ``series``; ``version`` counts up from 1. While a draft, the
    summary is computed from the chosen sessions each time it is shown; on release it is frozen
    into ``summary`` so the released document never changes, whatever happens to the analyses
    later.
    """

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="progress_reports")
    series = models.UUIDField(default=uuid.uuid4, db_index=True)
    version = models.PositiveIntegerField(default=1)
    supersedes = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="corrections"
    )
    title = models.CharField(max_length=200, default="Progress report")
    period_start = models.DateField()
    period_end = models.DateField()
    sessions = models.ManyToManyField(TherapySession, related_name="progress_reports", blank=True)
    # The therapist's words to the family. Never the private session notes.
    comments = models.TextField(blank=True)
    status = models.CharField(
        max_length=20, choices=ReportStatus.choices, default=ReportStatus.DRAFT
    )
    summary = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-period_end", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["series", "version"], name="unique_report_version_in_series"
            ),
            models.UniqueConstraint(
                fields=["series"], condition=Q(status="draft"), name="one_draft_per_report_series"
            ),
            models.CheckConstraint(
                condition=Q(period_start__lte=F("period_end")), name="report_period_in_order"
            ),
        ]
        indexes = [models.Index(fields=["child", "status", "-period_end"])]

    def __str__(self) -> str:
        return f"{self.title} v{self.version} ({self.get_status_display()})"

    # The status the row had when loaded from the database (None for a new row).
    _loaded_status: str | None = None

    @classmethod
    def from_db(cls, *args: Any, **kwargs: Any) -> ProgressReport:
        instance = super().from_db(*args, **kwargs)
        instance._loaded_status = instance.__dict__.get("status")
        return instance

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The last line of defence behind the services: a row loaded as released stays as it is.
        if self._loaded_status == ReportStatus.RELEASED:
            raise ReportLocked()
        super().save(*args, **kwargs)
        self._loaded_status = self.status

    @property
    def is_released(self) -> bool:
        return self.status == ReportStatus.RELEASED
