"""Practice exercises: what to say and with which feeling, who practises it when, and attempts.

An ``Exercise`` belongs to a clinic (ready-made library ones carry a ``library_key``); an
``Assignment`` gives one to a child on a weekly schedule; an ``Attempt`` is one recorded try
with the model's feedback and, optionally, the therapist's review.
"""

from __future__ import annotations

import datetime as dt
from pathlib import PurePosixPath

from django.conf import settings
from django.db import models
from django.db.models import Q

from analysis.engine.labels import CANONICAL_LABELS
from analysis.engine.practice.feedback import EMOTION_WORDS, message_for
from sessions.models import Child, Clinic
from sessions.models.base import TimestampedModel

# Words a 7-year-old knows in brackets; the canonical label stays the stored value.
EMOTION_CHOICES = [
    (
        label,
        f"{label.capitalize()} ({EMOTION_WORDS[label]})"
        if EMOTION_WORDS[label] != label
        else label.capitalize(),
    )
    for label in CANONICAL_LABELS
]

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
EVERY_DAY = 0b1111111


class WeekdaySchedule(models.Model):
    """The weekday schedule shared by speaking and listening assignments: ``weekdays`` is a bit
    mask (bit 0 Monday ... bit 6 Sunday) between ``starts_on`` and ``ends_on``; an ended
    assignment (``ended_at``) is due on no day; who assigned it and a note for the family."""

    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    weekdays = models.PositiveSmallIntegerField(default=EVERY_DAY)
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True, help_text="A note for the family.")
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def is_active_on(self, day: dt.date) -> bool:
        return (
            self.ended_at is None
            and self.starts_on <= day
            and (self.ends_on is None or day <= self.ends_on)
        )

    def is_due_on(self, day: dt.date) -> bool:
        return self.is_active_on(day) and bool(self.weekdays & (1 << day.weekday()))

    @property
    def weekday_list(self) -> list[int]:
        return [i for i in range(7) if self.weekdays & (1 << i)]

    @property
    def schedule_text(self) -> str:
        if self.weekdays == EVERY_DAY:
            days = "Every day"
        else:
            days = ", ".join(WEEKDAY_NAMES[i] for i in self.weekday_list) or "No days"
        return f"{days} until {self.ends_on:%d %b %Y}" if self.ends_on else days


class Difficulty(models.IntegerChoices):
    EASY = 1, "Easy"
    MEDIUM = 2, "Medium"
    HARD = 3, "Hard"


# Where the library's generated model recordings are stored (one copy shared by every clinic;
# see sessions.exercises.library_audio). A name under it marks the recording as generated.
LIBRARY_AUDIO_PREFIX = "exercises/library/"


def exercise_audio_upload_to(instance: Exercise, filename: str) -> str:
    suffix = PurePosixPath(filename).suffix.lower()[:10]
    return f"exercises/{instance.clinic_id}/{instance.id}{suffix}"


