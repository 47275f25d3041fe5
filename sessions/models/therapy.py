"""Children, therapy sessions and their recordings."""

from __future__ import annotations

import secrets
from datetime import date
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.db import models

from sessions.models.accounts import Clinic
from sessions.models.base import TimestampedModel

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud


def new_child_code() -> str:
    return "C-" + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(6))


class Child(TimestampedModel):
    """A client of the clinic. ``code`` is the pseudonym used wherever a name is not needed."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="children")
    code = models.CharField(max_length=12, unique=True, default=new_child_code)
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100, blank=True)
    date_of_birth = models.DateField()
    therapists = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="assigned_children", blank=True
    )
    guardians = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="children_in_care", blank=True
    )

    class Meta:
        ordering = ["given_name", "family_name", "code"]
        verbose_name_plural = "children"

    def __str__(self) -> str:
        return self.code

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()

    def age_on(self, day: date) -> int:
        dob = self.date_of_birth
        return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


class SessionKind(models.TextChoices):
    INDIVIDUAL = "individual", "Individual"
    GROUP = "group", "Group"


# Free-text notes of one session: about ten pages. Forms and the API refuse more, with a
# message; the column itself is unbounded text.
SESSION_NOTES_MAX_LENGTH = 20_000


class TherapySession(TimestampedModel):
    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="sessions")
    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="therapy_sessions"
    )
    date = models.DateField()
    kind = models.CharField(
        max_length=20, choices=SessionKind.choices, default=SessionKind.INDIVIDUAL
    )
    title = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)
    # Who else took part (a group session's other children, a second therapist), all of the
    # session's clinic. The session still belongs to ``child``: taking part gives no one access.
    # The analysis expects one voice per participant and matches their voice prints.
    other_children = models.ManyToManyField(Child, related_name="joined_sessions", blank=True)
    other_therapists = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="joined_sessions", blank=True
    )

    class Meta:
        ordering = ["-date", "-created_at"]
        indexes = [models.Index(fields=["child", "-date"])]

    def __str__(self) -> str:
        return f"{self.child.code} · {self.date:%Y-%m-%d}"

    def participant_children(self) -> list[Child]:
        """The session's child first, then the others who took part."""
        others = [c for c in self.other_children.all() if c.pk != self.child_id]
        return [self.child, *others]

    def participant_therapists(self) -> list[Any]:
        """The session's therapist first, then the others who took part."""
        others = [t for t in self.other_therapists.all() if t.pk != self.therapist_id]
        return [self.therapist, *others]


class RecordingStatus(models.TextChoices):
    """Transitions: queued -> processing -> done | failed; failed -> queued (retry);
    processing -> quarantined after too many crashed attempts; awaiting_consent -> queued once
    analysis consent is recorded."""

    QUEUED = "queued", "Queued"
    PROCESSING = "processing", "Processing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    QUARANTINED = "quarantined", "Quarantined"
    AWAITING_CONSENT = "awaiting_consent", "Waiting for analysis consent"


def recording_upload_to(instance: Recording, filename: str) -> str:
    suffix = PurePosixPath(filename).suffix.lower()[:10]
    return f"recordings/{instance.session.child.clinic_id}/{instance.id}{suffix}"


class Recording(TimestampedModel):
    session = models.ForeignKey(TherapySession, on_delete=models.CASCADE, related_name="recordings")
    file = models.FileField(upload_to=recording_upload_to, max_length=300, blank=True)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    duration_s = models.FloatField(null=True, blank=True)
    container = models.CharField(max_length=50, blank=True)
    status = models.CharField(
        max_length=20, choices=RecordingStatus.choices, default=RecordingStatus.QUEUED
    )
    # Why the recording waits or failed, in words a therapist can act on.
    status_detail = models.CharField(max_length=500, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Set when retention deletes the raw audio; derived data stays where consent allows.
    audio_deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_status_display()})"

    @property
    def child(self) -> Child:
        return self.session.child
