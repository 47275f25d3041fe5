"""Clinic validation: the blind review sample, its labels, other models' answers on the same
segments, and the clinic's adaptation runs.

Blind labels are their own rows, apart from the workspace's corrections
(``sessions.workspace.models.SegmentEdit``): a correction is made while looking at the model's
answer, a blind label without it, so only blind labels count as unbiased evidence.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from analysis.engine.labels import CANONICAL_LABELS
from analysis.models import EmotionModelVersion, Segment
from sessions.models import Child, Clinic
from sessions.models.base import TimestampedModel

CANT_TELL = "cant_tell"
EMOTION_ANSWERS = [(label, label.capitalize()) for label in CANONICAL_LABELS] + [
    (CANT_TELL, "Can't tell")
]
SPEAKER_ANSWERS = [
    ("child", "The child"),
    ("therapist", "A therapist"),
    ("other", "Someone else"),
    (CANT_TELL, "Can't tell"),
]


class ValidationSettings(TimestampedModel):
    """A clinic's choices for the weekly blind review."""

    clinic = models.OneToOneField(Clinic, on_delete=models.CASCADE, related_name="validation")
    # Segments per therapist per week.
    weekly_sample_size = models.PositiveSmallIntegerField(default=20)
    # Share of the sample taken from the segments the model was least sure of (the rest at
    # random); both spread over children and emotions.
    uncertain_share = models.FloatField(default=0.4)
    # Share of the sample a second therapist of the child also labels (the human ceiling).
    second_rater_share = models.FloatField(default=0.25)

    class Meta:
        ordering = ["clinic"]
        verbose_name_plural = "validation settings"

    def __str__(self) -> str:
        return f"validation settings of {self.clinic_id}"


class PickReason(models.TextChoices):
    RANDOM = "random", "At random"
    UNCERTAIN = "uncertain", "The model was unsure"


class ReviewItem(TimestampedModel):
    """One segment one therapist is asked to label blind, in one week's sample.

    ``emotion`` and ``speaker`` are the therapist's answers ("" until answered); the model's
    answer is never copied here. A second therapist labelling the same segment has their own
    row (``second_rater`` true).
    """

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="review_items")
    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="review_items")
    rater = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_items"
    )
    week = models.DateField(help_text="Monday of the sample's week")
    reason = models.CharField(max_length=20, choices=PickReason.choices)
    second_rater = models.BooleanField(default=False)
    emotion = models.CharField(max_length=20, choices=EMOTION_ANSWERS, blank=True)
    speaker = models.CharField(max_length=20, choices=SPEAKER_ANSWERS, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["week", "rater", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["segment", "rater"], name="one_review_per_rater"),
            models.UniqueConstraint(
                fields=["segment"],
                condition=Q(second_rater=False),
                name="one_first_review_per_segment",
            ),
        ]
        indexes = [models.Index(fields=["rater", "answered_at"])]

    def __str__(self) -> str:
        return f"review of {self.segment_id} by {self.rater_id}"


class SegmentPrediction(models.Model):
    """What a model other than the one that analysed the run says about a blind-reviewed
    segment (``out_of_fold``: predicted by a cross-validation fold that never saw the
    segment's child), so two models are compared on the same items."""

    version = models.ForeignKey(
        EmotionModelVersion, on_delete=models.CASCADE, related_name="blind_predictions"
    )
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="+")
    emotion = models.CharField(max_length=20)
    confidence = models.FloatField()
    out_of_fold = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["version", "segment"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "segment"], name="one_prediction_per_version_segment"
            )
        ]

    def __str__(self) -> str:
        return f"{self.version_id} on {self.segment_id}: {self.emotion}"


class JobStatus(models.TextChoices):
    """queued -> running -> done | failed."""

    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class JobKind(models.TextChoices):
    ADAPT = "adapt", "Adapt to the clinic"
    PREDICT = "predict", "Answer the blind-reviewed segments"


class ValidationJob(TimestampedModel):
    """A background job of the validation app: adapting a head to the clinic, or having a
    staged model answer the blind-reviewed segments. The page polls ``progress``/``stage``."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="validation_jobs")
    kind = models.CharField(max_length=20, choices=JobKind.choices)
    version = models.ForeignKey(
        EmotionModelVersion,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The model answering (predict) or the base model (adapt)",
    )
    result_version = models.ForeignKey(
        EmotionModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    stage = models.CharField(max_length=200, blank=True)
    error = models.CharField(max_length=500, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "kind"],
                condition=Q(status__in=["queued", "running"]),
                name="one_unfinished_validation_job_per_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} job {self.id} ({self.status})"
