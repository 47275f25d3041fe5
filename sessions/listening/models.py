"""Listening practice: the child hears a clip and picks the emotion.

A ``Clip`` is clinic material (a therapist's recording, or generated starter speech), tagged
with its emotion by a person; a ``ListeningSet`` is a handful of clips with a number of choices
(2-4: the difficulty); a ``ListeningAssignment`` gives a set to a child on the same weekday
schedule as speaking exercises; a ``ListeningAnswer`` is one pick, with its response time.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from analysis.engine.practice.feedback import EMOTION_WORDS
from sessions.exercises.models import EMOTION_CHOICES, WeekdaySchedule
from sessions.models import Child, Clinic
from sessions.models.base import TimestampedModel


class ClipSource(models.TextChoices):
    GENERATED = "generated", "Generated voice"
    RECORDED = "recorded", "Recorded in the browser"
    UPLOADED = "uploaded", "Uploaded file"


class Intensity(models.TextChoices):
    """Strong clips are easier to hear; normal ones are subtler (harder)."""

    NORMAL = "normal", "Normal (subtler)"
    STRONG = "strong", "Strong"


def clip_upload_to(instance: Clip, filename: str) -> str:
    suffix = PurePosixPath(filename).suffix.lower()[:10]
    return f"listening/{instance.clinic_id}/{instance.id}{suffix}"


class Clip(TimestampedModel):
    """A short voice clip whose emotion a person chose (``tagged_by``; for generated starter
    clips the emotion they were generated for). No child data."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="listening_clips")
    emotion = models.CharField(max_length=20, choices=EMOTION_CHOICES)
    intensity = models.CharField(max_length=10, choices=Intensity.choices, default=Intensity.STRONG)
    words = models.CharField(max_length=200, blank=True, help_text="What the voice says.")
    source = models.CharField(max_length=12, choices=ClipSource.choices)
    # Background noise mixed in when the clip was built (None: clean), in dB signal-to-noise.
    noise_snr_db = models.FloatField(null=True, blank=True)
    # The clip this one was made from by mixing in noise (``services.clip_noisy_variant``).
    variant_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="variants"
    )
    audio = models.FileField(upload_to=clip_upload_to, max_length=300)
    content_type = models.CharField(max_length=100, blank=True)
    duration_s = models.FloatField(null=True, blank=True)
    # Set on starter clips so installing again updates instead of copying.
    starter_key = models.SlugField(max_length=80, blank=True)
    tagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["emotion", "intensity", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "starter_key"],
                condition=~Q(starter_key=""),
                name="unique_starter_clip_per_clinic",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_emotion_display()} clip ({self.get_source_display()})"

    @property
    def is_generated(self) -> bool:
        return self.source == ClipSource.GENERATED

    @property
    def emotion_word(self) -> str:
        return EMOTION_WORDS.get(self.emotion, self.emotion)


class ListeningSet(TimestampedModel):
    """A few clips to listen to, each answered from ``choice_count`` emotions."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="listening_sets")
    title = models.CharField(max_length=120)
    choice_count = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(2), MaxValueValidator(4)],
        help_text="How many emotions to choose from (2 is easiest, 4 hardest).",
    )
    clips = models.ManyToManyField(Clip, related_name="sets")
    starter_key = models.SlugField(max_length=80, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["choice_count", "title"]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "starter_key"],
                condition=~Q(starter_key=""),
                name="unique_starter_set_per_clinic",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class ListeningAssignment(WeekdaySchedule, TimestampedModel):
    """A set given to a child, practised on the chosen weekdays until ``ends_on`` (the same
    schedule as ``sessions.exercises.models.Assignment``)."""

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="listening_assignments")
    listening_set = models.ForeignKey(
        ListeningSet, on_delete=models.PROTECT, related_name="assignments"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["child", "listening_set"],
                condition=Q(ended_at=None),
                name="one_open_listening_assignment_per_set",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.listening_set} for {self.child}"


class ListeningAnswer(TimestampedModel):
    """One pick. The clip's emotion and the choices shown are copied, so the history stays
    right if the clip is re-tagged or archived later."""

    assignment = models.ForeignKey(
        ListeningAssignment, on_delete=models.CASCADE, related_name="answers"
    )
    # Denormalised: consent withdrawal and the figures select by child.
    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="listening_answers")
    clip = models.ForeignKey(Clip, null=True, on_delete=models.SET_NULL, related_name="answers")
    target_emotion = models.CharField(max_length=20, choices=EMOTION_CHOICES)
    chosen_emotion = models.CharField(max_length=20, choices=EMOTION_CHOICES)
    choices = models.JSONField(default=list)
    correct = models.BooleanField()
    response_ms = models.PositiveIntegerField(null=True, blank=True)
    # When the child answered (the browser's clock; an answer queued offline arrives later).
    answered_at = models.DateTimeField()
    # Generated by the browser per answer: a re-sent answer is stored once.
    client_id = models.UUIDField()
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-answered_at"]
        indexes = [models.Index(fields=["child", "-answered_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["child", "client_id"], name="one_listening_answer_per_client_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.target_emotion} heard as {self.chosen_emotion}"
