"""The therapist workspace's own rows: resumable uploads, segment corrections, waveform peaks
and the phase lines / goals therapists draw on a child's trend charts.

Model output (``analysis.Segment``, ``analysis.RunFrames``) is never changed here: a correction
is a separate row that says "for this stretch of this run, a therapist says ...", so the model's
view and the therapist's view can both be shown, exported and used for training.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from analysis.engine.labels import CANONICAL_LABELS, SPEAKER_ROLE_LABELS, SPEAKER_ROLES
from analysis.models import AnalysisRun
from sessions.models import Child, Recording, TherapySession
from sessions.models.base import TimestampedModel

EMOTION_CHOICES = [(label, label.capitalize()) for label in CANONICAL_LABELS]


# The engine's speaker roles (analysis.engine.labels.SPEAKER_ROLES), "unknown" included.
SPEAKER_CHOICES = [(role, SPEAKER_ROLE_LABELS[role]) for role in SPEAKER_ROLES]


class UploadStatus(models.TextChoices):
    """uploading -> finalizing -> complete | failed; uploading -> cancelled | expired.

    ``finalizing`` is claimed with a conditional UPDATE, so two "complete" calls never create
    two recordings; a finalization that crashed is re-claimable after ``FINALIZE_STALE_S``.
    """

    UPLOADING = "uploading", "Uploading"
    FINALIZING = "finalizing", "Checking the file"
    COMPLETE = "complete", "Saved"
    FAILED = "failed", "Rejected"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"


class ChunkedUpload(TimestampedModel):
    """One file being uploaded in chunks to a session. ``received_bytes`` is the offset the next
    chunk must start at, so a dropped connection resumes where it stopped.

    Where the bytes received so far live depends on the media storage when the upload started
    (``parts_in_storage``): with local media, in one file ``MEDIA_ROOT/uploads/<id>/data``;
    with object storage (no shared disk), each chunk is its own object
    ``uploads/<id>/<offset>-<length>-<token>`` in the default storage, listed in ``parts`` as
    ``[offset, length, name]`` in order, so any web machine takes the next chunk and any worker
    assembles the file."""

    session = models.ForeignKey(TherapySession, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100, blank=True)
    size_bytes = models.BigIntegerField()
    received_bytes = models.BigIntegerField(default=0)
    status = models.CharField(
        max_length=20, choices=UploadStatus.choices, default=UploadStatus.UPLOADING
    )
    # Readable reason shown to the therapist when the file was rejected.
    error = models.CharField(max_length=500, blank=True)
    recording = models.ForeignKey(
        Recording, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    finalize_started_at = models.DateTimeField(null=True, blank=True)
    # For a recording made in the browser: what the browser applied while recording (echo
    # cancellation, noise suppression, automatic gain, channels, rate) and the recorder's format
    # and bit rate, as the page reported them. Empty for files chosen from disk.
    capture = models.JSONField(default=dict, blank=True)
    parts_in_storage = models.BooleanField(default=False)
    parts = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "updated_at"])]

    def __str__(self) -> str:
        return f"upload {self.id} ({self.status}, {self.received_bytes}/{self.size_bytes})"


class EditOperation(models.TextChoices):
    RELABEL = "relabel", "Changed labels"
    NOTE = "note", "Added a note"
    SPLIT = "split", "Split"
    MERGE = "merge", "Merged"
    MOVE = "move", "Moved boundaries"


class SegmentEdit(TimestampedModel):
    """A therapist's version of one stretch of an analysis run.

    Active edits (``superseded_at`` is null) replace the model segments listed in
    ``source_segment_ids`` when the timeline is shown. Each correction creates new rows and
    supersedes the rows it replaces (same ``batch``), so the history is kept and the last change
    can be undone. ``emotion_by_therapist`` marks a label a therapist chose or confirmed: only
    those count as labelled data for training; an emotion merely carried over from the model
    (e.g. after a split) does not.
    """

    run = models.ForeignKey(AnalysisRun, on_delete=models.CASCADE, related_name="+")
    batch = models.UUIDField(default=uuid.uuid4, db_index=True)
    operation = models.CharField(max_length=20, choices=EditOperation.choices)
    start_s = models.FloatField()
    end_s = models.FloatField()
    speaker = models.CharField(max_length=20, choices=SPEAKER_CHOICES)
    emotion = models.CharField(max_length=20, choices=EMOTION_CHOICES)
    speaker_by_therapist = models.BooleanField(default=False)
    emotion_by_therapist = models.BooleanField(default=False)
    note = models.TextField(blank=True)
    source_segment_ids = models.JSONField(default=list)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    superseded_at = models.DateTimeField(null=True, blank=True)
    superseded_by_batch = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ["run", "start_s", "created_at"]
        indexes = [models.Index(fields=["run", "superseded_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_s__gt=models.F("start_s")), name="segment_edit_positive_length"
            ),
        ]

    def __str__(self) -> str:
        return f"edit {self.start_s:.1f}-{self.end_s:.1f} {self.speaker} {self.emotion}"


class RunCorrectedSummary(models.Model):
    """The summary of a run recomputed with the therapist's corrections applied. Dashboards
    and trends read it in place of ``AnalysisRun.summary`` when it exists."""

    run = models.OneToOneField(
        AnalysisRun, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    summary = models.JSONField(default=dict)
    edit_count = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"corrected summary of {self.run_id}"


class RunTimeline(models.Model):
    """The model-output traces of a run's timeline figure (probabilities, valence/arousal), as
    stored JSON text: built once from the run's frames, then spliced into every dashboard
    response unparsed. ``format`` changes when ``charts.frame_traces`` does; older rows are
    rebuilt on first use."""

    run = models.OneToOneField(
        AnalysisRun, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    format = models.PositiveSmallIntegerField()
    roles = models.JSONField(default=list)
    traces = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"timeline of {self.run_id}"


class RecordingWaveform(models.Model):
    """Peaks for drawing a recording's waveform without sending the whole file to decode."""

    recording = models.OneToOneField(
        Recording, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    peaks = models.JSONField(default=list)
    peaks_per_second = models.FloatField()
    duration_s = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"waveform of {self.recording_id}"


class MarkerKind(models.TextChoices):
    PHASE = "phase", "Phase change"
    GOAL = "goal", "Goal"


class TrendMetric(models.TextChoices):
    TALK_SHARE = "talk_share", "Child talk-time share"
    VALENCE = "valence", "Mean valence"
    AROUSAL = "arousal", "Mean arousal"


class TrendMarker(TimestampedModel):
    """A line a therapist draws on a child's trend charts, as on an ABA graph: a phase change
    (vertical line from ``date``) or a goal (target level of one metric from ``date``)."""

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=MarkerKind.choices)
    date = models.DateField()
    label = models.CharField(max_length=80)
    metric = models.CharField(max_length=20, choices=TrendMetric.choices, blank=True)
    target = models.FloatField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["child", "date", "created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="phase")
                | (Q(kind="goal") & ~Q(metric="") & Q(target__isnull=False)),
                name="goal_marker_has_metric_and_target",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.date:%Y-%m-%d}"