class Exercise(TimestampedModel):
    """A phrase to say with a target emotion. Clinic-wide teaching material, no child data."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="exercises")
    title = models.CharField(max_length=120)
    phrase = models.CharField(max_length=300, help_text="What the child says.")
    target_emotion = models.CharField(max_length=20, choices=EMOTION_CHOICES)
    goal = models.CharField(
        max_length=120, blank=True, help_text="The social-skills goal, e.g. “Greeting someone”."
    )
    instructions = models.TextField(blank=True, help_text="Shown to the child and family.")
    difficulty = models.PositiveSmallIntegerField(
        choices=Difficulty.choices, default=Difficulty.EASY
    )
    # Set on ready-made exercises so installing the library again updates instead of copying.
    library_key = models.SlugField(max_length=60, blank=True)
    model_audio = models.FileField(upload_to=exercise_audio_upload_to, max_length=300, blank=True)
    model_audio_content_type = models.CharField(max_length=100, blank=True)
    model_audio_duration_s = models.FloatField(null=True, blank=True)
    # analysis.engine.prosody.Prosody.to_dict() of the model recording, measured when it is
    # uploaded.
    model_prosody = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["difficulty", "title"]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "library_key"],
                condition=~Q(library_key=""),
                name="unique_library_exercise_per_clinic",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def emotion_word(self) -> str:
        return EMOTION_WORDS.get(self.target_emotion, self.target_emotion)

    @property
    def model_voice_generated(self) -> bool:
        """The model recording is the library's generated speech, not a person's voice."""
        return bool(self.model_audio) and str(self.model_audio.name).startswith(
            LIBRARY_AUDIO_PREFIX
        )

    @property
    def model_voice(self) -> str:
        """How the model recording was made: "generated voice", "recorded" or "" (none)."""
        if not self.model_audio:
            return ""
        return "generated voice" if self.model_voice_generated else "recorded"


class Assignment(WeekdaySchedule, TimestampedModel):
    """An exercise given to a child, practised on the chosen weekdays until ``ends_on``."""

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="exercise_assignments")
    exercise = models.ForeignKey(Exercise, on_delete=models.PROTECT, related_name="assignments")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["child", "exercise"],
                condition=Q(ended_at=None),
                name="one_open_assignment_per_exercise",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.exercise} for {self.child}"


class AttemptStatus(models.TextChoices):
    """queued -> processing -> done | no_speech | failed. A redelivered task finds done rows
    and leaves them; failed attempts keep their audio so they can be analysed again."""

    QUEUED = "queued", "Waiting"
    PROCESSING = "processing", "Listening"
    DONE = "done", "Done"
    NO_SPEECH = "no_speech", "No voice heard"
    FAILED = "failed", "Could not analyse"


FINAL_STATUSES = (AttemptStatus.DONE, AttemptStatus.NO_SPEECH, AttemptStatus.FAILED)


def attempt_upload_to(instance: Attempt, filename: str) -> str:
    suffix = PurePosixPath(filename).suffix.lower()[:10]
    return f"attempts/{instance.child.clinic_id}/{instance.child_id}/{instance.id}{suffix}"


class Attempt(TimestampedModel):
    """One recorded try at an exercise, the model's feedback and the therapist's review."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="attempts")
    # Denormalised from the assignment: consent revocation and retention select by child/clinic.
    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="exercise_attempts")
    audio = models.FileField(upload_to=attempt_upload_to, max_length=300, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    size_bytes = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    duration_s = models.FloatField(null=True, blank=True)
    # Generated by the browser per recording, so re-sending after a dropped connection is safe.
    client_token = models.UUIDField(null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    audio_deleted_at = models.DateTimeField(null=True, blank=True)
    # What the browser applied while recording (echo cancellation, noise suppression, automatic
    # gain, channels, sample rate) and the recorder's format and bit rate, as the page reported
    # them: processing changes what the model hears. Empty for plain file uploads.
    capture = models.JSONField(default=dict, blank=True)

    status = models.CharField(
        max_length=20, choices=AttemptStatus.choices, default=AttemptStatus.QUEUED
    )
    error_code = models.CharField(max_length=40, blank=True)
    tries = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True)

    # The model's feedback.
    model_version = models.ForeignKey(
        "analysis.EmotionModelVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    probabilities = models.JSONField(default=dict, blank=True)
    top_emotion = models.CharField(max_length=20, blank=True)
    target_probability = models.FloatField(null=True, blank=True)
    stars = models.PositiveSmallIntegerField(null=True, blank=True)
    conveyed = models.BooleanField(null=True, blank=True)
    message = models.CharField(max_length=300, blank=True)
    prosody = models.JSONField(default=dict, blank=True)
    comparisons = models.JSONField(default=list, blank=True)
    tips = models.JSONField(default=list, blank=True)

    # The therapist's review; when set it replaces the model's verdict everywhere.
    reviewed_stars = models.PositiveSmallIntegerField(null=True, blank=True)
    reviewed_conveyed = models.BooleanField(null=True, blank=True)
    encouragement = models.CharField(max_length=500, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["child", "-created_at"]),
            models.Index(fields=["assignment", "-created_at"]),
            models.Index(fields=["status", "created_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["child", "client_token"],
                condition=Q(client_token__isnull=False),
                name="one_attempt_per_client_token",
            ),
        ]

    def __str__(self) -> str:
        return f"attempt {self.id} ({self.status})"

    @property
    def final_stars(self) -> int | None:
        return self.reviewed_stars if self.reviewed_stars is not None else self.stars

    @property
    def final_conveyed(self) -> bool | None:
        return self.reviewed_conveyed if self.reviewed_conveyed is not None else self.conveyed

    @property
    def final_message(self) -> str:
        """The model's sentence, or one matching the therapist's stars when they differ."""
        if self.reviewed_stars is not None and self.reviewed_stars != self.stars:
            target = self.assignment.exercise.target_emotion
            return message_for(self.reviewed_stars, target, str(self.pk))
        return self.message

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def has_audio(self) -> bool:
        return bool(self.audio) and self.audio_deleted_at is None
