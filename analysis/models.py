"""Stored analysis results and the emotion-model registry (Django glue around the plain core)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from sessions.models import Child, Clinic, Recording


class ModelSource(models.TextChoices):
    SHIPPED = "shipped", "Shipped with the portal"
    IMPORTED = "imported", "Imported"
    TRAINED = "trained", "Trained here"


class ModelStatus(models.TextChoices):
    """staged -> active (one per clinic) -> retired; a retired version can be staged again."""

    STAGED = "staged", "Staged"
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"


class EmotionModelVersion(models.Model):
    """One model a clinic may use. Each clinic has its own rows (the shipped default included),
    so activation and status are per clinic."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="emotion_models")
    name = models.CharField(max_length=100)
    version = models.CharField(max_length=50)
    source = models.CharField(max_length=20, choices=ModelSource.choices)
    kind = models.CharField(max_length=40)
    architecture = models.CharField(max_length=100, blank=True)
    labels = models.JSONField(default=list)
    label_map = models.JSONField(default=dict)
    sample_rate = models.PositiveIntegerField(default=16000)
    # Directory holding the model files: relative to SER_MODELS_DIR, or "shipped:<name>" for the
    # default that lives in the code tree.
    location = models.CharField(max_length=300)
    checksum = models.CharField(max_length=64, help_text="SHA-256 over the model's files")
    size_bytes = models.BigIntegerField(default=0)
    model_card = models.TextField(blank=True)
    evaluation = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=20, choices=ModelStatus.choices, default=ModelStatus.STAGED
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    activated_at = models.DateTimeField(null=True, blank=True)
    retired_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    retired_at = models.DateTimeField(null=True, blank=True)
    evaluated_at = models.DateTimeField(null=True, blank=True)
    # Where the files came from: an archive's file name, a folder's name, a Hub id, or the
    # training data ("corrections", a data folder's name). Never a person's name.
    origin = models.CharField(max_length=300, blank=True)
    # Warnings the admin saw when importing (e.g. pickle weights converted to safetensors).
    import_notes = models.JSONField(default=list, blank=True)
    # For versions trained here: the imported encoder the new head sits on.
    base_version = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="derived_versions"
    )

    class Meta:
        ordering = ["clinic", "name", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "name", "version"], name="unique_model_version_per_clinic"
            ),
            models.UniqueConstraint(
                fields=["clinic"], condition=Q(status="active"), name="one_active_model_per_clinic"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


class RunStatus(models.TextChoices):
    """queued -> processing -> done | failed | quarantined (after too many crashed attempts)."""

    QUEUED = "queued", "Queued"
    PROCESSING = "processing", "Processing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    QUARANTINED = "quarantined", "Quarantined"


class AnalysisRun(models.Model):
    """One analysis of one recording with one model version. A recording shows the results of
    its newest finished run, so re-analysis keeps the old results until the new ones are done."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="runs")
    model_version = models.ForeignKey(
        EmotionModelVersion, on_delete=models.PROTECT, related_name="runs"
    )
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED)
    stage = models.CharField(max_length=20, default="queued")
    progress = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    queue = models.CharField(max_length=20, default="long")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    no_speech = models.BooleanField(default=False)
    summary = models.JSONField(default=dict, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["recording", "status", "-finished_at"])]

    def __str__(self) -> str:
        return f"run {self.id} of {self.recording_id} ({self.status})"


class Segment(models.Model):
    """A speech segment as the model saw it. Therapist corrections are stored apart."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    run = models.ForeignKey(AnalysisRun, on_delete=models.CASCADE, related_name="segments")
    index = models.PositiveIntegerField()
    start_s = models.FloatField()
    end_s = models.FloatField()
    speaker = models.CharField(max_length=20)
    speaker_confidence = models.FloatField()
    # The voice (``SpeakerLane.label``: "A", "B", ...) this segment belongs to; "" for runs
    # analysed before voices were kept.
    cluster = models.CharField(max_length=4, blank=True, default="")
    emotion = models.CharField(max_length=20)
    confidence = models.FloatField()
    uncertain = models.BooleanField(default=False)
    # Why the estimate is uncertain (a key of analysis.engine.audio.quality.REASONS), "" when it is
    # not.
    uncertain_reason = models.CharField(max_length=20, blank=True, default="")
    # Measured audio quality of the segment (analysis.engine.audio.quality.Quality.to_dict()).
    quality = models.JSONField(default=dict, blank=True)
    valence = models.FloatField()
    arousal = models.FloatField()
    probabilities = models.JSONField(default=dict)

    class Meta:
        ordering = ["run", "index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="unique_segment_index_per_run")
        ]

    def __str__(self) -> str:
        return f"{self.start_s:.1f}-{self.end_s:.1f} {self.speaker} {self.emotion}"


class RunFrames(models.Model):
    """Per-window probabilities of one run, as one JSON document: thousands of windows are read
    together by the timeline, never one by one."""

    run = models.OneToOneField(
        AnalysisRun, on_delete=models.CASCADE, primary_key=True, related_name="frames"
    )
    frames = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"frames of {self.run_id}"


class VoiceEnrollment(models.Model):
    """A therapist's voice print (a speaker embedding, never audio), so the pipeline recognises
    them in their sessions. The therapist records it themselves and can delete it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="voice_enrollment",
    )
    embedding = models.JSONField()
    speech_s = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"voice enrollment of {self.user_id}"


class SpeakerLane(models.Model):
    """One voice of an analysis run, as the pipeline found it: the lane "Speaker A" of the
    timeline until the voice is matched to a known print or a therapist names it.

    ``role`` is the pipeline's (``analysis.engine.labels.SPEAKER_ROLES``): "child" or
    "therapist" only when the voice matched the print ``voice_key`` names, "unknown" otherwise.
    ``centroid`` is the voice's mean speaker embedding (never audio): naming the lane lets it
    improve that person's print.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    run = models.ForeignKey(AnalysisRun, on_delete=models.CASCADE, related_name="lanes")
    label = models.CharField(max_length=4)
    role = models.CharField(max_length=20)
    role_confidence = models.FloatField(default=0.0)
    # "therapist:<user pk>" / "child:<child pk>" of the matched print, "" when none matched.
    voice_key = models.CharField(max_length=60, blank=True, default="")
    speech_s = models.FloatField(default=0.0)
    centroid = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["run", "label"]
        constraints = [
            models.UniqueConstraint(fields=["run", "label"], name="unique_lane_label_per_run")
        ]

    def __str__(self) -> str:
        return f"speaker {self.label} of {self.run_id} ({self.role})"


class LaneNaming(models.Model):
    """A therapist's answer to "Who is Speaker A?" for one lane of a run.

    The segments themselves change through the workspace's corrections: naming creates one
    correction batch (``batch``) relabelling every segment of the lane. The naming counts while
    any correction of that batch is active, so undoing the correction undoes the naming (and its
    contribution to the person's print) too.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    lane = models.ForeignKey(SpeakerLane, on_delete=models.CASCADE, related_name="namings")
    # "child:<pk>" / "therapist:<pk>" of a participant, or "other".
    person_key = models.CharField(max_length=60)
    role = models.CharField(max_length=20)
    batch = models.UUIDField(db_index=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["lane", "-created_at"]

    def __str__(self) -> str:
        return f"{self.lane_id} named {self.role}"


class ChildVoicePrint(models.Model):
    """A child's voice print (a speaker embedding, never audio), learnt from their home practice
    attempts, which are recordings of the child alone. Kept only with recording consent: it is
    deleted when that consent is revoked or the child's recordings are erased.

    ``embedding`` is the speech-weighted running mean of the attempts' prints; ``attempt_ids``
    lists the attempts already counted, so processing an attempt twice counts it once.
    """

    child = models.OneToOneField(
        Child, on_delete=models.CASCADE, primary_key=True, related_name="voice_print"
    )
    embedding = models.JSONField()
    speech_s = models.FloatField(default=0.0)
    attempt_count = models.PositiveIntegerField(default=0)
    attempt_ids = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"voice print of {self.child_id}"
